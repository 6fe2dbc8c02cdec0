"""How libvirt domain states map to the contract's power states.

===========================  ==========================  ==========================================
libvirt state                contract PowerState         note
===========================  ==========================  ==========================================
VIR_DOMAIN_NOSTATE (0)       ``nostate``
VIR_DOMAIN_RUNNING (1)       ``running``
VIR_DOMAIN_BLOCKED (2)       ``running``                 blocked on I/O: still a running guest
VIR_DOMAIN_PAUSED (3)        ``paused``                  vCPUs frozen (``suspend()``), memory kept
VIR_DOMAIN_SHUTDOWN (4)      ``shutdown``                being shut down; as Nova does
VIR_DOMAIN_SHUTOFF (5)       ``shutdown``                no managed-save image
VIR_DOMAIN_SHUTOFF (5)       ``suspended``               with a managed-save image (``managedSave()``)
VIR_DOMAIN_SHUTOFF (5)       ``crashed``                 reason VIR_DOMAIN_SHUTOFF_CRASHED: how QEMU
                                                         reports a guest crash with on_crash=destroy
VIR_DOMAIN_CRASHED (6)       ``crashed``                 on_crash=preserve
VIR_DOMAIN_PMSUSPENDED (7)   ``suspended``               guest-initiated S3/S4; resumed by pMWakeup
anything else                ``nostate``                 a state newer than this driver
===========================  ==========================  ==========================================

Whether a shut-off domain has a managed-save image costs one call
(``hasManagedSaveImage``), made only for shut-off domains whose state reason
is ``VIR_DOMAIN_SHUTOFF_SAVED`` or ``..._UNKNOWN`` (a managed save always
leaves reason SAVED; UNKNOWN covers a daemon that lost the reason).
"""

from __future__ import annotations

import libvirt

from nova_common.objects.fields import LifecycleTransition, PowerState

_BY_STATE: dict[int, str] = {
    libvirt.VIR_DOMAIN_NOSTATE: PowerState.NOSTATE,
    libvirt.VIR_DOMAIN_RUNNING: PowerState.RUNNING,
    libvirt.VIR_DOMAIN_BLOCKED: PowerState.RUNNING,
    libvirt.VIR_DOMAIN_PAUSED: PowerState.PAUSED,
    libvirt.VIR_DOMAIN_SHUTDOWN: PowerState.SHUTDOWN,
    libvirt.VIR_DOMAIN_SHUTOFF: PowerState.SHUTDOWN,
    libvirt.VIR_DOMAIN_CRASHED: PowerState.CRASHED,
    libvirt.VIR_DOMAIN_PMSUSPENDED: PowerState.SUSPENDED,
}

_MAYBE_SAVED_REASONS = frozenset({libvirt.VIR_DOMAIN_SHUTOFF_SAVED, libvirt.VIR_DOMAIN_SHUTOFF_UNKNOWN})


def needs_managed_save_check(state: int, reason: int) -> bool:
    """Whether the power state depends on ``hasManagedSaveImage`` for this state/reason."""
    return state == libvirt.VIR_DOMAIN_SHUTOFF and reason in _MAYBE_SAVED_REASONS


def power_state(state: int, has_managed_save: bool = False, reason: int = 0) -> str:
    """The contract PowerState of a libvirt domain state and state reason (see the module table)."""
    if state == libvirt.VIR_DOMAIN_SHUTOFF:
        if has_managed_save:
            return PowerState.SUSPENDED
        if reason == libvirt.VIR_DOMAIN_SHUTOFF_CRASHED:
            return PowerState.CRASHED
    return _BY_STATE.get(state, PowerState.NOSTATE)


def is_active(state: int) -> bool:
    """Whether a domain in ``state`` is running in some form (``destroy()`` applies)."""
    return state not in (libvirt.VIR_DOMAIN_SHUTOFF, libvirt.VIR_DOMAIN_NOSTATE)


#: Lifecycle event (type, detail) -> contract transition; None: not reported.
def lifecycle_transition(event: int, detail: int) -> str | None:
    """The LifecycleTransition a libvirt lifecycle event reports, or None.

    ==============================  =================
    libvirt event (detail)          transition
    ==============================  =================
    STARTED (any but RESTORED)      ``started``
    STARTED (RESTORED)              ``resumed``
    RESUMED                         ``resumed``
    SUSPENDED                       ``paused``
    STOPPED (SAVED)                 ``suspended``
    STOPPED (CRASHED)               ``crashed``
    STOPPED (other)                 ``stopped``
    CRASHED                         ``crashed``
    PMSUSPENDED                     ``suspended``
    DEFINED, UNDEFINED, SHUTDOWN    (none)
    ==============================  =================
    """
    if event == libvirt.VIR_DOMAIN_EVENT_STARTED:
        if detail == libvirt.VIR_DOMAIN_EVENT_STARTED_RESTORED:
            return LifecycleTransition.RESUMED
        return LifecycleTransition.STARTED
    if event == libvirt.VIR_DOMAIN_EVENT_RESUMED:
        return LifecycleTransition.RESUMED
    if event == libvirt.VIR_DOMAIN_EVENT_SUSPENDED:
        return LifecycleTransition.PAUSED
    if event == libvirt.VIR_DOMAIN_EVENT_STOPPED:
        if detail == libvirt.VIR_DOMAIN_EVENT_STOPPED_SAVED:
            return LifecycleTransition.SUSPENDED
        if detail == libvirt.VIR_DOMAIN_EVENT_STOPPED_CRASHED:
            return LifecycleTransition.CRASHED
        return LifecycleTransition.STOPPED
    if event == libvirt.VIR_DOMAIN_EVENT_CRASHED:
        return LifecycleTransition.CRASHED
    if event == libvirt.VIR_DOMAIN_EVENT_PMSUSPENDED:
        return LifecycleTransition.SUSPENDED
    return None
