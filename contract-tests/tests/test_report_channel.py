"""The kit plays the core's side of the report channel: a healthy service
passes; each broken one fails naming the message and the rule."""

import uuid

import pytest
from broken_services import NewerObjectsService, SilentService, StaleReportService
from oslo_config import cfg

from nova_common.messaging import conf as messaging_conf
from nova_common.messaging.transport import get_transport
from nova_common.scaffold import conf as scaffold_conf
from nova_common.scaffold.service import ComputeService
from nova_contract_tests.config import KitConfig
from nova_contract_tests.runner import run_kit
from nova_driver_fake import FakeDriver

MEMORY_URL = "kombu+memory:////"
REPORT_SCENARIOS = [
    "report.register",
    "report.heartbeat",
    "report.report_resources",
    "report.lifecycle_event",
]


def _run(service_cls, operations=REPORT_SCENARIOS):
    host = "kit-" + uuid.uuid4().hex[:8]
    topic = "kit-report-" + uuid.uuid4().hex[:8]
    conf = cfg.ConfigOpts()
    scaffold_conf.register_opts(conf)
    messaging_conf.register_opts(conf)
    FakeDriver.register_opts(conf)
    conf(args=[], default_config_files=[])
    conf.set_override("host", host)
    for name, value in dict(
        conductor_topic=topic, heartbeat_interval=0.3, resource_report_interval=0.5, registration_timeout=1
    ).items():
        conf.set_override(name, value, group="compute")
    transport = get_transport(conf, MEMORY_URL)
    service = service_cls(conf, FakeDriver(conf), transport=transport)
    service.start()
    try:
        config = KitConfig(transport_url=MEMORY_URL, host=host, report_topic=topic, operations=operations)
        return run_kit(config)
    finally:
        service.stop()
        transport.cleanup()


def _failed(report):
    return {t.id: t.message for t in report.tests if t.outcome == "failed"}


def test_a_healthy_service_passes_every_report_check():
    report = _run(ComputeService)
    ran = {
        t.id: t.outcome for t in report.tests if t.operation.startswith("report.") and "coverage" not in t.id
    }
    # Until the service enables its test hooks, the lifecycle check says why it cannot run.
    assert ran.pop("report.lifecycle_event.per-out-of-band-change") == "skipped"
    assert ran == {
        "report.register.describes-driver": "passed",
        "report.register.objects-at-the-core-versions": "passed",
        "report.heartbeat.at-the-declared-interval": "passed",
        "report.report_resources.follows-spawn-and-destroy": "passed",
    }, _failed(report)


@pytest.mark.parametrize(
    "service_cls, scenario_id, rule",
    [
        (SilentService, "report.heartbeat.at-the-declared-interval", "heartbeat-interval"),
        (StaleReportService, "report.report_resources.follows-spawn-and-destroy", "reports-follow-changes"),
        (
            NewerObjectsService,
            "report.register.objects-at-the-core-versions",
            "report-objects-at-core-version",
        ),
    ],
)
def test_a_broken_service_fails_naming_the_message_and_the_rule(service_cls, scenario_id, rule):
    failed = _failed(_run(service_cls))
    assert scenario_id in failed, failed
    assert f"[rule: {rule}]" in failed[scenario_id]
    assert failed[scenario_id].startswith("report")


def test_in_process_runs_say_why_the_report_channel_is_not_checked():
    report = run_kit(KitConfig(driver="fake", operations=["report.heartbeat"]))
    skipped = {t.id: t.message for t in report.tests if t.outcome == "skipped"}
    assert "checked black-box" in skipped["report.heartbeat.at-the-declared-interval"]
