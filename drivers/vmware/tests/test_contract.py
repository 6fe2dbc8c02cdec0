"""The contract kit against this driver: in process against vcsim, and black-box against a
``nova-compute-vmware`` process over RabbitMQ. Both start and stop what they need."""

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

kit = pytest.importorskip("nova_contract_tests", reason="the contract kit (contract-tests/) is not installed")

from nova_contract_tests.config import KitConfig  # noqa: E402
from nova_contract_tests.pytest_support import make_kit_test  # noqa: E402
from nova_contract_tests.runner import run_kit  # noqa: E402

RABBIT_URL = os.environ.get("RABBIT_URL", "rabbit://guest:guest@127.0.0.1:5672/")
_CONF_DIR = pathlib.Path(tempfile.mkdtemp(prefix="nova-vmware-kit-"))
atexit.register(shutil.rmtree, _CONF_DIR, True)
_IN_PROCESS_CONF = _CONF_DIR / "vmware.conf"


@pytest.fixture(scope="module", autouse=True)
def vcsim_config(vcsim):
    """The kit reads its config file when it opens its target, after this wrote it."""
    _IN_PROCESS_CONF.write_text(vcsim.config())
    return _IN_PROCESS_CONF


test_contract_in_process = make_kit_test(KitConfig(driver="vmware", config_files=[str(_IN_PROCESS_CONF)]))


def _rabbit_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5672), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture
def compute_process(tmp_path, vcsim):
    """A nova-compute-vmware process against vcsim, serving a unique host over RabbitMQ."""
    if not _rabbit_reachable():
        pytest.skip("no RabbitMQ on 127.0.0.1:5672")
    script = shutil.which("nova-compute-vmware") or shutil.which(
        "nova-compute-vmware", path=os.path.dirname(sys.executable)
    )
    if script is None:
        pytest.skip("nova-compute-vmware is not installed (pip install -e drivers/vmware)")
    host = f"vmware-kit-{uuid.uuid4().hex[:8]}"
    config = tmp_path / "compute.conf"
    config.write_text(
        f"[DEFAULT]\nhost = {host}\ntransport_url = {RABBIT_URL}\n"
        "[compute]\nheartbeat_interval = 5\nresource_report_interval = 5\n" + vcsim.config()
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
        assert serving.wait(timeout=60), f"nova-compute-vmware did not start: {''.join(output[-20:])}"
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
    assert report.driver["name"] == "vmware"
    skipped = {t.operation for t in report.tests if t.outcome == "skipped"}
    assert {"pause", "unpause", "get_console_output"} <= skipped
    assert process.poll() is None  # still serving after the whole run


def test_support_matrix_names_every_missing_operation_with_its_reason():
    text = (pathlib.Path(__file__).resolve().parent.parent / "doc" / "support-matrix.md").read_text()
    for operation in ("pause", "unpause", "get_console_output"):
        assert f"| {operation} | " in text
    assert "vSphere has no pause" in text
