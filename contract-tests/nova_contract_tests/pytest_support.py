"""Run the kit inside a driver's own pytest suite.

    # drivers/foo/tests/test_contract.py
    from nova_contract_tests.config import KitConfig
    from nova_contract_tests.pytest_support import make_kit_test

    test_contract = make_kit_test(KitConfig(driver="foo", config_files=["tests/foo.conf"]))

Every check the CLI runs becomes one pytest test, with the same id and in
the same order (:meth:`nova_contract_tests.runner.KitRun.checks`): the
coverage of each spec operation, the object round-trips and fingerprints,
every scenario (``test_contract[spawn.boots-running]``), then the
others-untouched and leak checks. Checks that do not apply (a capability the
driver does not advertise, a test hook it does not provide) are skipped with
the reason. One target is opened on first use and closed at exit.
"""

from __future__ import annotations

import atexit
from collections.abc import Callable

import pytest

from nova_contract_tests import runner
from nova_contract_tests.config import KitConfig
from nova_contract_tests.targets import Target, make_target


def make_kit_test(
    config: KitConfig, target_factory: Callable[[], Target] | None = None
) -> Callable[[str], None]:
    """A parametrized pytest test function running every check of the kit."""
    config.validate_budgets()
    runs: list[runner.KitRun] = []
    failed_open: list[str] = []
    checks = {check.id: check for check in runner.KitRun(config, _Unopened()).checks()}

    def kit_run() -> runner.KitRun:
        if failed_open:
            pytest.fail(failed_open[0], pytrace=False)
        if not runs:
            run = runner.KitRun(config, target_factory() if target_factory else make_target(config))
            try:
                run.open()
            except Exception as error:
                failed_open.append(f"cannot reach the driver: {error}")
                pytest.fail(failed_open[0], pytrace=False)
            atexit.register(run.close)
            runs.append(run)
        return runs[0]

    @pytest.mark.parametrize("check_id", list(checks))
    def test_contract(check_id: str) -> None:
        check = checks[check_id]
        result = kit_run().run_check(check) if check.needs_target else check.run(None)  # type: ignore[arg-type]
        if result.outcome == runner.SKIPPED:
            pytest.skip(result.message)
        if result.outcome == runner.FAILED:
            pytest.fail(result.message, pytrace=False)

    test_contract.kit_check_ids = list(checks)  # type: ignore[attr-defined]
    return test_contract


class _Unopened(Target):
    """Stands in for the target while only the list of checks is needed."""

    mode = "unopened"


def require(reason: str | None) -> None:
    """Skip the calling test with ``reason`` when a backend it needs is missing,
    or fail it under CI (``CI=true``), where a missing backend is a broken run.
    ``reason`` None means the backend is there."""
    import os

    if reason is None:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true and a backend this test needs is missing: {reason}", pytrace=False)
    pytest.skip(reason)
