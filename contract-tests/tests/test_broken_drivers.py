"""Each broken driver fails the kit with a message naming the operation and the rule."""

import pytest

from nova_contract_tests.config import KitConfig
from nova_contract_tests.runner import run_kit


@pytest.mark.parametrize(
    "driver, operation, rule",
    [
        ("broken_drivers:WrongPowerStateDriver", "power_off", "power-state-after-transition"),
        ("broken_drivers:ForeignExceptionDriver", "get_info", "errors-from-contract-set"),
        ("broken_drivers:LeakyDriver", "destroy", "destroy-removes-instance"),
    ],
)
def test_broken_driver_fails_naming_operation_and_rule(driver, operation, rule):
    report = run_kit(KitConfig(driver=driver))
    assert not report.ok
    failures = [t for t in report.tests if t.outcome == "failed"]
    assert failures
    naming = [
        t for t in failures if t.message.startswith(f"{operation}: ") and f"[rule: {rule}]" in t.message
    ]
    assert naming, "\n".join(t.message for t in failures)


def test_wrong_power_state_message_says_what_was_seen():
    report = run_kit(KitConfig(driver="broken_drivers:WrongPowerStateDriver", operations=["power_off"]))
    messages = [t.message for t in report.tests if t.outcome == "failed"]
    assert any(
        "get_info reports power state 'running' after power_off, expected 'shutdown'" in m for m in messages
    )


def test_failing_scenarios_still_clean_up():
    from nova_contract_tests.targets import InProcessTarget, load_driver

    config = KitConfig(driver="broken_drivers:WrongPowerStateDriver")
    target = InProcessTarget(config, driver=load_driver(config.driver, []))
    report = run_kit(config, target=target)
    assert not report.ok
    assert target.driver.list_instances().objects == []
