"""The virt API: the contract between the compute core and a hypervisor driver.

This module is the specification. Every operation a driver implements is a
method of :class:`ComputeDriver` below, and its docstring plus its
``@operation`` declaration say everything the contract promises:

* **Preconditions**: what must hold before the call, and which power states
  the operation accepts (:class:`Transition`).
* **Result**: the object it returns (always a registered versioned object or
  ``None``), at a version the caller can read.
* **Errors**: the contract exceptions (:mod:`nova_common.virt.exceptions`) it
  may raise. :class:`~nova_common.virt.exceptions.HypervisorUnavailable` and
  :class:`~nova_common.virt.exceptions.InternalError` may come from any call;
  gated operations may also raise ``NotSupported``.
* **Idempotency**: whether repeating the call with the same arguments is safe
  and ends in the same state without an error.
* **Gating**: mandatory, or gated on a named :class:`Capability` the driver
  advertises in :meth:`ComputeDriver.capabilities`.
* **Version**: the virt API version that added it.

Everything else is derived from this module: the RPC client
(:mod:`nova_common.virt.rpcapi`), the service endpoint
(:mod:`nova_common.scaffold.endpoint`) and the contract kit
(``nova_contract_tests``), whose coverage test fails when an operation here
has no scenario there.

Rules of change: a minor version only adds (an operation, an optional
argument, an exception, an object field with a backport). Anything else is a
new major version. Record each version in :data:`VERSION_HISTORY`.
"""

from __future__ import annotations

import abc
import dataclasses
import inspect
import typing
from collections.abc import Callable
from typing import Any

from nova_common import objects
from nova_common.objects.fields import PowerState
from nova_common.virt import exceptions as exc

#: The newest virt API version this nova-common speaks.
VIRT_API_VERSION = "1.0"

#: Every released virt API version and what it changed.
VERSION_HISTORY: dict[str, str] = {
    "1.0": (
        "Initial contract: get_driver_info, get_host_resources, list_instances, spawn, "
        "destroy, reboot, power_off, power_on, pause, unpause, suspend, resume, get_info, "
        "get_console_output, snapshot, attach_volume, detach_volume."
    ),
}

#: The object versions each released virt API version ships. A driver built
#: against a release advertises (at least) these in DriverInfo.object_versions.
RELEASED_OBJECT_VERSIONS: dict[str, dict[str, str]] = {
    "1.0": {
        "ConsoleOutput": "1.0",
        "DriverInfo": "1.0",
        "Flavor": "1.0",
        "HostResources": "1.0",
        "ImageMeta": "1.0",
        "Instance": "1.0",
        "InstanceInfo": "1.0",
        "InstanceInfoList": "1.0",
        "LifecycleEvent": "1.0",
        "NetworkInfo": "1.0",
        "SnapshotInfo": "1.0",
        "VIF": "1.0",
        "VolumeAttachment": "1.0",
    },
}


class Capability:
    """Capabilities a driver may advertise; each gates one or more operations.

    Names follow the rows of Nova's support matrix. A driver advertises only
    what works on the hypervisor it is connected to, probed at start.
    """

    REBOOT = "reboot"
    POWER = "power"
    PAUSE = "pause"
    SUSPEND = "suspend"
    CONSOLE_OUTPUT = "console_output"
    SNAPSHOT = "snapshot"
    VOLUME_ATTACH = "volume_attach"

    ALL: frozenset[str] = frozenset({REBOOT, POWER, PAUSE, SUSPEND, CONSOLE_OUTPUT, SNAPSHOT, VOLUME_ATTACH})


@dataclasses.dataclass(frozen=True)
class Transition:
    """The power states an operation accepts and the one it leaves behind.

    Calling the operation from a state outside ``allowed_from`` raises
    ``InvalidInstanceState``. When ``allowed_from`` contains ``to`` the
    operation is idempotent on state: repeating it is a no-op.
    """

    allowed_from: frozenset[str]
    to: str


@dataclasses.dataclass(frozen=True)
class Argument:
    """One argument of an operation, as it travels over RPC."""

    name: str
    type: Any  # a registered object class, or str / int / bool
    required: bool
    default: Any = None


