"""Capability gating, the reports, the matrix and the CLI."""

import json
import xml.etree.ElementTree as ET

import pytest

from nova_contract_tests import matrix
from nova_contract_tests.cli import main
from nova_contract_tests.config import KitConfig
from nova_contract_tests.framework import SCENARIOS
from nova_contract_tests.runner import coverage_gaps, run_kit


@pytest.fixture
def gated_config(tmp_path):
    path = tmp_path / "fake.conf"
    path.write_text("[fake]\ndisabled_capabilities = pause,volume_attach\n")
    return str(path)


def test_unadvertised_capability_skips_with_reason_and_answers_not_supported(gated_config):
    report = run_kit(KitConfig(driver="fake", config_files=[gated_config]))
    assert report.ok
    by_id = {t.id: t for t in report.tests}
    assert by_id["pause.from-running"].outcome == "skipped"
    assert "capability 'pause' is not advertised" in by_id["pause.from-running"].message
    assert by_id["destroy.from-paused"].outcome == "skipped"
    for op in ("pause", "unpause", "attach_volume", "detach_volume"):
        assert by_id[f"{op}.not-advertised-answers-not-supported"].outcome == "passed"
    grades = report.to_dict()["operations"]
    assert grades["pause"]["status"] == "missing" and grades["spawn"]["status"] == "complete"


def test_coverage_gap_is_reported():
    without_snapshot = [s for s in SCENARIOS if s.operation != "snapshot"]
    assert coverage_gaps(without_snapshot) == ["snapshot"]


def test_cli_writes_json_junit_and_matrix(tmp_path, gated_config, capsys):
    paths = {name: tmp_path / name for name in ("full.json", "gated.json", "junit.xml", "m.md", "m.html")}
    assert (
        main(
            [
                "run",
                "--driver",
                "fake",
                "-q",
                "--json-report",
                str(paths["full.json"]),
                "--junit",
                str(paths["junit.xml"]),
                "--matrix",
                str(paths["m.html"]),
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "run",
                "--driver",
                "fake",
                "-q",
                "--config-file",
                gated_config,
                "--json-report",
                str(paths["gated.json"]),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "passed, 0 failed" in out

    report = json.loads(paths["full.json"].read_text())
    assert set(report["summary"]) == {"passed", "failed", "caused_by_earlier_failure", "skipped"}
    assert report["summary"]["failed"] == 0
    first = report["tests"][0]
    assert {"id", "operation", "outcome", "message"} <= set(first)

    suite = ET.parse(paths["junit.xml"]).getroot().find("testsuite")
    assert int(suite.get("tests")) == len(report["tests"])
    assert int(suite.get("skipped")) == report["summary"]["skipped"]

    assert main(["matrix", str(paths["full.json"]), str(paths["gated.json"]), "-o", str(paths["m.md"])]) == 0
    table = paths["m.md"].read_text()
    pause_row = next(line for line in table.splitlines() if line.startswith("| pause |"))
    assert pause_row == "| pause | pause | complete | missing |"
    assert "capability 'pause' not advertised" in table
    assert "<table>" in paths["m.html"].read_text()


def test_cli_fails_for_a_broken_driver_and_for_bad_arguments(capsys):
    assert main(["run", "--driver", "broken_drivers:LeakyDriver", "-q"]) == 1
    assert main(["run", "--transport-url", "kombu+memory:////"]) == 2
    assert "host: black-box mode needs the compute host name" in capsys.readouterr().err


def test_matrix_refuses_unknown_suffix(tmp_path):
    with pytest.raises(ValueError, match="must end in .md or .html"):
        matrix.write_matrix([], tmp_path / "m.txt")


def test_config_validation_names_the_field():
    with pytest.raises(ValueError, match="flavor_memory_mb: must be a positive integer, got 0"):
        KitConfig(driver="fake", flavor_memory_mb=0).validate()


def test_a_driver_newer_than_the_kit_may_advertise_capabilities_the_kit_does_not_know():
    """Forward compatibility: a minor virt API release adds capabilities, and a
    kit of the older release must not fail the newer driver for them."""
    from nova_common.virt import api
    from nova_contract_tests.framework import SCENARIOS, ScenarioContext
    from nova_contract_tests.targets import InProcessTarget

    major, minor = api.parse_version(api.VIRT_API_VERSION)
    newer = f"{major}.{minor + 1}"
    scenario = next(s for s in SCENARIOS if s.id == "get_driver_info.describes-driver")
    for virt_api_max, expect_violation in ((newer, False), (api.VIRT_API_VERSION, True)):
        target = InProcessTarget(KitConfig(driver="fake"))
        target.open()
        original = target.call

        def call(operation, /, _original=original, _max=virt_api_max, **kwargs):
            result = _original(operation, **kwargs)
            if operation == "get_driver_info":
                result.virt_api_max = _max
                result.capabilities = [*result.capabilities, "teleport"]
            return result

        target.call = call
        try:
            ctx = ScenarioContext(target, target.config, scenario.id)
            if expect_violation:
                with pytest.raises(AssertionError, match="known-capabilities"):
                    scenario.func(ctx)
            else:
                scenario.func(ctx)
        finally:
            target.close()


def test_a_report_of_an_older_virt_api_renders_its_unknown_operations_as_such():
    """A kept report (or one of an older driver release) has no grade for a newer operation."""
    report = run_kit(KitConfig(driver="fake")).to_dict()
    report["operations"].pop("get_diagnostics")
    text = matrix.render_markdown([report])
    assert "| get_diagnostics | diagnostics | not in this report's virt API |" in text
    assert "not in this report's virt API" in matrix.render_html([report])
