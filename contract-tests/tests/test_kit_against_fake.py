"""The kit passes against the reference driver in every mode."""

import json
import os
import subprocess
import sys

from oslo_config import cfg

from nova_common.messaging import conf as messaging_conf
from nova_common.messaging.transport import get_transport
from nova_common.scaffold import conf as scaffold_conf
from nova_common.scaffold.service import ComputeService
from nova_common.virt import api
from nova_contract_tests.blackbox import ComputeServiceProcess, broker_unavailable
from nova_contract_tests.config import KitConfig
from nova_contract_tests.pytest_support import require
from nova_contract_tests.runner import coverage_gaps, run_kit
from nova_driver_fake import FakeDriver

RABBIT_URL = os.environ.get("RABBIT_URL", "rabbit://guest:guest@127.0.0.1:5672/")


def assert_clean_pass(report):
    failures = [f"{t.id}: {t.message}" for t in report.tests if t.outcome == "failed"]
    assert failures == []
    assert report.summary["passed"] > 80


def test_kit_covers_every_spec_operation():
    assert coverage_gaps() == []


def test_in_process():
    report = run_kit(KitConfig(driver="fake"))
    assert_clean_pass(report)
    assert report.mode == "in-process"
    skipped = [t for t in report.tests if t.outcome == "skipped"]
    # Only the NotSupported checks are skipped (the fake advertises everything)
    # and the report channel, which is checked black-box.
    assert {t.id.split(".", 1)[1] for t in skipped if not t.id.startswith(("report.", "coverage."))} == {
        "not-advertised-answers-not-supported"
    }
    assert all(
        "black-box" in t.message for t in skipped if t.id.startswith("report.") and "coverage" not in t.id
    )


def test_black_box_over_kombu_memory():
    conf = cfg.ConfigOpts()
    scaffold_conf.register_opts(conf)
    messaging_conf.register_opts(conf)
    FakeDriver.register_opts(conf)
    conf(args=[], default_config_files=[])
    conf.set_override("host", "kit-memory-host")
    transport = get_transport(conf, "kombu+memory:////")
    service = ComputeService(conf, FakeDriver(conf), transport=transport)
    service.start()
    try:
        report = run_kit(KitConfig(transport_url="kombu+memory:////", host="kit-memory-host"))
    finally:
        service.stop()
        transport.cleanup()
    assert_clean_pass(report)
    assert report.mode == "black-box" and report.target["pinned_version"] == api.VIRT_API_VERSION


def test_black_box_over_rabbitmq_against_a_separate_process(tmp_path):
    require(broker_unavailable(RABBIT_URL))
    report_path = tmp_path / "report.json"
    with ComputeServiceProcess("nova-compute-fake", RABBIT_URL, tmp_path) as service:
        host, topic = service.host, service.report_topic
        # The kit runs in its own process too, to show it imports nothing of the driver.
        code = (
            "import sys; from nova_contract_tests.cli import main; "
            f"status = main(['run', '--transport-url', {RABBIT_URL!r}, '--host', {host!r}, '-q', "
            f"'--report-topic', {topic!r}, '--json-report', {str(report_path)!r}]); "
            "assert 'nova_driver_fake' not in sys.modules, 'kit imported the driver'; sys.exit(status)"
        )
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads(report_path.read_text())
    assert report["mode"] == "black-box" and report["summary"]["failed"] == 0
    assert report["target"]["transport_url"] == "rabbit://guest:***@127.0.0.1:5672/"
    passed = {t["id"] for t in report["tests"] if t["outcome"] == "passed"}
    assert "report.heartbeat.at-the-declared-interval" in passed


def test_instances_are_cleaned_up_in_every_mode():
    from nova_contract_tests.targets import InProcessTarget, load_driver

    target = InProcessTarget(KitConfig(driver="fake"), driver=load_driver("fake", []))
    report = run_kit(KitConfig(driver="fake"), target=target)
    assert report.ok
    assert target.driver.list_instances().objects == []


def test_runs_concurrently_with_other_tenants_without_touching_them():
    """Instances the kit did not create survive the run untouched."""
    from nova_contract_tests.framework import ScenarioContext
    from nova_contract_tests.targets import InProcessTarget, load_driver

    driver = load_driver("fake", [])
    target = InProcessTarget(KitConfig(driver="fake"), driver=driver)
    target.open()
    other = ScenarioContext(target, KitConfig(driver="fake"), "bystander").spawn()
    driver.start = lambda: None  # already started above
    report = run_kit(KitConfig(driver="fake"), target=target)
    assert report.ok
    assert [i.uuid for i in driver.list_instances().objects] == [other.uuid]
    assert [t.outcome for t in report.tests if t.id == "list_instances.others-untouched"] == ["passed"]


def test_snapshot_of_a_crashed_instance_is_a_declared_error():
    """Issue 13's reproduction: the spec declares InvalidInstanceState for a
    crashed instance (derived from snapshot's Transition), so the kit's
    errors-declared-by-operation rule accepts what every driver raises."""
    from nova_common.virt import exceptions as exc
    from nova_contract_tests.framework import ScenarioContext
    from nova_contract_tests.targets import InProcessTarget

    target = InProcessTarget(KitConfig(driver="fake"))
    target.open()
    try:
        ctx = ScenarioContext(target, target.config, "crashed-snapshot")
        instance = ctx.spawn()
        target.driver.set_power_state_out_of_band(instance.uuid, "crashed")
        ctx.expect_error(
            exc.InvalidInstanceState,
            "snapshot",
            "state-precondition",
            **ctx.arguments_for(api.OPERATIONS["snapshot"], instance),
        )
        assert ctx.cleanup() == []
    finally:
        target.close()
