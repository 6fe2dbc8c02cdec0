"""Rescheduling, a host going down, out-of-band power changes, restart reconciliation."""

import time

import pytest
from core_helpers import wait_for

from nova_common.compute import exceptions as core_exc
from nova_common.virt import exceptions as virt_exc
from nova_driver_fake import FakeDriver


def test_failed_spawn_is_rescheduled_to_another_host(make_cloud):
    # The two failing hosts have the most free RAM, so the weigher tries them first.
    bigger = {"fail_spawn": True, "memory_mb": 1_000_000}
    cloud = make_cloud(hosts=10, per_host={0: bigger, 1: bigger}, **{"scheduler.max_attempts": 3})
    vm = cloud.api.create("retry-me", flavor="m1.small")
    assert vm["vm_state"] == "active"
    assert vm["host"] not in cloud.host_names[:2]
    row = cloud.instance_row(vm["uuid"])
    assert row["attempts"] == 3 and set(row["tried_hosts"][:2]) == set(cloud.host_names[:2])
    faults = cloud.api.faults(vm["uuid"])
    assert len(faults) == 2 and all("fail_spawn" in f["message"] for f in faults)


class RefusesBangs(FakeDriver):
    """A hypervisor that cannot take a '!' in a name (as libvirt refuses C1 controls)."""

    def spawn(self, instance, network_info):
        if "!" in instance.display_name:
            raise virt_exc.InvalidRequest(
                field="display_name", value=instance.display_name, reason="'!' is not allowed here"
            )
        return super().spawn(instance, network_info)


def test_a_spawn_the_driver_refuses_is_not_rescheduled_and_its_reason_is_the_fault(make_cloud):
    cloud = make_cloud(hosts=3, driver_classes={i: RefusesBangs for i in range(3)})
    with pytest.raises(core_exc.OperationFailed, match="is not allowed here"):
        cloud.api.create("bang!", flavor="m1.small")
    [vm] = cloud.api.list()
    shown = cloud.api.show(vm["uuid"])
    assert (shown["vm_state"], shown["host"]) == ("error", None)
    assert "'!' is not allowed here" in shown["fault"]["message"], shown["fault"]
    assert "No valid host" not in shown["fault"]["message"]
    assert cloud.instance_row(vm["uuid"])["attempts"] == 1  # not tried on every host


def test_spawn_failing_everywhere_ends_in_error_with_a_fault(make_cloud):
    cloud = make_cloud(hosts=3, fake={"fail_spawn": True}, **{"scheduler.max_attempts": 2})
    with pytest.raises(core_exc.OperationFailed, match="Exceeded maximum number of attempts"):
        cloud.api.create("doomed", flavor="m1.small")
    [vm] = cloud.api.list()
    shown = cloud.api.show(vm["uuid"])
    assert (shown["vm_state"], shown["task_state"], shown["host"]) == ("error", None, None)
    assert "Exceeded maximum number of attempts (2)" in shown["fault"]["message"]
    assert "fail_spawn" in shown["fault"]["message"]
    assert len(shown["tried_hosts"]) == 2
    # An instance in ERROR can be deleted.
    cloud.api.delete(vm["uuid"])
    assert cloud.api.list() == []


def test_host_down_when_heartbeats_stop(cloud):
    vm = cloud.api.create("on-a-host", flavor="m1.small")
    host = vm["host"]
    cloud.computes.pop(host).stop()
    wait_for(lambda: [s for s in cloud.api.services() if s["host"] == host][0]["state"] == "down", timeout=10)
    with pytest.raises(core_exc.HostDown, match=f"host {host} is down"):
        cloud.api.stop(vm["uuid"])
    assert cloud.api.show(vm["uuid"])["task_state"] is None
    # New instances avoid the down host.
    for n in range(5):
        assert cloud.api.create(f"n{n}", flavor="m1.small")["host"] != host
    # Delete still works (locally, saying so).
    cloud.api.delete(vm["uuid"])
    delete = [a for a in cloud.db.list_actions(vm["uuid"]) if a["action"] == "delete"][0]
    assert "local delete" in delete["message"]


def test_out_of_band_change_from_lifecycle_event(cloud):
    vm = cloud.api.create("guest", flavor="m1.small")
    cloud.driver(vm["host"]).set_power_state_out_of_band(vm["uuid"], "shutdown")
    wait_for(lambda: cloud.api.show(vm["uuid"])["vm_state"] == "stopped")
    assert cloud.api.show(vm["uuid"])["power_state"] == "shutdown"
    actions = cloud.api.actions(vm["uuid"])
    assert actions[-1]["action"] == "lifecycle_event" and "active -> stopped" in actions[-1]["message"]
    assert cloud.api.start(vm["uuid"])["vm_state"] == "active"


def test_power_state_sync_picks_up_silent_changes(cloud):
    vms = [cloud.api.create(f"s{n}", flavor="m1.tiny") for n in range(3)]
    # Changed behind the core's back without any event.
    cloud.driver(vms[0]["host"])._instances[vms[0]["uuid"]].power_state = "paused"
    cloud.driver(vms[1]["host"])._instances[vms[1]["uuid"]].power_state = "crashed"
    cloud.driver(vms[2]["host"])._instances.pop(vms[2]["uuid"])
    calls = []
    for host in cloud.host_names:
        driver = cloud.driver(host)
        original = driver.list_instances
        driver.list_instances = lambda original=original, host=host: calls.append(host) or original()
        driver.get_info = lambda *a, **k: pytest.fail("the sync must not call get_info")
    counts = cloud.manager.sync_power_states()
    assert counts == {"hosts": 10, "changed": 2, "missing": 1, "failed": 0, "unknown": 0}
    assert sorted(calls) == sorted(cloud.host_names)  # one bulk call per host
    assert cloud.api.show(vms[0]["uuid"])["vm_state"] == "paused"
    assert (cloud.api.show(vms[1]["uuid"])["vm_state"], cloud.api.show(vms[1]["uuid"])["power_state"]) == (
        "stopped",
        "crashed",
    )
    gone = cloud.api.show(vms[2]["uuid"])
    assert gone["vm_state"] == "error" and "gone from host" in gone["fault"]["message"]
    assert cloud.api.actions(vms[0]["uuid"])[-1]["action"] == "power_sync"
    assert cloud.manager.sync_power_states()["changed"] == 0


