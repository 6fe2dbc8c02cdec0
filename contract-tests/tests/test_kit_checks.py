"""Time budgets, test hooks, tracking and claim coverage of the kit itself."""

import json

import pytest
from broken_drivers import RELEASE_HUNG
from oslo_config import cfg

from nova_common.messaging import conf as messaging_conf
from nova_common.messaging.transport import get_transport
from nova_common.scaffold import conf as scaffold_conf
from nova_common.scaffold.loader import load_driver_class
from nova_common.scaffold.service import ComputeService
from nova_common.virt import api
from nova_common.virt import exceptions as exc
from nova_contract_tests import coverage
from nova_contract_tests.cli import main
from nova_contract_tests.config import KitConfig
from nova_contract_tests.framework import SCENARIOS, ScenarioContext
from nova_contract_tests.report import notes
from nova_contract_tests.runner import run_kit
from nova_contract_tests.targets import InProcessTarget, load_driver


def test_every_spec_claim_has_a_scenario_or_a_reason():
    assert coverage.gaps() == {}
    assert coverage.unknown_claims() == []
    # Every reason names a claim the spec makes, so a stale entry shows.
    claims = {claim for op in api.OPERATIONS.values() for claim in coverage.spec_claims(op)}
    assert set(coverage.UNTESTABLE) <= claims


def test_a_missing_scenario_is_a_coverage_gap():
    without = [s for s in SCENARIOS if s.id not in ("power_on.from-crashed", "detach_volume.idempotent")]
    assert coverage.gaps(without) == {
        "power_on": ["power_on from crashed"],
        # detach-twice does not say it covers the claim; only the generated scenario does.
        "detach_volume": ["detach_volume is idempotent"],
    }
    assert coverage.gaps([s for s in SCENARIOS if s.operation != "snapshot"])["snapshot"] == [
        coverage.raises("snapshot", exc.InstanceNotFound),
        coverage.raises("snapshot", exc.InvalidRequest),
        coverage.raises("snapshot", exc.OperationFailed),
        coverage.raises("snapshot", exc.InvalidInstanceState),
        *[
            coverage.from_state("snapshot", s)
            for s in ("running", "paused", "shutdown", "suspended", "crashed")
        ],
    ]


def test_coverage_results_and_untestable_claims_are_in_the_report(tmp_path):
    path = tmp_path / "report.json"
    assert main(["run", "--driver", "fake", "-q", "--json-report", str(path)]) == 0
    report = json.loads(path.read_text())
    by_id = {t["id"]: t for t in report["tests"]}
    assert all(by_id[f"coverage.{name}"]["outcome"] == "passed" for name in api.OPERATIONS)
    assert report["untestable_claims"] == coverage.UNTESTABLE
    assert report["hooks"]["provided"] == ["crash", "fail_next", "hypervisor_instances", "set_power_state"]


