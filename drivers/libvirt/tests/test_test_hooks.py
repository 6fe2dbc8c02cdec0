"""The libvirt driver's test hooks act on libvirt itself, as a crashing guest or an admin would."""

import time

import libvirt
import pytest
from libvirt_test_support import foreign_domain_xml, make_driver, make_instance, no_network

from nova_common.objects.fields import LifecycleTransition, PowerState
from nova_common.virt import api
from nova_common.virt import exceptions as exc
from nova_driver_libvirt import states
from nova_driver_libvirt.test_hooks import REFUSABLE


@pytest.fixture
def events():
    return []


@pytest.fixture
def drv(host, events):
    driver = make_driver()
    driver.set_event_handler(events.append)
    yield driver
    for info in driver.list_instances().objects:
        driver.destroy(make_instance(uuid=info.uuid))
    driver.stop()


def spawned(driver):
    instance = make_instance()
    driver.spawn(instance, no_network())
    return instance


def events_of(events, instance, count, timeout=5.0):
    deadline = time.monotonic() + timeout
    while (
        time.monotonic() < deadline and len([e for e in events if e.instance_uuid == instance.uuid]) < count
    ):
        time.sleep(0.02)
    time.sleep(0.1)  # and nothing more after that
    return [e.transition for e in events if e.instance_uuid == instance.uuid]


def test_crash_is_reported_as_libvirt_reports_a_crash(drv, host, events):
    instance = spawned(drv)
    drv.test_hooks().crash(instance.uuid)
    state, reason = host.lookupByUUIDString(instance.uuid).state(0)
    assert (state, reason) == (libvirt.VIR_DOMAIN_SHUTOFF, libvirt.VIR_DOMAIN_SHUTOFF_CRASHED)
    assert drv.get_info(instance).power_state == PowerState.CRASHED
    assert events_of(events, instance, 2) == [LifecycleTransition.STARTED, LifecycleTransition.CRASHED]


def test_power_off_of_a_crashed_instance_ends_shutdown_and_power_on_running(drv):
    first, second = spawned(drv), spawned(drv)
    for instance in (first, second):
        drv.test_hooks().crash(instance.uuid)
    drv.power_off(first)
    assert drv.get_info(first).power_state == PowerState.SHUTDOWN
    drv.power_on(second)
    assert drv.get_info(second).power_state == PowerState.RUNNING


def test_shutoff_reason_crashed_maps_to_crashed():
    assert states.power_state(libvirt.VIR_DOMAIN_SHUTOFF, False, libvirt.VIR_DOMAIN_SHUTOFF_CRASHED) == (
        PowerState.CRASHED
    )
    assert states.power_state(libvirt.VIR_DOMAIN_SHUTOFF, False, libvirt.VIR_DOMAIN_SHUTOFF_DESTROYED) == (
        PowerState.SHUTDOWN
    )


@pytest.mark.parametrize(
    "state, expected_event",
    [
        (PowerState.SHUTDOWN, LifecycleTransition.STOPPED),
        (PowerState.PAUSED, LifecycleTransition.PAUSED),
        (PowerState.SUSPENDED, LifecycleTransition.SUSPENDED),
    ],
)
def test_set_power_state_behind_the_drivers_back(drv, events, state, expected_event):
    instance = spawned(drv)
    drv.test_hooks().set_power_state(instance.uuid, state)
    assert drv.get_info(instance).power_state == state
    assert events_of(events, instance, 2) == [LifecycleTransition.STARTED, expected_event]
    drv.test_hooks().set_power_state(instance.uuid, PowerState.RUNNING)
    assert drv.get_info(instance).power_state == PowerState.RUNNING


def test_hypervisor_instances_include_what_the_driver_forgot_and_nothing_foreign(drv, host):
    instance = spawned(drv)
    stranger = host.defineXML(foreign_domain_xml())
    try:
        drv._forget(instance.uuid)  # the ownership cache loses it; libvirt still holds it
        held = drv.test_hooks().hypervisor_instances()
        assert instance.uuid in held
        assert stranger.UUIDString() not in held
        assert all(host.lookupByUUIDString(u).name() != "test" for u in held)
    finally:
        stranger.undefine()


def test_hooks_never_touch_foreign_domains(drv, host):
    stranger = host.defineXML(foreign_domain_xml())
    try:
        with pytest.raises(exc.InstanceNotFound):
            drv.test_hooks().crash(stranger.UUIDString())
        assert stranger.state(0)[0] == libvirt.VIR_DOMAIN_SHUTOFF
    finally:
        stranger.undefine()


def test_every_hook_is_provided(drv):
    assert drv.test_hooks().provided() == {"crash", "set_power_state", "hypervisor_instances", "fail_next"}


def test_fail_next_knows_the_libvirt_call_of_every_operation_declaring_operation_failed():
    declaring = {op.name for op in api.OPERATIONS.values() if exc.OperationFailed in op.declared_errors}
    assert set(REFUSABLE) == declaring


def test_fail_next_makes_libvirt_refuse_one_call_and_spawn_leaves_nothing(drv):
    hooks = drv.test_hooks()
    hooks.fail_next("spawn")
    instance = make_instance()
    with pytest.raises(exc.OperationFailed, match="fail_next test hook"):
        drv.spawn(instance, no_network())
    assert instance.uuid not in hooks.hypervisor_instances()
    drv.spawn(instance, no_network())  # only the next call was refused
    assert drv.get_info(instance).power_state == PowerState.RUNNING
    with pytest.raises(exc.InvalidRequest, match="operation"):
        hooks.fail_next("get_info")
