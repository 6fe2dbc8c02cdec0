"""The driver author's guide is generated from the spec and the kit, and kept current."""

import pathlib

import pytest

from nova_common import objects
from nova_common.virt import api
from nova_contract_tests import cli, framework, guide, rule_index

GUIDE = pathlib.Path(__file__).resolve().parents[2] / guide.GUIDE_PATH


@pytest.fixture(scope="module")
def rendered():
    return guide.render()


def test_the_guide_in_the_repository_is_current(rendered):
    if not GUIDE.parent.parent.joinpath("nova-common").is_dir():
        pytest.skip("published on its own: the guide lives in the platform repository's docs/")
    assert GUIDE.exists(), f"{guide.GUIDE_PATH} is missing: run `{guide.REGENERATE}`"
    assert GUIDE.read_text() == rendered, f"{guide.GUIDE_PATH} is stale: run `{guide.REGENERATE}`"


def test_rendering_twice_gives_the_same_text(rendered):
    assert guide.render() == rendered


def test_every_operation_has_its_section_with_every_scenario_that_checks_it(rendered):
    for op in api.OPERATIONS.values():
        section = rendered.split(f"\n### {op.name}\n", 1)[1].split("\n### ", 1)[0]
        assert f"| Time budget | {op.time_budget:g} s" in section
        assert f"| RPC timeout | {op.rpc_timeout:g} s |" in section
        assert f"| Idempotent | {'yes' if op.idempotent else 'no'} |" in section
        for scenario in framework.SCENARIOS:
            if scenario.operation == op.name:
                assert f"`{scenario.id}`" in section, f"{scenario.id} missing from the {op.name} section"


def test_every_field_of_the_reported_objects_is_explained(rendered):
    for cls in (objects.InstanceInfo, objects.HostResources):
        for name in cls.fields:
            assert f"| `{name}` |" in rendered


def test_a_field_without_a_meaning_fails_naming_it(monkeypatch):
    meanings = dict(guide.FIELD_MEANINGS[objects.InstanceInfo])
    del meanings["cpu_time_ns"]
    monkeypatch.setitem(guide.FIELD_MEANINGS, objects.InstanceInfo, meanings)
    with pytest.raises(
        ValueError, match=r"FIELD_MEANINGS\[InstanceInfo\]: no meaning for field\(s\) cpu_time_ns"
    ):
        guide.render()


def _a_refused_transition_scenario():
    """A generated scenario calling an operation from a state it refuses."""
    for op in api.OPERATIONS.values():
        if op.transition is None:
            continue
        for state in framework.REACHABLE_STATES:
            if state in op.transition.forbidden_from:
                return next(s for s in framework.SCENARIOS if s.id == f"{op.name}.from-{state}")
    raise AssertionError("the spec has no refused transition the kit can reach")


def test_rules_come_from_the_kit_code():
    rules = rule_index.known_rules()
    assert {"errors-declared-by-operation", "state-precondition", "kit-coverage"} <= set(rules)
    refused = _a_refused_transition_scenario()
    found = rule_index.rules_of(refused.func, rules)
    assert "state-precondition" in found
    # a helper's rules count for the scenario that uses it (bring_to -> expect_state)
    assert "power-state-after-transition" in found
    shared = rule_index.shared_rules(rules)
    assert "errors-declared-by-operation" in shared["call"]
    assert "destroy-removes-instance" in shared["cleanup"]


def test_a_rule_is_found_in_each_way_the_kit_reports_one(tmp_path):
    module = tmp_path / "scenario.py"
    module.write_text(
        "raise ContractViolation('spawn', 'rule-one', 'detail')\n"
        "ctx.expect_error(exc.InstanceNotFound, 'get_info', 'rule-two', instance=i)\n"
        "message = f'{op}: went wrong [rule: rule-three]'\n"
        "ContractViolation(op, rule_variable, 'not a literal')\n"
    )
    assert rule_index._rules_in_source(module) == {"rule-one", "rule-two", "rule-three"}


def test_argument_domains_are_described():
    assert guide.describe_constraint(api.OneOf(("soft", "hard"))) == "one of `soft`, `hard`"
    assert guide.describe_constraint(api.AtLeast(0)) == "at least 0"


def test_cli_writes_and_checks_the_guide(tmp_path, capsys):
    target = tmp_path / "guide.md"
    assert cli.main(["guide", "--output", str(target)]) == 0
    assert target.read_text() == guide.render()
    assert cli.main(["guide", "--check", str(target)]) == 0
    target.write_text(target.read_text().replace("## Running the kit", "## Running"))
    assert cli.main(["guide", "--check", str(target)]) == 1
    assert f"is stale: run `{guide.REGENERATE}`" in capsys.readouterr().err
    assert cli.main(["guide", "--check", str(tmp_path / "absent.md")]) == 2