@pytest.mark.parametrize(
    "budgets, message",
    [
        ({"paws": 3}, "budgets: 'paws' is not an operation of the virt API spec"),
        ({"pause": 0}, "budgets.pause: must be a positive number of seconds, got 0"),
        ({"pause": -1.5}, "budgets.pause: must be a positive number of seconds, got -1.5"),
        ({"pause": "ten"}, "budgets.pause: must be a positive number of seconds, got 'ten'"),
    ],
)
def test_budget_overrides_are_validated(budgets, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        KitConfig(driver="fake", budgets=budgets).validate()


def test_budget_override_replaces_the_spec_budget_and_keeps_the_timeout_argument():
    config = KitConfig(driver="fake", budgets={"power_off": 7})
    power_off = api.OPERATIONS["power_off"]
    assert config.budget_for(power_off, {"timeout": 5}) == 12
    assert config.budget_for(api.OPERATIONS["pause"], {}) == api.OPERATIONS["pause"].time_budget


def test_budget_overrides_are_shown_in_the_json_and_text_report(tmp_path, capsys):
    path = tmp_path / "report.json"
    argv = ["run", "--driver", "fake", "-q", "--operation", "pause", "--budget", "pause=25"]
    assert main([*argv, "--json-report", str(path)]) == 0
    assert json.loads(path.read_text())["time_budgets"]["overrides"] == {"pause": {"spec": 10.0, "kit": 25.0}}
    assert "time budget of pause replaced by the config: 10s in the spec, 25s here" in capsys.readouterr().out
    assert main(["run", "--driver", "fake", "-q", "--budget", "pause"]) == 2
    assert "--budget: 'pause' is not OPERATION=SECONDS" in capsys.readouterr().err


def test_every_spawn_through_the_context_is_destroyed_at_cleanup():
    config = KitConfig(driver="fake")
    target = InProcessTarget(config, driver=load_driver("fake", []))
    target.open()
    try:
        ctx = ScenarioContext(target, config, "direct-spawn")
        instance = ctx.new_instance()
        ctx.call("spawn", instance=instance, network_info=ctx.network_info())  # not ctx.spawn
        assert [i.uuid for i in target.driver.list_instances().objects] == [instance.uuid]
        assert ctx.cleanup() == []
        assert target.driver.list_instances().objects == []
        assert instance.uuid in ctx.ledger.created
    finally:
        target.close()


def test_driver_without_hooks_reports_what_was_skipped_for_want_of_them():
    class NoHooks(load_driver_class("fake")):
        def test_hooks(self):
            return None

    config = KitConfig(driver="fake")
    target = InProcessTarget(config, driver=NoHooks(load_driver("fake", []).conf))
    report = run_kit(config, target=target)
    assert report.ok
    skipped = report.hooks["skipped_for_want_of_hook"]
    assert set(skipped) == {"crash", "set_power_state", "hypervisor_instances", "fail_next"}
    assert "power_on.from-crashed" in skipped["crash"] and skipped["hypervisor_instances"] == [
        "destroy.no-leaks"
    ]
    text = notes(report)
    assert (
        "driver test hooks: none provided; missing crash, set_power_state, hypervisor_instances, fail_next"
        in text
    )
    assert any(line.startswith("skipped for want of the test hook 'crash': ") for line in text)
    by_id = {t.id: t for t in report.tests}
    assert by_id["power_on.from-crashed"].message == (
        "needs the driver test hook 'crash', which the driver does not provide"
    )


def _memory_service(host, driver="fake", hooks=True):
    conf = cfg.ConfigOpts()
    scaffold_conf.register_opts(conf)
    messaging_conf.register_opts(conf)
    driver_cls = load_driver_class(driver)
    driver_cls.register_opts(conf)
    conf(args=[], default_config_files=[])
    conf.set_override("host", host)
    conf.set_override("enable_test_hooks", hooks, group="compute")
    transport = get_transport(conf, "kombu+memory:////")
    return ComputeService(conf, driver_cls(conf), transport=transport), transport


def test_black_box_uses_the_hooks_the_service_serves():
    service, transport = _memory_service("kit-hooks-host")
    service.start()
    try:
        report = run_kit(KitConfig(transport_url="kombu+memory:////", host="kit-hooks-host"))
    finally:
        service.stop()
        transport.cleanup()
    by_id = {t.id: t for t in report.tests}
    assert report.ok, [t.message for t in report.tests if t.outcome == "failed"]
    assert report.hooks["provided"] == ["crash", "fail_next", "hypervisor_instances", "set_power_state"]
    for check in ("power_on.from-crashed", "snapshot.from-crashed", "destroy.no-leaks"):
        assert by_id[check].outcome == "passed", check
    assert by_id["get_info.reports-out-of-band-paused"].outcome == "passed"
    assert by_id["spawn.hypervisor-refusal-raises-operation-failed"].outcome == "passed"
    assert by_id["get_info.lifecycle-event-paused"].outcome == "skipped"
    assert "checked in process only" in by_id["get_info.lifecycle-event-paused"].message


def test_black_box_without_hooks_skips_their_checks():
    service, transport = _memory_service("kit-nohooks-host", hooks=False)
    service.start()
    try:
        report = run_kit(
            KitConfig(transport_url="kombu+memory:////", host="kit-nohooks-host", operations=["power_on"])
        )
    finally:
        service.stop()
        transport.cleanup()
    assert report.ok and report.hooks["provided"] == []
    assert report.hooks["skipped_for_want_of_hook"]["crash"] == ["power_on.from-crashed"]


def test_black_box_hung_call_ends_at_the_budget_and_the_kit_goes_on():
    RELEASE_HUNG.clear()
    service, transport = _memory_service("kit-hung-host", driver="broken_drivers:HungPauseDriver")
    service.start()
    try:
        report = run_kit(
            KitConfig(
                transport_url="kombu+memory:////",
                host="kit-hung-host",
                operations=["pause", "unpause"],
                budgets={"pause": 0.2},
                budget_grace=0.2,
            )
        )
    finally:
        RELEASE_HUNG.set()
        service.stop()
        transport.cleanup()
    by_id = {t.id: t for t in report.tests}
    message = by_id["pause.from-running"].message
    assert (
        message.startswith("pause: gave no answer within its time budget of 0.2s")
        and "[rule: time-budget]" in message
    )
    # Later scenarios on new instances still run: unpause from running needs no pause.
    assert by_id["unpause.from-running"].outcome == "passed"
