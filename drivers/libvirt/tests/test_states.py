"""The documented mapping from libvirt domain states to contract power states."""

import libvirt
import pytest

from nova_common.objects.fields import LifecycleTransition, PowerState
from nova_driver_libvirt import states

TABLE = [
    (libvirt.VIR_DOMAIN_NOSTATE, False, PowerState.NOSTATE),
    (libvirt.VIR_DOMAIN_RUNNING, False, PowerState.RUNNING),
    (libvirt.VIR_DOMAIN_BLOCKED, False, PowerState.RUNNING),
    (libvirt.VIR_DOMAIN_PAUSED, False, PowerState.PAUSED),
    (libvirt.VIR_DOMAIN_SHUTDOWN, False, PowerState.SHUTDOWN),
    (libvirt.VIR_DOMAIN_SHUTOFF, False, PowerState.SHUTDOWN),
    (libvirt.VIR_DOMAIN_SHUTOFF, True, PowerState.SUSPENDED),
    (libvirt.VIR_DOMAIN_CRASHED, False, PowerState.CRASHED),
    (libvirt.VIR_DOMAIN_PMSUSPENDED, False, PowerState.SUSPENDED),
    (99, False, PowerState.NOSTATE),
]


@pytest.mark.parametrize("state,saved,expected", TABLE)
def test_power_state_mapping(state, saved, expected):
    assert states.power_state(state, saved) == expected


def test_managed_save_matters_only_when_shut_off():
    for state in (libvirt.VIR_DOMAIN_RUNNING, libvirt.VIR_DOMAIN_PAUSED, libvirt.VIR_DOMAIN_CRASHED):
        assert states.power_state(state, True) == states.power_state(state, False)


def test_managed_save_check_only_for_saved_or_unknown_shutoff():
    assert states.needs_managed_save_check(libvirt.VIR_DOMAIN_SHUTOFF, libvirt.VIR_DOMAIN_SHUTOFF_SAVED)
    assert states.needs_managed_save_check(libvirt.VIR_DOMAIN_SHUTOFF, libvirt.VIR_DOMAIN_SHUTOFF_UNKNOWN)
    assert not states.needs_managed_save_check(
        libvirt.VIR_DOMAIN_SHUTOFF, libvirt.VIR_DOMAIN_SHUTOFF_DESTROYED
    )
    assert not states.needs_managed_save_check(libvirt.VIR_DOMAIN_RUNNING, libvirt.VIR_DOMAIN_SHUTOFF_SAVED)


def test_every_mapped_value_is_a_contract_power_state():
    for state in range(0, 8):
        assert states.power_state(state) in PowerState.ALL


def test_the_table_is_documented_in_the_module_and_readme():
    import pathlib

    readme = (pathlib.Path(__file__).resolve().parent.parent / "README.md").read_text()
    for name in ("NOSTATE", "RUNNING", "BLOCKED", "PAUSED", "SHUTDOWN", "SHUTOFF", "CRASHED", "PMSUSPENDED"):
        assert f"VIR_DOMAIN_{name}" in states.__doc__
        assert f"VIR_DOMAIN_{name}" in readme


EVENTS = [
    (libvirt.VIR_DOMAIN_EVENT_STARTED, libvirt.VIR_DOMAIN_EVENT_STARTED_BOOTED, LifecycleTransition.STARTED),
    (
        libvirt.VIR_DOMAIN_EVENT_STARTED,
        libvirt.VIR_DOMAIN_EVENT_STARTED_RESTORED,
        LifecycleTransition.RESUMED,
    ),
    (libvirt.VIR_DOMAIN_EVENT_SUSPENDED, 0, LifecycleTransition.PAUSED),
    (libvirt.VIR_DOMAIN_EVENT_RESUMED, 0, LifecycleTransition.RESUMED),
    (
        libvirt.VIR_DOMAIN_EVENT_STOPPED,
        libvirt.VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN,
        LifecycleTransition.STOPPED,
    ),
    (libvirt.VIR_DOMAIN_EVENT_STOPPED, libvirt.VIR_DOMAIN_EVENT_STOPPED_SAVED, LifecycleTransition.SUSPENDED),
    (libvirt.VIR_DOMAIN_EVENT_STOPPED, libvirt.VIR_DOMAIN_EVENT_STOPPED_CRASHED, LifecycleTransition.CRASHED),
    (libvirt.VIR_DOMAIN_EVENT_CRASHED, 0, LifecycleTransition.CRASHED),
    (libvirt.VIR_DOMAIN_EVENT_PMSUSPENDED, 0, LifecycleTransition.SUSPENDED),
    (libvirt.VIR_DOMAIN_EVENT_DEFINED, 0, None),
    (libvirt.VIR_DOMAIN_EVENT_UNDEFINED, 0, None),
]


@pytest.mark.parametrize("event,detail,expected", EVENTS)
def test_lifecycle_event_mapping(event, detail, expected):
    assert states.lifecycle_transition(event, detail) == expected