def test_restart_takes_over_what_the_previous_conductor_left_in_flight(cloud):
    running = cloud.api.create("was-stopping", flavor="m1.tiny")
    building = cloud.api.create("was-building", flavor="m1.tiny")
    lost = cloud.api.create("never-spawned", flavor="m1.tiny")
    deleting = cloud.api.create("was-deleting", flavor="m1.tiny")
    virt = {
        vm["uuid"]: cloud.manager._virt_instance(cloud.db.get_instance(vm["uuid"])) for vm in (running, lost)
    }
    cloud.stop_conductor()
    # The old conductor died with these operations in flight.
    db = cloud.db
    cloud.driver(running["host"]).power_off(virt[running["uuid"]])
    db.cas_instance(running["uuid"], None, None, {"task_state": "powering-off"})
    db.start_action(running["uuid"], "stop", "req-stop")
    db.cas_instance(building["uuid"], None, None, {"vm_state": "building", "task_state": "spawning"})
    cloud.driver(lost["host"]).destroy(virt[lost["uuid"]])
    db.cas_instance(lost["uuid"], None, None, {"vm_state": "building", "task_state": "spawning"})
    db.cas_instance(deleting["uuid"], None, None, {"task_state": "deleting"})

    conductor = cloud.start_conductor()
    assert conductor.reconciled.wait(15)
    assert conductor.last_reconcile == {"active": 1, "resumed": 1, "deleted": 1, "settled": 1, "skipped": 0}
    stopped = cloud.api.show(running["uuid"])
    assert (stopped["vm_state"], stopped["task_state"], stopped["power_state"]) == (
        "stopped",
        None,
        "shutdown",
    )
    assert cloud.db.get_action(running["uuid"], "req-stop")["finish_time"] is not None
    assert cloud.api.show(building["uuid"])["vm_state"] == "active"
    # The build the old conductor never finished goes on: spawned again, not failed.
    resumed = wait_for(lambda: (vm := cloud.api.show(lost["uuid"]))["vm_state"] != "building" and vm)
    assert (resumed["vm_state"], resumed["host"]) == ("active", lost["host"])
    assert lost["uuid"] in cloud.driver(lost["host"])._instances
    with pytest.raises(core_exc.NotFound):
        cloud.api.show(deleting["uuid"])
    assert deleting["uuid"] not in cloud.driver(deleting["host"])._instances


def test_a_build_on_a_host_marked_down_is_rescheduled_at_once(make_cloud):
    # Host 0 has the most free RAM (tried first) and spawns for 12 s; its heartbeats stop
    # once the spawn is under way, as when its compute service dies mid-spawn.
    slow = {"spawn_latency": 12.0, "memory_mb": 1_000_000}
    cloud = make_cloud(hosts=2, per_host={0: slow}, **{"conductor.service_down_time": 1.5})
    dying = cloud.host_names[0]
    service = cloud.computes[dying]
    original = service.driver.spawn

    def spawn_then_go_silent(instance, network_info):
        service.reporter.heartbeat = lambda **kwargs: None
        return original(instance, network_info)

    service.driver.spawn = spawn_then_go_silent
    started = time.monotonic()
    vm = cloud.api.create("survivor", flavor="m1.tiny")
    elapsed = time.monotonic() - started
    assert vm["vm_state"] == "active" and vm["host"] == cloud.host_names[1]
    assert elapsed < 12, f"waited {elapsed:.0f} s: the spawn's end, not the host's liveness"
    faults = cloud.api.faults(vm["uuid"])
    assert any(dying in f["message"] and "marked down" in f["message"] for f in faults), faults


def test_a_conductor_that_hears_its_own_probes_is_not_deaf(make_cloud):
    cloud = make_cloud(hosts=1, **{"conductor.service_down_time": 1.5})
    time.sleep(3 * cloud.manager.deaf_after)
    assert not cloud.manager.deaf
    assert cloud.manager.stats["deaf_periods"] == 0


def test_silence_while_the_conductor_is_deaf_is_not_counted_against_hosts(make_cloud, monkeypatch):
    """The broker away: no probe and no heartbeat arrives. The hosts are not declared
    down for it; once the conductor hears again, their silence counts from there."""
    cloud = make_cloud(hosts=2, **{"conductor.service_down_time": 1.5})
    manager = cloud.manager
    silent = cloud.host_names[0]
    # What an outage looks like from inside: probes do not come back, nor heartbeats.
    monkeypatch.setattr(manager, "heard_self", lambda: None)
    cloud.computes[silent].reporter.heartbeat = lambda **kwargs: None
    wait_for(lambda: manager.deaf, timeout=5)
    time.sleep(2 * manager.down_time)
    assert silent in manager.up_hosts(), "declared down while the conductor could not hear"
    monkeypatch.undo()
    wait_for(lambda: not manager.deaf, timeout=5)
    assert manager.is_up(cloud.host_names[1])
    # The silent host's silence now counts: down within service_down_time.
    wait_for(lambda: not manager.is_up(silent), timeout=2 * manager.down_time)
    assert manager.is_up(cloud.host_names[1])
