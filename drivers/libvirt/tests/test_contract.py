"""The contract kit against this driver: in process on test:///default and on the shipped node
XML, and black-box against a ``nova-compute-libvirt`` process over RabbitMQ.

The kit is a test dependency (``pip install ./drivers/libvirt[test]``). The black-box test is
skipped locally, with the reason, when no broker answers on 127.0.0.1:5672, and fails under CI.
"""

import atexit
import os
import pathlib
import shutil
import tempfile

from libvirt_test_support import NODE_URI

from nova_contract_tests.blackbox import ComputeServiceProcess, broker_unavailable
from nova_contract_tests.config import KitConfig
from nova_contract_tests.pytest_support import make_kit_test, require
from nova_contract_tests.runner import run_kit

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


def test_contract_black_box_over_rabbitmq(tmp_path):
    """A nova-compute-libvirt process on the node XML, over RabbitMQ, with the
    kit playing the core's side of its report channel."""
    require(broker_unavailable(RABBIT_URL))
    extra = f"[libvirt]\nconnection_uri = {NODE_URI}\n"
    with ComputeServiceProcess("nova-compute-libvirt", RABBIT_URL, tmp_path, extra_config=extra) as service:
        report = run_kit(service.kit_config())
        assert service.alive()  # still serving after the whole run
    failures = [f"{t.id}: {t.message}" for t in report.tests if t.outcome == "failed"]
    assert report.ok, failures
    assert report.summary["passed"] > 50
    assert report.driver["name"] == "libvirt"
    skipped = {t.operation for t in report.tests if t.outcome == "skipped"}
    assert {"attach_volume", "detach_volume", "get_console_output"} <= skipped
    assert "report.report_resources.follows-spawn-and-destroy" in {
        t.id for t in report.tests if t.outcome == "passed"
    }


def test_support_matrix_names_every_missing_operation_with_its_reason():
    text = (pathlib.Path(__file__).resolve().parent.parent / "doc" / "support-matrix.md").read_text()
    for operation in ("get_console_output", "attach_volume", "detach_volume"):
        assert f"| {operation} | " in text and f"**{operation}** (missing): capability" in text
    assert "VIR_ERR_NO_SUPPORT" in text or "not supported by the connection driver" in text
