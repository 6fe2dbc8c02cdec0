"""Writes a kit report as JSON and JUnit XML."""

from __future__ import annotations

import json
import pathlib
import xml.etree.ElementTree as ET

from nova_contract_tests import coverage
from nova_contract_tests.runner import FAILED, SKIPPED, KitReport


def notes(report: KitReport) -> list[str]:
    """What a reader of the text report must know besides the results: widened
    time budgets, checks skipped for want of a test hook, untestable claims."""
    lines = [
        f"time budget of {name} replaced by the config: {entry['spec']:g}s in the spec, "
        f"{entry['kit']:g}s here"
        for name, entry in report.budget_overrides.items()
    ]
    if report.hooks:
        lines.append(
            f"driver test hooks: {', '.join(report.hooks['provided']) or 'none'} provided"
            + (f"; missing {', '.join(report.hooks['missing'])}" if report.hooks["missing"] else "")
        )
    for hook, ids in sorted(report.hooks.get("skipped_for_want_of_hook", {}).items()):
        shown = ", ".join(ids[:3]) + (", ..." if len(ids) > 3 else "")
        lines.append(f"skipped for want of the test hook {hook!r}: {len(ids)} checks ({shown})")
    lines += [f"not testable generically: {claim}: {reason}" for claim, reason in coverage.UNTESTABLE.items()]
    return lines


def write_json(report: KitReport, path: str | pathlib.Path) -> None:
    pathlib.Path(path).write_text(json.dumps(report.to_dict(), indent=2, sort_keys=False) + "\n")


def junit_xml(report: KitReport) -> str:
    summary = report.summary
    suite = ET.Element(
        "testsuite",
        name=f"nova-contract-tests.{report.driver.get('name', 'unknown')}.{report.mode}",
        tests=str(len(report.tests)),
        failures=str(report.failures),
        skipped=str(summary[SKIPPED]),
        errors="0",
        time=f"{report.duration_s:.3f}",
        timestamp=report.started_at,
    )
    for result in report.tests:
        case = ET.SubElement(
            suite, "testcase", classname=result.operation, name=result.id, time=f"{result.duration_s:.4f}"
        )
        if result.outcome == FAILED:
            ET.SubElement(case, "failure", message=result.message).text = result.message
        elif result.outcome == SKIPPED:
            ET.SubElement(case, "skipped", message=result.message)
    suites = ET.Element("testsuites")
    suites.append(suite)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True)


def write_junit(report: KitReport, path: str | pathlib.Path) -> None:
    pathlib.Path(path).write_text(junit_xml(report) + "\n")
