"""The contract kit against this driver: in process against vcsim, and black-box against a
``nova-compute-vmware`` process over RabbitMQ. Both start and stop what they need."""

import atexit
import logging
import pathlib
import shutil
import tempfile
import time
import uuid

import pytest

kit = pytest.importorskip("nova_contract_tests", reason="the contract kit (contract-tests/) is not installed")

from vcsim_support import (  # noqa: E402
    RABBIT_URL,
    ComputeProcess,
    Vcsim,
    compute_script,
    rabbit_unavailable,
    unavailable,
)

from nova_common import objects  # noqa: E402
from nova_common.virt import exceptions as exc  # noqa: E402
from nova_contract_tests.config import KitConfig  # noqa: E402
from nova_contract_tests.pytest_support import make_kit_test, require  # noqa: E402
from nova_contract_tests.runner import run_kit  # noqa: E402

_CONF_DIR = pathlib.Path(tempfile.mkdtemp(prefix="nova-vmware-kit-"))
atexit.register(shutil.rmtree, _CONF_DIR, True)
_IN_PROCESS_CONF = _CONF_DIR / "vmware.conf"


@pytest.fixture(scope="module", autouse=True)
def vcsim_config(vcsim):
    """The kit reads its config file when it opens its target, after this wrote it."""
    _IN_PROCESS_CONF.write_text(vcsim.config())
    return _IN_PROCESS_CONF


test_contract_in_process = make_kit_test(KitConfig(driver="vmware", config_files=[str(_IN_PROCESS_CONF)]))


def _need_black_box() -> None:
    require(rabbit_unavailable())
    if compute_script() is None:
        require("nova-compute-vmware is not installed (pip install -e drivers/vmware)")


@pytest.fixture
def compute_process(tmp_path, vcsim):
    """A nova-compute-vmware process against the session's vcsim, over RabbitMQ."""
    _need_black_box()
    service = ComputeProcess(vcsim, tmp_path).start()
    try:
        yield service
    finally:
        service.stop()


def test_contract_black_box_over_rabbitmq(compute_process):
    report = run_kit(compute_process.kit_config())
    failures = [f"{t.id}: {t.message}" for t in report.tests if t.outcome == "failed"]
    assert report.ok, failures
    assert report.summary["passed"] > 50
    assert report.driver["name"] == "vmware"
    skipped = {t.operation for t in report.tests if t.outcome == "skipped"}
    assert {"pause", "unpause", "get_console_output"} <= skipped
    assert "report.register.describes-driver" in {t.id for t in report.tests if t.outcome == "passed"}
    assert compute_process.alive()  # still serving after the whole run


def _instance() -> objects.Instance:
    return objects.Instance(
        uuid=str(uuid.uuid4()),
        display_name="black-box restart",
        host="-",
        flavor=objects.Flavor(flavorid="1", name="m1.nano", vcpus=1, memory_mb=64, root_gb=0),
        image=objects.ImageMeta(id=str(uuid.uuid4()), name="cirros"),
    )


