"""The instance state machine: every transition the core makes, in one place.

``vm_state`` is where an instance is at rest; ``task_state`` is the operation
in flight (None when idle). An action may start only from the vm_states and
task_states listed in :data:`ACTIONS`; the conductor moves the row with a
compare-and-swap on both (so two concurrent requests cannot both start), and
finishes it with the ``done`` state, or ``failed`` when the host refuses.
"""

from __future__ import annotations

import dataclasses

from nova_common.objects.fields import PowerState
from nova_common.virt import api as virt_api


class VmState:
    BUILDING = "building"
    ACTIVE = "active"
    STOPPED = "stopped"
    PAUSED = "paused"
    SUSPENDED = "suspended"
    ERROR = "error"
    DELETED = "deleted"

    ALL = (BUILDING, ACTIVE, STOPPED, PAUSED, SUSPENDED, ERROR, DELETED)


class TaskState:
    SCHEDULING = "scheduling"
    SPAWNING = "spawning"
    REBOOTING = "rebooting"
    REBOOTING_HARD = "rebooting_hard"
    POWERING_OFF = "powering-off"
    POWERING_ON = "powering-on"
    PAUSING = "pausing"
    UNPAUSING = "unpausing"
    SUSPENDING = "suspending"
    RESUMING = "resuming"
    IMAGE_SNAPSHOT = "image_snapshot"
    ATTACHING_VOLUME = "attaching_volume"
    DETACHING_VOLUME = "detaching_volume"
    DELETING = "deleting"

    BUILD = (SCHEDULING, SPAWNING)


#: The vm_state a hypervisor power state means for an idle instance.
POWER_TO_VM_STATE: dict[str, str] = {
    PowerState.RUNNING: VmState.ACTIVE,
    PowerState.SHUTDOWN: VmState.STOPPED,
    PowerState.CRASHED: VmState.STOPPED,
    PowerState.PAUSED: VmState.PAUSED,
    PowerState.SUSPENDED: VmState.SUSPENDED,
}

_RESTING = frozenset({VmState.ACTIVE, VmState.STOPPED, VmState.PAUSED, VmState.SUSPENDED})


@dataclasses.dataclass(frozen=True)
class Action:
    """One user action: where it may start, what it runs, where it ends."""

    name: str
    from_vm_states: frozenset[str]
    from_task_states: frozenset[str | None]
    task_state: str
    virt_operation: str | None
    done_vm_state: str | None  # None: unchanged

    @property
    def capability(self) -> str | None:
        """The capability the host must advertise (the virt operation's, from the spec)."""
        return virt_api.OPERATIONS[self.virt_operation].capability if self.virt_operation else None

    @property
    def done_power_state(self) -> str | None:
        """The power state after success: the virt operation's Transition target
        (None: unchanged / as reported); a delete leaves no state."""
        if self.virt_operation == "destroy":
            return PowerState.NOSTATE
        if self.virt_operation == "spawn":
            return PowerState.RUNNING
        transition = virt_api.OPERATIONS[self.virt_operation].transition if self.virt_operation else None
        return transition.to if transition is not None else None

    def allowed(self, vm_state: str, task_state: str | None) -> bool:
        return vm_state in self.from_vm_states and task_state in self.from_task_states


_IDLE: frozenset[str | None] = frozenset({None})


def _action(
    name: str,
    from_vm: frozenset[str] | set[str],
    task: str,
    op: str | None,
    done_vm: str | None,
    from_task: frozenset[str | None] = _IDLE,
) -> Action:
    return Action(name, frozenset(from_vm), from_task, task, op, done_vm)


#: Every action, keyed by name. Reboot while building is refused (building is
#: not in its from_vm_states); delete is accepted while building and wins.
ACTIONS: dict[str, Action] = {
    a.name: a
    for a in (
        _action(
            "create",
            {VmState.BUILDING},
            TaskState.SCHEDULING,
            "spawn",
            VmState.ACTIVE,
        ),
        _action(
            "reboot",
            {VmState.ACTIVE},
            TaskState.REBOOTING,
            "reboot",
            VmState.ACTIVE,
        ),
        _action(
            "reboot_hard",
            {VmState.ACTIVE, VmState.ERROR},
            TaskState.REBOOTING_HARD,
            "reboot",
            VmState.ACTIVE,
        ),
        _action(
            "stop",
            {VmState.ACTIVE, VmState.PAUSED, VmState.SUSPENDED, VmState.ERROR},
            TaskState.POWERING_OFF,
            "power_off",
            VmState.STOPPED,
        ),
        _action(
            "start",
            {VmState.STOPPED},
            TaskState.POWERING_ON,
            "power_on",
            VmState.ACTIVE,
        ),
        _action(
            "pause",
            {VmState.ACTIVE},
            TaskState.PAUSING,
            "pause",
            VmState.PAUSED,
        ),
        _action(
            "unpause",
            {VmState.PAUSED},
            TaskState.UNPAUSING,
            "unpause",
            VmState.ACTIVE,
        ),
        _action(
            "suspend",
            {VmState.ACTIVE},
            TaskState.SUSPENDING,
            "suspend",
            VmState.SUSPENDED,
        ),
        _action(
            "resume",
            {VmState.SUSPENDED},
            TaskState.RESUMING,
            "resume",
            VmState.ACTIVE,
        ),
        _action("snapshot", _RESTING, TaskState.IMAGE_SNAPSHOT, "snapshot", None),
        _action(
            "attach_volume",
            _RESTING,
            TaskState.ATTACHING_VOLUME,
            "attach_volume",
            None,
        ),
        _action(
            "detach_volume",
            _RESTING,
            TaskState.DETACHING_VOLUME,
            "detach_volume",
            None,
        ),
        _action(
            "delete",
            set(VmState.ALL) - {VmState.DELETED},
            TaskState.DELETING,
            "destroy",
            VmState.DELETED,
            from_task=frozenset({None, *TaskState.BUILD}),
        ),
    )
}


def vm_state_for_power(power_state: str, current: str) -> str:
    """The vm_state an idle instance should have given the hypervisor's power state."""
    return POWER_TO_VM_STATE.get(power_state, current)
