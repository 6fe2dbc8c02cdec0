"""Optional test hooks a driver package may provide to the contract kit.

Some promises of the contract are about things the core never causes: a
guest that crashes, an admin who stops an instance behind the core's back,
a hypervisor that refuses, a destroy that forgets an instance but leaves it
on the hypervisor. The kit can only test them if it can make them happen and
see the hypervisor as it really is. A driver offers that through
:meth:`nova_common.virt.api.ComputeDriver.test_hooks`, returning a
:class:`DriverTestHooks`; the kit uses every hook the driver provides and
says in its report which checks it skipped for want of one.

Hooks are for tests only: a compute service serves them over RPC only when
``[compute] enable_test_hooks`` is set
(:mod:`nova_common.scaffold.test_hooks_endpoint`). Each hook acts on the
hypervisor directly, never through the driver's own bookkeeping, so what the
driver reports afterwards is what the kit checks.
"""

from __future__ import annotations

from typing import ClassVar

#: Every hook the kit knows, in the order the report lists them.
HOOKS: tuple[str, ...] = ("crash", "set_power_state", "hypervisor_instances", "fail_next")


class DriverTestHooks:
    """The hooks of one driver instance. Override the ones the hypervisor allows.

    A hook that is not overridden raises NotImplementedError and is left out
    of :meth:`provided`. Hooks raise
    :class:`~nova_common.virt.exceptions.InstanceNotFound` for an instance the
    driver did not create.
    """

    #: The power states :meth:`set_power_state` can set (override when fewer).
    settable_states: ClassVar[frozenset[str]] = frozenset(
        {"running", "shutdown", "paused", "suspended", "crashed"}
    )

    def provided(self) -> frozenset[str]:
        """The names of the hooks this object implements (from :data:`HOOKS`)."""
        base = DriverTestHooks
        return frozenset(name for name in HOOKS if getattr(type(self), name) is not getattr(base, name))

    def crash(self, instance_uuid: str) -> None:
        """Crash the guest as the hypervisor reports a crash; the driver then
        reports ``crashed`` and emits one ``crashed`` LifecycleEvent."""
        raise NotImplementedError

    def set_power_state(self, instance_uuid: str, state: str) -> None:
        """Change the instance's power state behind the core's back, as a
        guest or an admin on the hypervisor would; the driver then reports
        ``state`` and emits one LifecycleEvent for the change."""
        raise NotImplementedError

    def hypervisor_instances(self) -> list[str]:
        """The uuids of every instance the hypervisor holds that this driver
        created, read from the hypervisor itself: including what the
        driver's own bookkeeping forgot."""
        raise NotImplementedError

    def fail_next(self, operation: str) -> None:
        """Make the hypervisor refuse the next call of ``operation`` (one that
        declares OperationFailed), so the driver must answer OperationFailed
        and leave nothing behind."""
        raise NotImplementedError
