"""Runs the scenarios against one target and collects a report."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

from oslo_utils import timeutils

from nova_common import objects
from nova_common.virt import api, report_api
from nova_common.virt import exceptions as exc
from nova_contract_tests import scenarios as _scenarios  # noqa: F401  (registers them)
from nova_contract_tests.config import KitConfig
from nova_contract_tests.framework import (
    SCENARIOS,
    ContractViolation,
    Scenario,
    ScenarioContext,
    SkipScenario,
)
from nova_contract_tests.targets import Target, make_target

PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"


@dataclasses.dataclass
class TestResult:
    id: str
    operation: str
    outcome: str
    message: str = ""
    duration_s: float = 0.0
    capabilities: list[str] = dataclasses.field(default_factory=list)


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

    @property
    def summary(self) -> dict[str, int]:
        counts = {PASSED: 0, FAILED: 0, SKIPPED: 0}
        for result in self.tests:
            counts[result.outcome] += 1
        return counts

    @property
    def ok(self) -> bool:
        return self.summary[FAILED] == 0 and bool(self.tests)

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
    if not config.operations:
        return list(SCENARIOS)
    known = set(api.OPERATIONS) | {f"report.{name}" for name in report_api.COMPUTE_REPORT}
    unknown = set(config.operations) - known
    if unknown:
        raise ValueError(f"operations: {sorted(unknown)} are not in the virt API or compute-report API spec")
    return [s for s in SCENARIOS if s.operation in config.operations]


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


def run_scenario(target: Target, config: KitConfig, scenario: Scenario) -> TestResult:
    """Run one scenario, always cleaning up what it created."""
    result = TestResult(
        id=scenario.id, operation=scenario.operation, outcome=PASSED, capabilities=list(scenario.capabilities)
    )
    reason = scenario.skip_reason(frozenset(target.driver_info.capabilities))
    if reason is not None:
        result.outcome, result.message = SKIPPED, reason
        return result
    ctx = ScenarioContext(target, config, scenario.id)
    started = time.monotonic()
    try:
        scenario.func(ctx)
    except ContractViolation as violation:
        result.outcome, result.message = FAILED, str(violation)
    except SkipScenario as skip:
        result.outcome, result.message = SKIPPED, str(skip)
    except exc.VirtError as error:
        result.outcome = FAILED
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


def run_kit(
    config: KitConfig,
    target: Target | None = None,
    progress: Callable[[TestResult], None] | None = None,
) -> KitReport:
    """Run every selected scenario against the driver ``config`` describes."""
    target = target or make_target(config)
    started = time.monotonic()
    report = KitReport(
        kit_version=kit_version(),
        virt_api_version=api.VIRT_API_VERSION,
        mode=target.mode,
        target={},
        driver={},
        started_at=timeutils.utcnow().isoformat(),
    )

    def record(result: TestResult) -> None:
        report.tests.append(result)
        if progress is not None:
            progress(result)

    try:
        target.open()
    except Exception as error:
        record(
            TestResult(
                id="target.open",
                operation="(kit)",
                outcome=FAILED,
                message=f"cannot reach the driver: {error}",
            )
        )
        report.target = target.describe()
        report.duration_s = time.monotonic() - started
        return report
    try:
        info = target.driver_info
        report.target = target.describe()
        report.driver = {
            "name": info.driver_name,
            "version": info.driver_version,
            "hypervisor_type": info.hypervisor_type,
            "hypervisor_version": info.hypervisor_version,
            "virt_api": f"{info.virt_api_min}..{info.virt_api_max}",
            "capabilities": sorted(info.capabilities),
        }
        for gap in coverage_gaps():
            record(
                TestResult(
                    id=f"{gap}.coverage",
                    operation=gap,
                    outcome=FAILED,
                    message=f"{gap}: the kit has no scenario for this spec operation [rule: kit-coverage]",
                )
            )
        for name, why in COVERAGE_EXEMPT.items():
            record(TestResult(id=f"{name}.coverage", operation=name, outcome=SKIPPED, message=why))
        for result in object_round_trips() + object_fingerprints():
            record(result)
        foreign_before = _snapshot(target)
        for scenario in select(config):
            record(run_scenario(target, config, scenario))
        foreign_after = _snapshot(target)
        touched = [uuid for uuid, state in foreign_before.items() if foreign_after.get(uuid) != state]
        record(
            TestResult(
                id="list_instances.others-untouched",
                operation="list_instances",
                outcome=FAILED if touched else PASSED,
                message=(
                    f"list_instances: instances that existed before the run changed or vanished: "
                    f"{', '.join(touched)} [rule: never-touch-others]"
                    if touched
                    else ""
                ),
            )
        )
    finally:
        target.close()
        report.duration_s = time.monotonic() - started
    return report
