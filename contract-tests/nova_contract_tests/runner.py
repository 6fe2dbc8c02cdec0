"""Runs every check of the kit against one target and collects a report.

A run (:class:`KitRun`) is a fixed list of checks, the same in the CLI
(:func:`run_kit`) and in a driver's pytest suite
(:func:`nova_contract_tests.pytest_support.make_kit_test`): the coverage of
every spec operation, the object round-trips and fingerprints, every
selected scenario (those of the mandatory operations first), then the
others-untouched and leak checks over the whole run.

A failure whose broken rule is in an operation that already failed a basic
scenario (:data:`~nova_contract_tests.scenarios.BASIC`) names that failure
as its cause instead of repeating it, and the summary counts it apart.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

from oslo_utils import timeutils

from nova_common import objects
from nova_common.virt import api, report_api
from nova_common.virt import exceptions as exc
from nova_common.virt.test_hooks import HOOKS
from nova_contract_tests import coverage
from nova_contract_tests.config import KitConfig
from nova_contract_tests.framework import (
    SCENARIOS,
    ContractViolation,
    RunLedger,
    Scenario,
    ScenarioContext,
    SkipScenario,
    missing_hook_reason,
)
from nova_contract_tests.scenarios import BASIC
from nova_contract_tests.targets import Target, make_target

PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"
#: The summary's count of failures caused by an earlier failure (outcome "failed" too).
CAUSED = "caused_by_earlier_failure"


@dataclasses.dataclass
class TestResult:
    id: str
    operation: str
    outcome: str
    message: str = ""
    duration_s: float = 0.0
    capabilities: list[str] = dataclasses.field(default_factory=list)
    #: The rule a failure broke and the operation it broke it in.
    rule: str | None = None
    failed_in: str | None = None
    #: The id of the earlier failure this one follows from.
    caused_by: str | None = None


@dataclasses.dataclass
class KitReport:
    kit_version: str
    virt_api_version: str
    mode: str
    target: dict[str, Any]
    driver: dict[str, Any]
    started_at: str
    duration_s: float = 0.0
    tests: list[TestResult] = dataclasses.field(default_factory=list)
    #: Time budgets the config replaced: operation -> {"spec": s, "kit": s}.
    budget_overrides: dict[str, dict[str, float]] = dataclasses.field(default_factory=dict)
    #: Test hooks the driver provides, and the checks skipped for want of each missing one.
    hooks: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def summary(self) -> dict[str, int]:
        """passed / failed (root causes) / caused_by_earlier_failure / skipped."""
        counts = {PASSED: 0, FAILED: 0, CAUSED: 0, SKIPPED: 0}
        for result in self.tests:
            counts[CAUSED if result.caused_by else result.outcome] += 1
        return counts

    @property
    def failures(self) -> int:
        """Every failed check, root causes and what they caused."""
        return sum(1 for result in self.tests if result.outcome == FAILED)

    @property
    def ok(self) -> bool:
        return self.failures == 0 and bool(self.tests)

    def to_dict(self) -> dict[str, Any]:
        from nova_contract_tests.matrix import operation_status

        return {
            "kit_version": self.kit_version,
            "virt_api_version": self.virt_api_version,
            "mode": self.mode,
            "target": self.target,
            "driver": self.driver,
            "started_at": self.started_at,
            "duration_s": round(self.duration_s, 3),
            "summary": self.summary,
            "time_budgets": {"overrides": self.budget_overrides},
            "hooks": self.hooks,
            "untestable_claims": dict(coverage.UNTESTABLE),
            "operations": operation_status(self.to_tests_dicts(), self.driver.get("capabilities", [])),
            "tests": self.to_tests_dicts(),
        }

    def to_tests_dicts(self) -> list[dict[str, Any]]:
        return [dataclasses.asdict(result) for result in self.tests]


def kit_version() -> str:
    from nova_common.virt.driver_info import package_version

    return package_version("nova-contract-tests")


#: Declarations the kit cannot exercise against a service, each with why and
#: where it is tested instead; reported as skipped coverage, never as passed.
COVERAGE_EXEMPT: dict[str, str] = {
    "report.deregister": "sent when the service stops; the kit cannot stop the service it tests "
    "(nova-common's tests/test_negotiation.py checks it, with a core that reads it and one that does not)",
}


def coverage_gaps(scenarios: list[Scenario] | None = None) -> list[str]:
    """Spec operations and report messages with no scenario in the kit."""
    covered = {s.operation for s in (scenarios if scenarios is not None else SCENARIOS)}
    declared = [*api.OPERATIONS, *(f"report.{name}" for name in report_api.COMPUTE_REPORT)]
    return [name for name in declared if name not in covered and name not in COVERAGE_EXEMPT]


def select(config: KitConfig) -> list[Scenario]:
    """The scenarios ``config`` selects, those of the mandatory operations first."""
    known = set(api.OPERATIONS) | {f"report.{name}" for name in report_api.COMPUTE_REPORT}
    unknown = set(config.operations) - known
    if unknown:
        raise ValueError(f"operations: {sorted(unknown)} are not in the virt API or compute-report API spec")
    chosen = [s for s in SCENARIOS if not config.operations or s.operation in config.operations]
    return sorted(chosen, key=lambda s: s.id not in BASIC)


def _exempt(name: str, why: str) -> TestResult:
    return TestResult(id=f"coverage.{name}", operation="(kit)", outcome=SKIPPED, message=why)


def coverage_check(operation: str, scenarios: list[Scenario] | None = None) -> TestResult:
    """Whether every claim the spec makes about ``operation`` has a scenario."""
    result = TestResult(id=f"coverage.{operation}", operation="(kit)", outcome=PASSED)
    lacking = coverage.gaps(scenarios).get(operation, [])
    if operation in coverage_gaps(scenarios):
        lacking = ["any scenario at all", *lacking]
    if lacking:
        result.outcome = FAILED
        result.rule = "kit-coverage"
        result.message = (
            f"{operation}: the kit has no scenario for: {'; '.join(lacking)} [rule: kit-coverage]"
        )
    return result


def object_round_trips() -> list[TestResult]:
    """Backport every registered object to every version it has had, and back."""
    results = []
    for name, classes in sorted(objects.registered_classes().items()):
        cls = classes[0]
        major, minor = (int(part) for part in cls.VERSION.split("."))
        for older in range(minor, -1, -1):
            version = f"{major}.{older}"
            result = TestResult(
                id=f"objects.{name}.backport-to-{version}", operation="(objects)", outcome=PASSED
            )
            try:
                primitive = cls().obj_to_primitive(target_version=version)
                back = cls.obj_from_primitive(primitive)
                if back.VERSION != version:
                    raise ValueError(f"came back as {back.VERSION}")
            except Exception as error:
                result.outcome = FAILED
                result.message = f"{name} cannot round-trip at {version}: {error} [rule: object-backport]"
            results.append(result)
    return results


def object_fingerprints() -> list[TestResult]:
    """Objects of every released virt API version are still readable here, and
    the version registered here is unchanged since the release that shipped it.

    Only the newest version of an object is registered; an older released
    version is available through its backport (which must work), and its
    fingerprint was frozen by the release that shipped it.
    """
    from oslo_versionedobjects import fixture as ovo_fixture

    registered = objects.registered_classes()
    released: dict[tuple[str, str], tuple[str, str]] = {}  # (name, version) -> (fingerprint, virt API)
    for api_version, fingerprints in sorted(
        api.RELEASED_OBJECTS.items(), key=lambda item: api.parse_version(item[0])
    ):
        for name, expected in fingerprints.items():
            released.setdefault((name, expected.split("-", 1)[0]), (expected, api_version))
    results = []
    for (name, version), (expected, api_version) in sorted(released.items()):
        result = TestResult(id=f"objects.{name}.fingerprint-{version}", operation="(objects)", outcome=PASSED)
        classes = registered.get(name, [])
        newest = classes[0] if classes else None
        if newest is None or api.parse_version(newest.VERSION) < api.parse_version(version):
            result.outcome = FAILED
            result.message = (
                f"{name} {version} (virt API {api_version}) is not registered here "
                "[rule: released-objects-stay-available]"
            )
        elif newest.VERSION == version:
            actual = ovo_fixture.ObjectVersionChecker({name: [newest]}).get_hashes()[name]
            if actual != expected:
                result.outcome = FAILED
                result.message = (
                    f"{name} {version} changed since virt API {api_version} was released "
                    f"({expected} -> {actual}): bump its version and add a backport "
                    "[rule: released-objects-are-frozen]"
                )
        else:
            try:
                newest().obj_to_primitive(target_version=version)
            except Exception as error:
                result.outcome = FAILED
                result.message = (
                    f"{name} {newest.VERSION} cannot be backported to {version} (virt API {api_version}): "
                    f"{error} [rule: released-objects-stay-available]"
                )
        results.append(result)
    return results


def run_scenario(
    target: Target, config: KitConfig, scenario: Scenario, ledger: RunLedger | None = None
) -> TestResult:
    """Run one scenario, always cleaning up what it created."""
    result = TestResult(
        id=scenario.id, operation=scenario.operation, outcome=PASSED, capabilities=list(scenario.capabilities)
    )
    reason = scenario.skip_reason(frozenset(target.driver_info.capabilities), target.hook_names)
    if reason is not None:
        result.outcome, result.message = SKIPPED, reason
        return result
    ctx = ScenarioContext(target, config, scenario.id, ledger)
    started = time.monotonic()
    try:
        scenario.func(ctx)
    except ContractViolation as violation:
        result.outcome, result.message = FAILED, str(violation)
        result.rule, result.failed_in = violation.rule, violation.operation
    except SkipScenario as skip:
        result.outcome, result.message = SKIPPED, str(skip)
    except exc.VirtError as error:
        result.outcome = FAILED
        result.rule, result.failed_in = "operation-succeeds-when-preconditions-hold", scenario.operation
        result.message = (
            f"{scenario.operation}: unexpected {type(error).__name__} during the scenario: {error} "
            "[rule: operation-succeeds-when-preconditions-hold]"
        )
    except Exception as error:  # a kit bug must not hide the other results
        result.outcome = FAILED
        result.message = f"{scenario.operation}: the scenario crashed with {type(error).__name__}: {error}"
    finally:
        problems = ctx.cleanup()
        result.duration_s = round(time.monotonic() - started, 4)
    if problems:
        result.outcome = FAILED
        result.message = "; ".join(filter(None, [result.message, *problems]))
    return result


def _snapshot(target: Target) -> dict[str, str]:
    return {info.uuid: info.power_state for info in target.call("list_instances").objects}


@dataclasses.dataclass(frozen=True)
class Check:
    """One result of a run: ``run`` produces it (``needs_target``: after the target opened)."""

    id: str
    operation: str
    run: Callable[[KitRun], TestResult]
    needs_target: bool = True


class KitRun:
    """One run of the kit against one target: every check, in order, and what they share."""

    def __init__(self, config: KitConfig, target: Target | None = None) -> None:
        self.config = config
        self.target = target or make_target(config)
        self.scenarios = select(config)
        self.ledger = RunLedger()
        #: operation -> id of the basic scenario that found it broken.
        self.broken: dict[str, str] = {}
        #: missing hook -> ids of the checks skipped for want of it.
        self.skipped_for_hook: dict[str, list[str]] = {}
        self._foreign_before: dict[str, str] = {}
        self.opened = False

    def open(self) -> None:
        self.target.open()
        self._foreign_before = _snapshot(self.target)
        self.opened = True

    def close(self) -> None:
        if self.opened:
            self.opened = False
            self.target.close()

    def checks(self) -> list[Check]:
        """Every check of this run, in the order they run (the same in every mode)."""
        declared = [*api.OPERATIONS, *(f"report.{name}" for name in report_api.COMPUTE_REPORT)]
        found = [
            Check(f"coverage.{name}", "(kit)", lambda run, name=name: coverage_check(name), False)
            for name in declared
            if name not in COVERAGE_EXEMPT
        ]
        found += [
            Check(f"coverage.{name}", "(kit)", lambda run, name=name, why=why: _exempt(name, why), False)
            for name, why in COVERAGE_EXEMPT.items()
        ]
        for result in object_round_trips() + object_fingerprints():
            found.append(Check(result.id, result.operation, lambda run, result=result: result, False))
        for scenario in self.scenarios:
            found.append(Check(scenario.id, scenario.operation, lambda run, s=scenario: run.run_one(s)))
        found.append(Check("list_instances.others-untouched", "list_instances", KitRun.others_untouched))
        found.append(Check("destroy.no-leaks", "destroy", KitRun.no_leaks))
        return found

    def run_check(self, check: Check) -> TestResult:
        return check.run(self)

    def _note_skip(self, result: TestResult, hooks: tuple[str, ...]) -> None:
        """Record a check skipped for want of one of ``hooks``."""
        provided = self.target.hook_names
        if result.outcome == SKIPPED and result.message == missing_hook_reason(hooks, provided):
            missing = next(hook for hook in hooks if hook not in provided)
            self.skipped_for_hook.setdefault(missing, []).append(result.id)

    def run_one(self, scenario: Scenario) -> TestResult:
        result = run_scenario(self.target, self.config, scenario, self.ledger)
        self._note_skip(result, scenario.hooks)
        if result.outcome != FAILED or result.failed_in is None:
            return result
        if scenario.id in BASIC:
            self.broken.setdefault(result.failed_in, scenario.id)
        elif result.failed_in in self.broken:
            result.caused_by = self.broken[result.failed_in]
            result.message = f"caused by earlier failure of {result.caused_by}: {result.message}"
        return result

    def others_untouched(self) -> TestResult:
        after = _snapshot(self.target)
        touched = [uuid for uuid, state in self._foreign_before.items() if after.get(uuid) != state]
        result = TestResult(id="list_instances.others-untouched", operation="list_instances", outcome=PASSED)
        if touched:
            result.outcome, result.rule, result.failed_in = FAILED, "never-touch-others", "list_instances"
            result.message = (
                "list_instances: instances that existed before the run changed or vanished: "
                f"{', '.join(touched)} [rule: never-touch-others]"
            )
        return result

    def no_leaks(self) -> TestResult:
        """Everything the kit created is gone from the hypervisor itself."""
        result = TestResult(id="destroy.no-leaks", operation="destroy", outcome=PASSED)
        reason = missing_hook_reason(("hypervisor_instances",), self.target.hook_names)
        if reason is not None:
            result.outcome, result.message = SKIPPED, reason
            self._note_skip(result, ("hypervisor_instances",))
            return result
        assert self.target.hooks is not None
        held = set(self.target.hooks.hypervisor_instances())
        hung = self.ledger.abandoned
        leaked = sorted((held & self.ledger.created) - hung)
        if leaked:
            result.outcome, result.rule, result.failed_in = FAILED, "no-leaks", "destroy"
            result.message = (
                f"destroy: the hypervisor still holds {len(leaked)} instance(s) the kit created and "
                f"destroyed: {', '.join(leaked)} [rule: no-leaks]"
            )
        elif hung:
            result.message = f"not checked: {len(hung)} instance(s) whose call was abandoned"
        return result

    def hooks_summary(self) -> dict[str, Any]:
        provided = sorted(self.target.hook_names)
        return {
            "provided": provided,
            "missing": [hook for hook in HOOKS if hook not in provided],
            "skipped_for_want_of_hook": dict(self.skipped_for_hook),
        }


def budget_overrides(config: KitConfig) -> dict[str, dict[str, float]]:
    return {
        name: {"spec": api.OPERATIONS[name].time_budget, "kit": float(seconds)}
        for name, seconds in sorted(config.budgets.items())
    }


def run_kit(
    config: KitConfig,
    target: Target | None = None,
    progress: Callable[[TestResult], None] | None = None,
) -> KitReport:
    """Run every check against the driver ``config`` describes."""
    if target is not None:
        config.validate_budgets()
    run = KitRun(config, target)
    started = time.monotonic()
    report = KitReport(
        kit_version=kit_version(),
        virt_api_version=api.VIRT_API_VERSION,
        mode=run.target.mode,
        target={},
        driver={},
        started_at=timeutils.utcnow().isoformat(),
        budget_overrides=budget_overrides(config),
    )

    def record(result: TestResult) -> None:
        report.tests.append(result)
        if progress is not None:
            progress(result)

    try:
        run.open()
    except Exception as error:
        record(
            TestResult(
                id="target.open",
                operation="(kit)",
                outcome=FAILED,
                message=f"cannot reach the driver: {error}",
            )
        )
        report.target = run.target.describe()
        report.duration_s = time.monotonic() - started
        return report
    try:
        info = run.target.driver_info
        report.target = run.target.describe()
        report.driver = {
            "name": info.driver_name,
            "version": info.driver_version,
            "hypervisor_type": info.hypervisor_type,
            "hypervisor_version": info.hypervisor_version,
            "virt_api": f"{info.virt_api_min}..{info.virt_api_max}",
            "capabilities": sorted(info.capabilities),
        }
        for check in run.checks():
            record(run.run_check(check))
        report.hooks = run.hooks_summary()
    finally:
        run.close()
        report.duration_s = time.monotonic() - started
    return report
