"""A driver's own suite runs the kit under pytest: every check the CLI runs, one test each."""

from nova_contract_tests.config import KitConfig
from nova_contract_tests.pytest_support import make_kit_test
from nova_contract_tests.runner import run_kit

test_fake_contract = make_kit_test(KitConfig(driver="fake"))


def test_pytest_mode_runs_the_same_checks_as_the_cli():
    report = run_kit(KitConfig(driver="fake"))
    ids = [t.id for t in report.tests]
    assert test_fake_contract.kit_check_ids == ids
    kinds = {check_id.split(".")[0] for check_id in ids}
    assert {"coverage", "objects"} <= kinds
    assert {"list_instances.others-untouched", "destroy.no-leaks", "spawn.boots-running"} <= set(ids)
    parametrized = test_fake_contract.pytestmark[0].args[1]
    assert parametrized == ids


def test_pytest_mode_follows_the_operation_selection():
    selected = make_kit_test(KitConfig(driver="fake", operations=["pause"])).kit_check_ids
    assert selected == [t.id for t in run_kit(KitConfig(driver="fake", operations=["pause"])).tests]
    assert "pause.from-crashed" in selected and "spawn.boots-running" not in selected
