"""The contract kit against the reference driver: in process (one pytest test
per check), and black-box against a ``nova-compute-fake`` process over
RabbitMQ with the kit playing the core's side of the report channel."""

import os

from nova_contract_tests.blackbox import ComputeServiceProcess, broker_unavailable
from nova_contract_tests.config import KitConfig
from nova_contract_tests.pytest_support import make_kit_test, require
from nova_contract_tests.runner import run_kit

RABBIT_URL = os.environ.get("RABBIT_URL", "rabbit://guest:guest@127.0.0.1:5672/")

test_contract_in_process = make_kit_test(KitConfig(driver="fake"))


def test_contract_black_box_over_rabbitmq(tmp_path):
    require(broker_unavailable(RABBIT_URL))
    with ComputeServiceProcess("nova-compute-fake", RABBIT_URL, tmp_path) as service:
        report = run_kit(service.kit_config())
        assert service.alive()  # still serving after the whole run
    failures = [f"{t.id}: {t.message}" for t in report.tests if t.outcome == "failed"]
    assert report.ok, failures
    ran = {t.id for t in report.tests if t.outcome == "passed"}
    assert "report.heartbeat.at-the-declared-interval" in ran
    assert "report.report_resources.follows-spawn-and-destroy" in ran
