"""Run the kit inside a driver's own pytest suite.

    # drivers/foo/tests/test_contract.py
    from nova_contract_tests.config import KitConfig
    from nova_contract_tests.pytest_support import make_kit_test

    test_contract = make_kit_test(KitConfig(driver="foo", config_files=["tests/foo.conf"]))

Each scenario becomes one pytest test (``test_contract[spawn.boots-running]``);
scenarios gated on a capability the driver does not advertise are skipped
with the reason. One target is opened on first use and closed at exit.
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
    """A parametrized pytest test function running every selected scenario."""
    scenarios = {s.id: s for s in runner.select(config)}
    opened: list[Target] = []

    def target() -> Target:
        if not opened:
            new = target_factory() if target_factory else make_target(config)
            new.open()
            opened.append(new)
            atexit.register(new.close)
        return opened[0]

    @pytest.mark.parametrize("scenario_id", list(scenarios))
    def test_contract(scenario_id: str) -> None:
        result = runner.run_scenario(target(), config, scenarios[scenario_id])
        if result.outcome == runner.SKIPPED:
            pytest.skip(result.message)
        if result.outcome == runner.FAILED:
            pytest.fail(result.message, pytrace=False)

    return test_contract


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
