"""The conductor and two nova-compute-fake processes over RabbitMQ."""

import os
import signal
import subprocess
import sys
import threading
import time
import uuid

import pytest
from core_helpers import RABBIT_URL, reachable, wait_for

from nova_common.compute.api import ComputeAPI
from nova_common.conductor.rpcapi import get_core_transport

pytestmark = pytest.mark.skipif(
    not reachable(5672), reason="backend missing: RabbitMQ is not reachable at 127.0.0.1:5672"
)


class Process:
    def __init__(self, argv, ready: str):
        self.process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.output: list[str] = []
        self.ready = threading.Event()
        threading.Thread(target=self._drain, args=(ready,), daemon=True).start()

    def _drain(self, ready):
        for line in self.process.stdout:
            self.output.append(line)
            if ready in line:
                self.ready.set()

    def wait_ready(self):
        assert self.ready.wait(60), "".join(self.output)[-3000:]

    def stop(self, sig=signal.SIGTERM):
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _script(name):
    return os.path.join(os.path.dirname(sys.executable), name)


def test_conductor_and_two_compute_processes_over_rabbitmq(tmp_path, db_url):
    tag = uuid.uuid4().hex[:8]
    exchange = f"nova-mp-{tag}"
    common = f"[DEFAULT]\ntransport_url = {RABBIT_URL}\ncontrol_exchange = {exchange}\n"
    conductor_conf = tmp_path / "conductor.conf"
    conductor_conf.write_text(
        common + f"[database]\nconnection = {db_url}\n"
        f"[conductor]\nserver = conductor-{tag}\nservice_down_time = 3\nheartbeat_flush_interval = 0.5\n"
        # A topic of its own: RabbitMQ queues are per vhost, not per exchange, so another
        # conductor on this broker (a concurrent run, a leftover) would share "conductor".
        f"topic = conductor-{tag}\n"
    )
    subprocess.run(
        [_script("nova-common"), "db", "sync", "--config-file", str(conductor_conf)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    processes = []
    conductor = Process(
        [_script("nova-common"), "conductor", "--config-file", str(conductor_conf)],
        "nova-common conductor: serving",
    )
    processes.append(conductor)
    hosts = []
    try:
        conductor.wait_ready()
        computes = {}
        for n in range(2):
            host = f"mp-{tag}-{n}"
            config = tmp_path / f"{host}.conf"
            config.write_text(
                common.replace("[DEFAULT]\n", f"[DEFAULT]\nhost = {host}\n")
                + "[compute]\nheartbeat_interval = 0.5\nresource_report_interval = 0.5\n"
                + f"conductor_topic = conductor-{tag}\n"
            )
            computes[host] = Process(
                [_script("nova-compute-fake"), "--config-file", str(config)], "serving host"
            )
            processes.append(computes[host])
            hosts.append(host)
        for process in computes.values():
            process.wait_ready()

        from core_helpers import conductor_conf as make_conf

        conf = make_conf(control_exchange=exchange, **{"conductor.topic": f"conductor-{tag}"})
        transport = get_core_transport(conf, RABBIT_URL)
        api = ComputeAPI(conf, transport, timeout=60)
        try:
            wait_for(lambda: sum(s["vcpus"] > 0 and s["state"] == "up" for s in api.services()) == 2, 30)
            started = time.monotonic()
            accepted = [api.create(f"mp-{n}", flavor="m1.tiny", wait=False) for n in range(20)]
            for vm in accepted:
                api.wait_for_action(vm["uuid"], vm["request_id"])
            assert api.count_by_state() == {"active": 20}
            assert {vm["host"] for vm in api.list()} == set(hosts)
            deletes = [api.delete(vm["uuid"], wait=False) for vm in accepted]
            for vm in deletes:
                api.wait_for_action(vm["uuid"], vm["request_id"])
            assert api.list() == []
            print(f"20 boots and deletes over RabbitMQ in {time.monotonic() - started:.2f}s")

            victim = hosts[0]
            computes[victim].process.kill()
            computes[victim].process.wait()
            wait_for(
                lambda: {s["host"]: s["state"] for s in api.services()} == {victim: "down", hosts[1]: "up"},
                timeout=20,
            )
        finally:
            transport.cleanup()
    finally:
        for process in reversed(processes):
            process.stop()
    assert conductor.process.returncode == 0, "".join(conductor.output)[-3000:]