def _until(call, timeout: float = 30.0):
    """``call()`` until it stops raising HypervisorUnavailable (the service retries its login)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return call()
        except exc.HypervisorUnavailable:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def test_black_box_service_survives_vcsim_killed_and_restarted(tmp_path):
    """vcsim is killed under a running nova-compute-vmware and started again on the same port:
    the service keeps running, answers HypervisorUnavailable in between, then logs in again
    and serves. The process runs at DEBUG; the password is in none of its output."""
    require(unavailable())
    _need_black_box()
    from nova_contract_tests.targets import BlackBoxTarget

    secret = "bb-pw-" + uuid.uuid4().hex
    sim = Vcsim(vms=0).start()
    service = None
    target = None
    try:
        service = ComputeProcess(sim, tmp_path, debug=True, password=secret).start()
        target = BlackBoxTarget(KitConfig(transport_url=RABBIT_URL, host=service.host, rpc_timeout=30))
        target.open()
        inst = _instance()
        target.call("spawn", instance=inst, network_info=objects.NetworkInfo(objects=[]))
        assert [i.uuid for i in target.call("list_instances").objects] == [inst.uuid]

        sim.kill()
        for operation, kwargs in (
            ("list_instances", {}),
            ("get_host_resources", {}),
            ("get_info", {"instance": inst}),
        ):
            with pytest.raises(exc.HypervisorUnavailable):
                target.call(operation, **kwargs)
        assert service.alive(), "".join(service.output[-30:])

        sim.start()  # the same port; a fresh inventory (the old VM died with vcsim)
        assert sim.port == int(service.config.read_text().split("host_port = ")[1].split()[0])
        assert _until(lambda: target.call("list_instances")).objects == []
        again = _instance()
        target.call("spawn", instance=again, network_info=objects.NetworkInfo(objects=[]))
        assert target.call("get_info", instance=again).power_state == "running"
        target.call("destroy", instance=again)
        assert service.alive()
    finally:
        if target is not None:
            target.close()
        if service is not None:
            service.stop()
        sim.stop()
    text = "".join(service.output)
    assert "DEBUG" in text, "the service should have logged at DEBUG"
    assert "Logged in to vCenter" in text
    assert text.count("Logged in to vCenter") >= 2, "no second login after vcsim came back"
    assert secret not in text, "the vCenter password reached the service's output"
    logging.getLogger(__name__).info("service output: %d lines, password in none", len(text.splitlines()))


def test_black_box_service_started_before_vcenter_serves_once_it_answers(tmp_path):
    """nova-compute-vmware started while vCenter is down: it runs, registers, answers
    HypervisorUnavailable, keeps retrying, and serves once vcsim answers on its port."""
    require(unavailable())
    _need_black_box()
    from nova_contract_tests.targets import BlackBoxTarget

    sim = Vcsim(vms=0).start()
    sim.kill()  # keep its port for the config, then let the service start against nothing
    service = target = None
    try:
        service = ComputeProcess(sim, tmp_path).start()
        target = BlackBoxTarget(KitConfig(transport_url=RABBIT_URL, host=service.host, rpc_timeout=30))
        target.open()
        assert target.driver_info.driver_name == "vmware"
        with pytest.raises(exc.HypervisorUnavailable, match="cannot be reached"):
            target.call("list_instances")
        assert service.alive()
        sim.start()
        assert _until(lambda: target.call("list_instances"), timeout=60).objects == []
        assert target.call("get_host_resources").vcpus > 0
    finally:
        if target is not None:
            target.close()
        if service is not None:
            service.stop()
        sim.stop()
    assert "cannot reach its hypervisor" in "".join(service.output)


def test_support_matrix_names_every_missing_operation_with_its_reason():
    text = (pathlib.Path(__file__).resolve().parent.parent / "doc" / "support-matrix.md").read_text()
    for operation in ("pause", "unpause", "get_console_output"):
        assert f"| {operation} | " in text
    assert "vSphere has no pause" in text


def test_support_matrix_is_the_kits_rendering_of_the_kept_reports():
    """doc/support-matrix.md's table is what ``nova-contract-tests matrix`` makes of the JSON
    reports kept next to it (regenerate with doc/generate_support_matrix.py)."""
    from nova_contract_tests import matrix

    doc = pathlib.Path(__file__).resolve().parent.parent / "doc"
    reports = sorted(doc.glob("kit-report-*.json"))
    assert {r.name for r in reports} == {"kit-report-in-process.json", "kit-report-black-box.json"}
    loaded = matrix.load_reports([str(r) for r in reports[::-1]])  # in-process first, as generated
    assert all(r["summary"]["failed"] == 0 for r in loaded)
    table = matrix.render_markdown(loaded).rstrip()
    assert (doc / "support-matrix.md").read_text().startswith(table)