@dataclasses.dataclass(frozen=True)
class Operation:
    """The declaration of one driver operation. See the module docstring."""

    name: str
    added_in: str
    arguments: tuple[Argument, ...]
    result: type | None
    raises: tuple[type[exc.VirtError], ...]
    idempotent: bool
    capability: str | None
    transition: Transition | None
    rpc_timeout: int
    doc: str

    @property
    def mandatory(self) -> bool:
        return self.capability is None

    @property
    def instance_argument(self) -> str | None:
        """The argument naming the instance operated on (operations on one
        instance are serialised per instance by the scaffold)."""
        for arg in self.arguments:
            if arg.type is objects.Instance:
                return arg.name
        return None

    @property
    def all_errors(self) -> tuple[type[exc.VirtError], ...]:
        """Every error a caller may see from this operation."""
        extra: tuple[type[exc.VirtError], ...] = (exc.HypervisorUnavailable, exc.InternalError)
        if self.capability is not None or self.added_in != "1.0":
            extra += (exc.NotSupported,)
        return tuple(dict.fromkeys(self.raises + extra))


def operation(
    *,
    added_in: str,
    raises: tuple[type[exc.VirtError], ...] = (),
    idempotent: bool,
    capability: str | None = None,
    transition: Transition | None = None,
    rpc_timeout: int = 60,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare a method of :class:`ComputeDriver` as a contract operation."""

    def declare(method: Callable[..., Any]) -> Callable[..., Any]:
        method.__virt_operation__ = dict(  # type: ignore[attr-defined]
            added_in=added_in,
            raises=raises,
            idempotent=idempotent,
            capability=capability,
            transition=transition,
            rpc_timeout=rpc_timeout,
        )
        return method

    return declare


def _states(*states: str) -> frozenset[str]:
    return frozenset(states)


class ComputeDriver(abc.ABC):
    """Base class of every virt driver, and the contract it implements.

    Lifecycle (not RPC operations): the scaffold calls :meth:`register_opts`
    on the class, builds the driver with the service's config, calls
    :meth:`start`, serves operations from a thread pool, and calls
    :meth:`stop` on shutdown. Operations on the same instance never run
    concurrently (the scaffold serialises them); operations on different
    instances do, so a driver must be thread-safe across instances.

    A driver owns only the instances it created: whatever else the
    hypervisor runs is invisible to it (never listed, never touched).
    """

    #: Entry-point name and driver name reported in DriverInfo.
    name: typing.ClassVar[str] = "unnamed"
    #: Hypervisor type reported in DriverInfo and HostResources (QEMU, VMware vCenter Server, ...).
    hypervisor_type: typing.ClassVar[str] = "unknown"
    #: Distribution whose version is reported as driver_version.
    distribution: typing.ClassVar[str | None] = None

    def __init__(self, conf: Any) -> None:
        self.conf = conf
        self._event_handler: Callable[[objects.LifecycleEvent], None] | None = None

    # -- lifecycle hooks (not part of the RPC API) -------------------------

    @classmethod  # noqa: B027  (an optional hook)
    def register_opts(cls, conf: Any) -> None:
        """Register the driver's oslo.config options on ``conf``."""

    def start(self) -> None:  # noqa: B027  (optional hook)
        """Connect to the hypervisor and probe what works. May raise
        HypervisorUnavailable; the scaffold keeps the service running and
        operations raise HypervisorUnavailable until it recovers."""

    def stop(self) -> None:  # noqa: B027  (optional hook)
        """Release connections and threads. Must not raise."""

    def capabilities(self) -> frozenset[str]:
        """The :class:`Capability` names this driver advertises right now.

        Never advertise something that does not work on the connected
        hypervisor: the scaffold answers NotSupported for what is missing,
        without calling the driver, and the kit skips its tests.
        """
        return frozenset()

    def hypervisor_version(self) -> int:
        """The hypervisor's version as one integer (major*1000000+minor*1000+release)."""
        return 0

    def set_event_handler(self, handler: Callable[[objects.LifecycleEvent], None] | None) -> None:
        """Called by the scaffold; the driver reports lifecycle events through
        :meth:`emit_event`."""
        self._event_handler = handler

    def emit_event(self, event: objects.LifecycleEvent) -> None:
        """Report an instance state change the core did not ask for."""
        handler = self._event_handler
        if handler is not None:
            handler(event)

    # -- the operations of virt API 1.0 -------------------------------------

    @operation(added_in="1.0", idempotent=True)
    def get_driver_info(self) -> objects.DriverInfo:
        """Who this driver is and what it supports.

        Preconditions: none; answers even while the hypervisor is down (the
        hypervisor version is then the last one seen, or 0).

        Result: DriverInfo with the driver's name and package version, the
        hypervisor type and version, the virt API range it serves, the
        capabilities it advertises now, and its object version manifest.
        The core pins its RPC version for this host from ``virt_api_max``.

        Errors: none beyond the universal ones.

        Idempotent: yes (read-only). The base implementation is complete;
        drivers normally do not override it.
        """
        from nova_common.virt import driver_info  # local: avoids an import cycle

        return driver_info.describe(self)

    @operation(added_in="1.0", idempotent=True, raises=())
    @abc.abstractmethod
    def get_host_resources(self) -> objects.HostResources:
        """Capacity and use of the host, for the scheduler.

        Preconditions: none.

        Result: HostResources. Totals are what the hypervisor offers; ``*_used``
        counts what this driver's instances are allocated (so it rises after
        spawn and falls after destroy), never below 0 or above what the
        hypervisor reports as total. ``uptime_seconds`` when the hypervisor
        reports it.

        Errors: HypervisorUnavailable.

        Idempotent: yes (read-only).
        """

    @operation(added_in="1.0", idempotent=True)
    @abc.abstractmethod
    def list_instances(self) -> objects.InstanceInfoList:
        """Every instance this driver owns on the host, in one bulk read.

        Preconditions: none.

        Result: InstanceInfoList with one InstanceInfo per owned instance, the
        same content :meth:`get_info` returns for each. The cost in hypervisor
        calls must not grow with the number of instances (one listing call,
        never a lookup per instance): the core's power-state sync calls this
        on every host periodically.

        Errors: HypervisorUnavailable.

        Idempotent: yes (read-only).
        """

    @operation(
        added_in="1.0",
        idempotent=False,
        raises=(exc.InstanceExists, exc.InvalidRequest, exc.InsufficientResources, exc.OperationFailed),
        rpc_timeout=300,
    )
    @abc.abstractmethod
    def spawn(self, instance: objects.Instance, network_info: objects.NetworkInfo) -> objects.InstanceInfo:
        """Create the instance and boot it.

        Preconditions: no instance with ``instance.uuid`` exists on the host.
        The flavor fits the host as last reported (the core claimed it).

        Result: InstanceInfo of the new instance in power state ``running``.
        Host resources include it from now on.

        Errors: InstanceExists when the uuid is taken (the existing instance
        is left untouched); InvalidRequest naming the field for a value the
        hypervisor cannot take (a name too long, a control character);
        InsufficientResources when it does not fit after all; OperationFailed
        when the hypervisor refuses. On any error nothing is left behind.

        Idempotent: no. A second spawn of the same uuid raises InstanceExists.
        """

    @operation(added_in="1.0", idempotent=True, rpc_timeout=300)
    @abc.abstractmethod
    def destroy(self, instance: objects.Instance) -> None:
        """Stop the instance if it runs and remove every trace of it:
        definition, saved state, snapshots' metadata, attachments.

        Preconditions: none; any power state.

        Result: None. The instance is gone from list_instances and get_info
        raises InstanceNotFound; host resources no longer include it.

        Errors: none for a missing instance (destroying what is not there
        succeeds).

        Idempotent: yes.
        """

    @operation(
        added_in="1.0",
        idempotent=False,
        capability=Capability.REBOOT,
        raises=(exc.InstanceNotFound, exc.InvalidInstanceState, exc.InvalidRequest),
        transition=Transition(_states(PowerState.RUNNING), PowerState.RUNNING),
        rpc_timeout=300,
    )
    def reboot(self, instance: objects.Instance, reboot_type: str) -> None:
        """Reboot the instance.

        Preconditions: the instance is ``running``. ``reboot_type`` is
        ``soft`` (ask the guest; a driver may fall back to a reset when the
        guest cannot be asked) or ``hard`` (reset the virtual machine).

        Result: None; the instance is ``running`` again when the call returns.

        Errors: InstanceNotFound; InvalidInstanceState when it is not
        running; InvalidRequest for another ``reboot_type``.

        Idempotent: no (every call reboots), but repeating it never fails.
        """
        raise exc.NotSupported(operation="reboot", reason="not implemented by this driver")

    @operation(
        added_in="1.0",
        idempotent=True,
        capability=Capability.POWER,
        raises=(exc.InstanceNotFound, exc.InvalidRequest),
        transition=Transition(
            _states(
                PowerState.RUNNING,
                PowerState.PAUSED,
                PowerState.SUSPENDED,
                PowerState.SHUTDOWN,
                PowerState.CRASHED,
            ),
            PowerState.SHUTDOWN,
        ),
        rpc_timeout=600,
    )
    def power_off(self, instance: objects.Instance, timeout: int = 0) -> None:
        """Stop the instance, keeping its definition.

        Preconditions: any power state. ``timeout`` (seconds, >= 0) is how
        long to wait for a graceful guest shutdown before forcing it off; 0
        forces it off at once. A suspended instance loses its saved state.

        Result: None; the instance is ``shutdown``.

        Errors: InstanceNotFound; InvalidRequest for a negative timeout.

        Idempotent: yes; powering off a stopped instance is a no-op.
        """
        raise exc.NotSupported(operation="power_off", reason="not implemented by this driver")

    @operation(
        added_in="1.0",
        idempotent=True,
        capability=Capability.POWER,
        raises=(exc.InstanceNotFound, exc.InvalidInstanceState),
        transition=Transition(
            _states(PowerState.SHUTDOWN, PowerState.CRASHED, PowerState.RUNNING), PowerState.RUNNING
        ),
        rpc_timeout=300,
    )
    def power_on(self, instance: objects.Instance) -> None:
        """Start a stopped instance.

        Preconditions: the instance is ``shutdown``, ``crashed`` or already
        ``running``. A paused or suspended instance needs unpause / resume.

        Result: None; the instance is ``running``.

        Errors: InstanceNotFound; InvalidInstanceState from paused or suspended.

        Idempotent: yes; powering on a running instance is a no-op.
        """
        raise exc.NotSupported(operation="power_on", reason="not implemented by this driver")

    @operation(
        added_in="1.0",
        idempotent=True,
        capability=Capability.PAUSE,
        raises=(exc.InstanceNotFound, exc.InvalidInstanceState),
        transition=Transition(_states(PowerState.RUNNING, PowerState.PAUSED), PowerState.PAUSED),
    )
    def pause(self, instance: objects.Instance) -> None:
        """Freeze the instance's vCPUs, keeping its memory resident.

        Preconditions: the instance is ``running`` (or already ``paused``).

        Result: None; the instance is ``paused``.

        Errors: InstanceNotFound; InvalidInstanceState from any other state.

        Idempotent: yes.
        """
        raise exc.NotSupported(operation="pause", reason="not implemented by this driver")

    @operation(
        added_in="1.0",
        idempotent=True,
        capability=Capability.PAUSE,
        raises=(exc.InstanceNotFound, exc.InvalidInstanceState),
        transition=Transition(_states(PowerState.PAUSED, PowerState.RUNNING), PowerState.RUNNING),
    )
    def unpause(self, instance: objects.Instance) -> None:
        """Let a paused instance run again.

        Preconditions: the instance is ``paused`` (or already ``running``).

        Result: None; the instance is ``running``.

        Errors: InstanceNotFound; InvalidInstanceState from any other state.

        Idempotent: yes.
        """
        raise exc.NotSupported(operation="unpause", reason="not implemented by this driver")

    @operation(
        added_in="1.0",
        idempotent=True,
        capability=Capability.SUSPEND,
        raises=(exc.InstanceNotFound, exc.InvalidInstanceState),
        transition=Transition(_states(PowerState.RUNNING, PowerState.SUSPENDED), PowerState.SUSPENDED),
        rpc_timeout=300,
    )
    def suspend(self, instance: objects.Instance) -> None:
        """Save the instance's memory to disk and stop it.

        Preconditions: the instance is ``running`` (or already ``suspended``).

        Result: None; the instance is ``suspended`` and holds no vCPU time.

        Errors: InstanceNotFound; InvalidInstanceState from any other state.

        Idempotent: yes.
        """
        raise exc.NotSupported(operation="suspend", reason="not implemented by this driver")

    @operation(
        added_in="1.0",
        idempotent=True,
        capability=Capability.SUSPEND,
        raises=(exc.InstanceNotFound, exc.InvalidInstanceState),
        transition=Transition(_states(PowerState.SUSPENDED, PowerState.RUNNING), PowerState.RUNNING),
        rpc_timeout=300,
    )
    def resume(self, instance: objects.Instance) -> None:
        """Restore a suspended instance from its saved memory.

        Preconditions: the instance is ``suspended`` (or already ``running``).

        Result: None; the instance is ``running``.

        Errors: InstanceNotFound; InvalidInstanceState from any other state.

        Idempotent: yes.
        """
        raise exc.NotSupported(operation="resume", reason="not implemented by this driver")

    @operation(added_in="1.0", idempotent=True, raises=(exc.InstanceNotFound,))
    @abc.abstractmethod
    def get_info(self, instance: objects.Instance) -> objects.InstanceInfo:
        """What the hypervisor says about one instance.

        Preconditions: none. Callers that want every instance use
        :meth:`list_instances`, never a loop over this.

        Result: InstanceInfo; ``power_state`` is the instance's state as of
        the call, after every completed operation on it.

        Errors: InstanceNotFound.

        Idempotent: yes (read-only).
        """

    @operation(
        added_in="1.0",
        idempotent=True,
        capability=Capability.CONSOLE_OUTPUT,
        raises=(exc.InstanceNotFound,),
    )
    def get_console_output(self, instance: objects.Instance) -> objects.ConsoleOutput:
        """The tail of the instance's serial console log.

        Preconditions: none; any power state (a stopped instance returns
        what it printed before it stopped, possibly nothing).

        Result: ConsoleOutput; ``truncated`` when older output was dropped.

        Errors: InstanceNotFound.

        Idempotent: yes (read-only).
        """
        raise exc.NotSupported(operation="get_console_output", reason="not implemented by this driver")

    @operation(
        added_in="1.0",
        idempotent=False,
        capability=Capability.SNAPSHOT,
        raises=(exc.InstanceNotFound, exc.InvalidRequest, exc.OperationFailed),
        rpc_timeout=600,
    )
    def snapshot(self, instance: objects.Instance, image_id: str, name: str) -> objects.SnapshotInfo:
        """Capture the instance's disk as an image.

        Preconditions: any power state but ``crashed``; ``image_id`` is a
        uuid the core reserved, ``name`` a display name (escaped by the
        driver wherever it reaches the hypervisor).

        Result: SnapshotInfo with the same ``image_id``. The instance is in
        the same power state as before the call.

        Errors: InstanceNotFound; InvalidRequest naming a bad ``image_id`` or
        ``name``; OperationFailed when the hypervisor refuses.

        Idempotent: no (each call makes a new snapshot).
        """
        raise exc.NotSupported(operation="snapshot", reason="not implemented by this driver")

    @operation(
        added_in="1.0",
        idempotent=True,
        capability=Capability.VOLUME_ATTACH,
        raises=(exc.InstanceNotFound, exc.InvalidRequest, exc.OperationFailed),
    )
    def attach_volume(self, instance: objects.Instance, attachment: objects.VolumeAttachment) -> None:
        """Attach a volume at a mountpoint.

        Preconditions: any power state but ``crashed``. The mountpoint is
        free, or holds this same volume.

        Result: None; the volume is part of the instance until detached or
        destroyed.

        Errors: InstanceNotFound; InvalidRequest when the mountpoint holds
        another volume or this volume is attached elsewhere on the instance;
        OperationFailed when the hypervisor refuses.

        Idempotent: yes; attaching the same volume at the same mountpoint
        again is a no-op.
        """
        raise exc.NotSupported(operation="attach_volume", reason="not implemented by this driver")

    @operation(
        added_in="1.0",
        idempotent=True,
        capability=Capability.VOLUME_ATTACH,
        raises=(exc.InstanceNotFound, exc.OperationFailed),
    )
    def detach_volume(self, instance: objects.Instance, volume_id: str) -> None:
        """Detach a volume.

        Preconditions: any power state but ``crashed``.

        Result: None; the volume is no longer attached and its mountpoint is free.

        Errors: InstanceNotFound; OperationFailed when the hypervisor refuses.

        Idempotent: yes; detaching a volume that is not attached is a no-op.
        """
        raise exc.NotSupported(operation="detach_volume", reason="not implemented by this driver")


def _collect_operations() -> dict[str, Operation]:
    found: dict[str, Operation] = {}
    for name, member in vars(ComputeDriver).items():
        declared = getattr(member, "__virt_operation__", None)
        if declared is None:
            continue
        hints = typing.get_type_hints(member)
        signature = inspect.signature(member)
        arguments = tuple(
            Argument(
                name=param.name,
                type=hints[param.name],
                required=param.default is inspect.Parameter.empty,
                default=None if param.default is inspect.Parameter.empty else param.default,
            )
            for param in list(signature.parameters.values())[1:]
        )
        result = hints.get("return")
        found[name] = Operation(
            name=name,
            arguments=arguments,
            result=None if result is type(None) else result,
            doc=inspect.cleandoc(member.__doc__ or ""),
            **declared,
        )
    return found


#: Every operation of the contract, in declaration order.
OPERATIONS: dict[str, Operation] = _collect_operations()


def operations_for(capability: str) -> list[Operation]:
    """The operations gated on ``capability``."""
    return [op for op in OPERATIONS.values() if op.capability == capability]


def parse_version(version: str) -> tuple[int, int]:
    """``"1.3"`` -> ``(1, 3)``; raises ValueError naming the value otherwise."""
    try:
        major, minor = version.split(".")
        return int(major), int(minor)
    except ValueError:
        raise ValueError(f"virt API version {version!r} is not of the form MAJOR.MINOR") from None
