"""A compute service as its own process over RabbitMQ: serves, stops on SIGTERM."""

import os
import pathlib
import signal
import subprocess
import sys
import uuid

import pytest
from common_test_helpers import RABBIT_URL, make_conf, rabbit_available

from nova_common.messaging.transport import get_transport
from nova_common.scaffold.loader import DriverLoadError, load_driver_class
from nova_common.virt.rpcapi import VirtAPIClient

TESTS = pathlib.Path(__file__).parent


def test_loader_errors_are_clear():
    with pytest.raises(DriverLoadError, match="driver 'no-such-driver' is not installed; installed drivers:"):
        load_driver_class("no-such-driver")
    with pytest.raises(DriverLoadError, match="cannot be imported"):
        load_driver_class("no_such_module:Driver")
    with pytest.raises(DriverLoadError, match="not a nova_common.virt.ComputeDriver"):
        load_driver_class("common_test_helpers:make_conf")
    assert load_driver_class("memory_driver:MemoryDriver").name == "memory"


@pytest.mark.skipif(
    not rabbit_available(),
    reason="backend missing: RabbitMQ is not listening on 127.0.0.1:5672 (rabbitmq-server -detached)",
)
def test_compute_process_serves_and_stops_on_sigterm(tmp_path):
    host = "proc-" + uuid.uuid4().hex[:8]
    config = tmp_path / "nova.conf"
    config.write_text(
        f"[DEFAULT]\nhost = {host}\ntransport_url = {RABBIT_URL}\n"
        "[compute]\ndriver = memory_driver:MemoryDriver\n"
    )
    env = dict(os.environ, PYTHONPATH=str(TESTS))
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from nova_common.scaffold.cmd import main; main()",
            "--config-file",
            str(config),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        output = []
        for line in process.stdout:
            output.append(line)
            if "serving host" in line:
                break
        else:
            pytest.fail(f"compute process exited with {process.wait()} before serving")
        # A driver's compute service patches only oslo.messaging's reply timer
        # unless configured to, and started messaging before loading it.
        assert any(
            "Messaging patches in effect (service process): reply-timer-after-outage" in line
            for line in output
        ), output
        assert not any("Eventlet is deprecated" in line for line in output), output
        conf = make_conf("test-client")
        transport = get_transport(conf, RABBIT_URL)
        try:
            info = VirtAPIClient(conf, transport=transport, timeout=30).host(host).get_driver_info()
            assert info.driver_name == "memory"
        finally:
            transport.cleanup()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_bad_driver_exits_with_a_clear_error(tmp_path):
    config = tmp_path / "nova.conf"
    config.write_text("[compute]\ndriver = not-installed\n")
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from nova_common.scaffold.cmd import main; main()",
            "--config-file",
            str(config),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "driver 'not-installed' is not installed" in result.stderr


def test_sigterm_while_starting_stops_at_once(tmp_path):
    config = tmp_path / "nova.conf"
    config.write_text(
        "[DEFAULT]\nhost = slow-start\ntransport_url = kombu+memory:////\n"
        "[compute]\ndriver = memory_driver:SlowStartDriver\n"
    )
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from nova_common.scaffold.cmd import main; main()",
            "--config-file",
            str(config),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(TESTS)),
    )
    try:
        for line in process.stdout:
            if "driver start entered" in line:
                break
        else:
            pytest.fail(f"compute process exited with {process.wait()} before starting its driver")
        process.send_signal(signal.SIGTERM)
        # the driver's start() would block for 600 s: the service must not wait for it
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
