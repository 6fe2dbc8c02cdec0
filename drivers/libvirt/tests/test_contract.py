"""The contract kit against this driver: in process on test:///default and on the shipped node
XML, and black-box against a ``nova-compute-libvirt`` process over RabbitMQ.

Skipped (with the reason) when the kit is not installed or no broker answers on 127.0.0.1:5672.
"""

import atexit
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import uuid

import pytest
from libvirt_test_support import NODE_URI

kit = pytest.importorskip("nova_contract_tests", reason="the contract kit (contract-tests/) is not installed")

from nova_contract_tests.config import KitConfig  # noqa: E402
from nova_contract_tests.pytest_support import make_kit_test  # noqa: E402
from nova_contract_tests.runner import run_kit  # noqa: E402

RABBIT_URL = os.environ.get("RABBIT_URL", "rabbit://guest:guest@127.0.0.1:5672/")
_CONF_DIR = pathlib.Path(tempfile.mkdtemp(prefix="nova-libvirt-kit-"))
atexit.register(shutil.rmtree, _CONF_DIR, True)


def _config_file(name: str, uri: str) -> str:
    path = _CONF_DIR / f"{name}.conf"
    path.write_text(f"[libvirt]\nconnection_uri = {uri}\n")
    return str(path)


test_contract_default = make_kit_test(
    KitConfig(driver="libvirt", config_files=[_config_file("default", "test:///default")])
)
test_contract_node_xml = make_kit_test(
    KitConfig(driver="libvirt", config_files=[_config_file("node", NODE_URI)])
)


def _rabbit_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5672), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture
def compute_process(tmp_path):
    """A nova-compute-libvirt process on the node XML, serving a unique host over RabbitMQ."""
    if not _rabbit_reachable():
        pytest.skip("no RabbitMQ on 127.0.0.1:5672")
    script = shutil.which("nova-compute-libvirt") or shutil.which(
        "nova-compute-libvirt", path=os.path.dirname(sys.executable)
    )
    if script is None:
        pytest.skip("nova-compute-libvirt is not installed (pip install -e drivers/libvirt)")
    host = f"libvirt-kit-{uuid.uuid4().hex[:8]}"
    config = tmp_path / "compute.conf"
    config.write_text(
        f"[DEFAULT]\nhost = {host}\ntransport_url = {RABBIT_URL}\n"
        f"[libvirt]\nconnection_uri = {NODE_URI}\n"
        "[compute]\nheartbeat_interval = 5\nresource_report_interval = 5\nenable_test_hooks = True\n"
    )
    process = subprocess.Popen(
        [script, f"--config-file={config}"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    serving = threading.Event()
    output: list[str] = []

    def relay() -> None:
        for line in process.stdout:
            output.append(line)
            if "serving host" in line:
                serving.set()

    threading.Thread(target=relay, daemon=True).start()
    try:
        assert serving.wait(timeout=60), f"nova-compute-libvirt did not start: {''.join(output[-20:])}"
        yield host, process, output
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_contract_black_box_over_rabbitmq(compute_process):
    host, process, output = compute_process
    report = run_kit(KitConfig(transport_url=RABBIT_URL, host=host, rpc_timeout=60))
    failures = [f"{t.id}: {t.message}" for t in report.tests if t.outcome == "failed"]
    assert report.ok, failures
    assert report.summary["passed"] > 50
    assert report.driver["name"] == "libvirt"
    skipped = {t.operation for t in report.tests if t.outcome == "skipped"}
    assert {"attach_volume", "detach_volume", "get_console_output"} <= skipped
    # The service serves its test hooks: the crashed state and the leak check ran black-box too.
    assert report.hooks["provided"] == ["crash", "fail_next", "hypervisor_instances", "set_power_state"]
    by_id = {t.id: t for t in report.tests}
    assert by_id["power_on.from-crashed"].outcome == "passed"
    assert by_id["destroy.no-leaks"].outcome == "passed"
    assert process.poll() is None  # still serving after the whole run


def test_support_matrix_names_every_missing_operation_with_its_reason():
    text = (pathlib.Path(__file__).resolve().parent.parent / "doc" / "support-matrix.md").read_text()
    for operation in ("get_console_output", "attach_volume", "detach_volume"):
        assert f"| {operation} | " in text and f"**{operation}** (missing): capability" in text
    assert "VIR_ERR_NO_SUPPORT" in text or "not supported by the connection driver" in text
