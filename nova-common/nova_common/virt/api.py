"""The virt API: the contract between the compute core and a hypervisor driver.

This module is the specification. Every operation a driver implements is a
method of :class:`ComputeDriver` below, and its docstring plus its
``@operation`` declaration say everything the contract promises:

* **Preconditions**: what must hold before the call; the power states the
  operation accepts (:class:`Transition`): from any other state it raises
  ``InvalidInstanceState``, which is then part of its declared errors;
  and the domain of each argument (:class:`OneOf`, :class:`AtLeast`,
  :class:`NonEmpty`, :class:`IsUUID`, declared with ``typing.Annotated`` and
  enforced by the scaffold before the driver is called).
* **Result**: the object it returns (always a registered versioned object or
  ``None``), at a version the caller can read.
* **Errors**: the contract exceptions (:mod:`nova_common.virt.exceptions`) it
  may raise (:attr:`Operation.all_errors`).
  :class:`~nova_common.virt.exceptions.HypervisorUnavailable` and
  :class:`~nova_common.virt.exceptions.InternalError` may come from any call;
  gated operations may also raise ``NotSupported``.
* **Idempotency**: ``idempotent`` (repeating the call with the same arguments
  is safe and ends in the same state: from its target state it is a no-op)
  and ``repeatable`` (repeating it never fails, though every call acts, as a
  reboot does) are separate declarations.
* **Gating**: mandatory, or gated on a named :class:`Capability` the driver
  advertises in :meth:`ComputeDriver.capabilities`.
* **Time budget**: how long the operation may take on a real hypervisor
  (``time_budget``, seconds), separate from and tighter than its RPC timeout;
  the contract kit fails an operation that exceeds it.
* **Version**: the virt API version that added it.

Everything else is derived from this module: the RPC client
(:mod:`nova_common.virt.rpcapi`), the service endpoint
(:mod:`nova_common.scaffold.endpoint`), the dispatcher's argument checks
(:mod:`nova_common.scaffold.dispatcher`), the core's action table
(:mod:`nova_common.compute.states`), the other direction of the wire
(:mod:`nova_common.virt.report_api`) and the contract kit
(``nova_contract_tests``), whose coverage check fails when a declared error,
transition or idempotency claim here has no scenario there.

Rules of change: a minor version only adds (an operation, an optional
argument, an exception, an object field with a backport). Anything else is a
new major version. Record each version in :data:`VERSION_HISTORY` and its
objects in :data:`RELEASED_OBJECTS`.
"""

from __future__ import annotations

import abc
import contextvars
import dataclasses
import functools
import inspect
import re
import typing
import uuid
from collections.abc import Callable
from typing import Annotated, Any

from nova_common import objects
from nova_common.objects import base as obj_base
from nova_common.objects.fields import PowerState
from nova_common.virt import exceptions as exc

#: The newest virt API version this nova-common speaks.
VIRT_API_VERSION = "1.1"

#: Every released virt API version and what it changed, in prose. Which
#: operations each version added is derived (:func:`operations_added_in`).
VERSION_HISTORY: dict[str, str] = {
    "1.0": "Initial contract.",
    "1.1": "get_diagnostics (capability 'diagnostics', result InstanceDiagnostics 1.0); "
    "Instance 1.1 (hostname, sent to drivers); InstanceInfo 1.1 (uptime_seconds, returned by drivers).",
}

#: The objects of every released virt API version: name -> "<version>-<fingerprint>"
#: (oslo.versionedobjects' ObjectVersionChecker hash). The one record of the
#: object manifest: the entry of :data:`VIRT_API_VERSION` must equal this
#: process's registry (nova-common's tests), and every entry must stay
#: registered with the same fingerprint for as long as that version is served
#: (the contract kit's ``released-objects-are-frozen`` rule).
RELEASED_OBJECTS: dict[str, dict[str, str]] = {
    "1.0": {
        "ConsoleOutput": "1.0-708fb6f05b644a2a96451e011c9b574c",
        "CoreInfo": "1.0-5ebfad12f06762d6856b4eefa0393036",
        "DriverInfo": "1.0-2c782735c7a24dce844fabf4611e4901",
        "Flavor": "1.0-68d8a91fdc3548b9ff9c8f41f5aca212",
        "HostResources": "1.0-e797c7a31fbf7ae40be1854469ee6416",
        "ImageMeta": "1.0-b8ebd4ab6c0f915256c1edfeea91204b",
        "Instance": "1.0-94a04680434cc2dd639f913d5d381ddf",
        "InstanceInfo": "1.0-cd183e62ac19a8a6c8b10cebb16b81fa",
        "InstanceInfoList": "1.0-15ecf022a68ddbb8c2a6739cfc9f8f5e",
        "LifecycleEvent": "1.0-a1a21ccaa5b3d243401921631adf07f9",
        "NetworkInfo": "1.0-15ecf022a68ddbb8c2a6739cfc9f8f5e",
        "SnapshotInfo": "1.0-0004645cbc879f7011cdb7ff52979713",
        "VIF": "1.0-4be400af81edc54d95228c253b433b2e",
        "VolumeAttachment": "1.0-cdea393b3995b4531493c04583a426ed",
    },
    "1.1": {
        "ConsoleOutput": "1.0-708fb6f05b644a2a96451e011c9b574c",
        "CoreInfo": "1.0-5ebfad12f06762d6856b4eefa0393036",
        "DriverInfo": "1.0-2c782735c7a24dce844fabf4611e4901",
        "Flavor": "1.0-68d8a91fdc3548b9ff9c8f41f5aca212",
        "HostResources": "1.0-e797c7a31fbf7ae40be1854469ee6416",
        "ImageMeta": "1.0-b8ebd4ab6c0f915256c1edfeea91204b",
        "Instance": "1.1-a36c02a8a3393c46ac1428a8e000eee6",
        "InstanceDiagnostics": "1.0-030a8929717d65c56308fdaec570f098",
        "InstanceInfo": "1.1-e738c3635d2d27c3ea7240c8f3f5fa8f",
        "InstanceInfoList": "1.0-15ecf022a68ddbb8c2a6739cfc9f8f5e",
        "LifecycleEvent": "1.0-a1a21ccaa5b3d243401921631adf07f9",
        "NetworkInfo": "1.0-15ecf022a68ddbb8c2a6739cfc9f8f5e",
        "SnapshotInfo": "1.0-0004645cbc879f7011cdb7ff52979713",
        "VIF": "1.0-4be400af81edc54d95228c253b433b2e",
        "VolumeAttachment": "1.0-cdea393b3995b4531493c04583a426ed",
    },
}

#: The object versions each released virt API version ships (derived from
#: :data:`RELEASED_OBJECTS`). A driver built against a release advertises (at
#: least) these in DriverInfo.object_versions.
RELEASED_OBJECT_VERSIONS: dict[str, dict[str, str]] = {
    api_version: {name: entry.split("-", 1)[0] for name, entry in manifest.items()}
    for api_version, manifest in RELEASED_OBJECTS.items()
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
    DIAGNOSTICS = "diagnostics"  # virt API 1.1

    #: Every capability above (derived from the class body).
    ALL: typing.ClassVar[frozenset[str]]


Capability.ALL = frozenset(
    value for name, value in vars(Capability).items() if name.isupper() and isinstance(value, str)
)

#: Every power state an instance can be in, as the kit and the core know them.
POWER_STATES: frozenset[str] = frozenset(PowerState.ALL) - {PowerState.NOSTATE}


@dataclasses.dataclass(frozen=True)
class Transition:
    """The power states an operation accepts and the one it leaves behind.

    Calling the operation from a state outside ``allowed_from`` raises
    ``InvalidInstanceState`` and changes nothing. ``to`` is the state the
    instance is in when the call returns; ``None`` means "unchanged" (the
    operation does not change the power state). An *idempotent* operation
    called in its ``to`` state is a no-op; a *repeatable* one acts again.
    """

    allowed_from: frozenset[str]
    to: str | None

    @property
    def forbidden_from(self) -> frozenset[str]:
        """The power states from which the operation raises InvalidInstanceState."""
        return POWER_STATES - self.allowed_from


# -- argument domains ---------------------------------------------------------


class Constraint:
    """A machine-readable rule on an argument's value, enforced by the scaffold."""

    def violation(self, value: Any) -> str | None:
        """Why ``value`` breaks the rule, or None when it does not."""
        raise NotImplementedError

    def example(self) -> Any:
        """A value that satisfies the rule."""
        raise NotImplementedError

    def counterexample(self) -> Any:
        """A value of the right type that breaks the rule."""
        raise NotImplementedError


@dataclasses.dataclass(frozen=True)
class OneOf(Constraint):
    """The value is one of ``values``."""

    values: tuple[str, ...]

    def violation(self, value: Any) -> str | None:
        if value in self.values:
            return None
        return "must be one of " + ", ".join(repr(v) for v in self.values)

    def example(self) -> Any:
        return self.values[0]

    def counterexample(self) -> Any:
        return "not-" + "-".join(self.values)


@dataclasses.dataclass(frozen=True)
class AtLeast(Constraint):
    """The value is a number >= ``minimum``."""

    minimum: float

    def violation(self, value: Any) -> str | None:
        return None if value >= self.minimum else f"must be >= {self.minimum}"

    def example(self) -> Any:
        return self.minimum

    def counterexample(self) -> Any:
        return self.minimum - 1


@dataclasses.dataclass(frozen=True)
class NonEmpty(Constraint):
    """The value is a string with at least one non-blank character, at most ``max_length`` long."""

    max_length: int = 255

    def violation(self, value: Any) -> str | None:
        if not value.strip():
            return "must not be empty"
        if len(value) > self.max_length:
            return f"must be at most {self.max_length} characters"
        return None

    def example(self) -> Any:
        return "contract-kit"

    def counterexample(self) -> Any:
        return ""


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclasses.dataclass(frozen=True)
class IsUUID(Constraint):
    """The value is a lower-case canonical uuid string."""

    def violation(self, value: Any) -> str | None:
        return None if _UUID.fullmatch(value) else "must be a uuid"

    def example(self) -> Any:
        return str(uuid.uuid4())

    def counterexample(self) -> Any:
        return "not-a-uuid"


@dataclasses.dataclass(frozen=True)
class Argument:
    """One argument of an operation, as it travels over RPC."""

    name: str
    type: Any  # a registered object class, or str / int / bool
    required: bool
    default: Any = None
    constraints: tuple[Constraint, ...] = ()

    def violation(self, value: Any) -> str | None:
        """Why ``value`` (already of the right type) breaks a constraint, or None."""
        for constraint in self.constraints:
            reason = constraint.violation(value)
            if reason is not None:
                return reason
        return None


@dataclasses.dataclass(frozen=True)
class Operation:
    """The declaration of one operation. See the module docstring."""

    name: str
    added_in: str
    arguments: tuple[Argument, ...]
    result: type | None
    raises: tuple[type[exc.VirtError], ...]
    idempotent: bool
    repeatable: bool
    capability: str | None
    transition: Transition | None
    needs_hypervisor: bool
    time_budget: float
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
    def declared_errors(self) -> tuple[type[exc.VirtError], ...]:
        """The operation's own errors: ``raises`` plus InvalidInstanceState
        when some power state is forbidden, plus InvalidRequest when an
        argument has a constrained domain."""
        extra: tuple[type[exc.VirtError], ...] = ()
        if self.transition is not None and self.transition.forbidden_from:
            extra += (exc.InvalidInstanceState,)
        if any(arg.constraints for arg in self.arguments):
            extra += (exc.InvalidRequest,)
        return tuple(dict.fromkeys(self.raises + extra))

    @property
    def all_errors(self) -> tuple[type[exc.VirtError], ...]:
        """Every error a caller may see from this operation."""
        extra: tuple[type[exc.VirtError], ...] = (exc.HypervisorUnavailable, exc.InternalError)
        if self.capability is not None or self.added_in != "1.0":
            extra += (exc.NotSupported,)
        return tuple(dict.fromkeys(self.declared_errors + extra))

    def budget_for(self, kwargs: dict[str, Any]) -> float:
        """The time budget of one call: ``time_budget``, plus the call's own
        ``timeout`` argument where the operation has one (a graceful power-off
        may take as long as it was told to wait)."""
        waited = kwargs.get("timeout") if any(a.name == "timeout" for a in self.arguments) else None
        return self.time_budget + (waited if isinstance(waited, int) and waited > 0 else 0)

    def example_arguments(self) -> dict[str, Any]:
        """A valid value for every non-object argument with a constraint or
        without a default (what the kit passes besides the instance)."""
        found: dict[str, Any] = {}
        for arg in self.arguments:
            if isinstance(arg.type, type) and issubclass(arg.type, obj_base.NovaObject):
                continue
            if arg.constraints:
                found[arg.name] = arg.constraints[0].example()
            elif arg.required:
                found[arg.name] = {str: "contract-kit", int: 0, bool: False}[arg.type]
        return found


#: The operation the running driver method serves, set by the base class's
#: wrapper (so helpers such as :meth:`ComputeDriver.check_transition` need not
#: be told).
_current_operation: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "virt_operation", default=None
)


def operation(
    *,
    added_in: str,
    raises: tuple[type[exc.VirtError], ...] = (),
    idempotent: bool,
    repeatable: bool | None = None,
    capability: str | None = None,
    transition: Transition | None = None,
    needs_hypervisor: bool = True,
    time_budget: float,
    rpc_timeout: int = 60,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare a method of :class:`ComputeDriver` as a contract operation.

    ``repeatable`` defaults to ``idempotent``. ``time_budget`` must be below
    ``rpc_timeout``.
    """
    if time_budget >= rpc_timeout:
        raise ValueError(f"time_budget: {time_budget} must be below rpc_timeout {rpc_timeout}")

    def declare(method: Callable[..., Any]) -> Callable[..., Any]:
        method.__virt_operation__ = dict(  # type: ignore[attr-defined]
            added_in=added_in,
            raises=raises,
            idempotent=idempotent,
            repeatable=idempotent if repeatable is None else repeatable,
            capability=capability,
            transition=transition,
            needs_hypervisor=needs_hypervisor,
            time_budget=float(time_budget),
            rpc_timeout=rpc_timeout,
        )
        return method

    return declare


def _states(*states: str) -> frozenset[str]:
    return frozenset(states)


def _instance_uuid_of(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str | None:
    for value in (*args, *kwargs.values()):
        if isinstance(value, objects.Instance):
            return value.uuid
    return None


def _serving(name: str, method: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a driver's implementation of operation ``name``: note which
    operation runs, and map the driver's own exceptions through
    :meth:`ComputeDriver.translate_error`."""

    @functools.wraps(method)
    def serve(self: ComputeDriver, *args: Any, **kwargs: Any) -> Any:
        token = _current_operation.set(name)
        try:
            return method(self, *args, **kwargs)
        except exc.VirtError:
            raise
        except Exception as error:
            mapped = self.translate_error(error, name, _instance_uuid_of(args, kwargs))
            if mapped is None:
                raise
            raise mapped from None
        finally:
            _current_operation.reset(token)

    serve.__virt_serving__ = True  # type: ignore[attr-defined]
    return serve


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
    #: The newest virt API version this driver implements. A driver written
    #: against an older nova-common keeps the default, so the core pins it to
    #: 1.0 and answers NotSupported for newer operations without calling it,
    #: whatever nova-common it is installed with.
    virt_api_max: typing.ClassVar[str] = "1.0"

    def __init__(self, conf: Any) -> None:
        self.conf = conf
        self._event_handler: Callable[[objects.LifecycleEvent], None] | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # Every operation a driver implements runs inside _serving: the base
        # class then knows which operation runs (check_transition) and maps
        # the driver's own exceptions (translate_error), so no driver repeats
        # the operation's name in a decorator.
        super().__init_subclass__(**kwargs)
        for name in OPERATIONS:
            method = cls.__dict__.get(name)
            if callable(method) and not getattr(method, "__virt_serving__", False):
                setattr(cls, name, _serving(name, method))

    # -- what the base class does for every driver --------------------------

    def translate_error(
        self, error: Exception, operation: str, instance_uuid: str | None
    ) -> exc.VirtError | None:
        """Map an exception the driver's hypervisor library raised during
        ``operation`` to a contract error, or return None to let it become
        InternalError (logged by the scaffold with a reference).

        Called by the base class for every exception that is not already a
        contract error; ``instance_uuid`` is the instance argument's, if any.
        Override it once per driver instead of wrapping every operation.
        """
        return None

    def check_transition(self, instance: objects.Instance, power_state: str) -> bool:
        """Apply the running operation's :class:`Transition` to an instance
        found in ``power_state``.

        Raises InvalidInstanceState from a state the operation does not
        accept. Returns False when there is nothing to do (an idempotent
        operation already in its target state) and True when the driver must
        act. Call it from inside an operation; the operation is known.
        """
        op = self.current_operation()
        operation = op.name
        if op.transition is None:
            raise RuntimeError(f"{operation} declares no Transition")
        if power_state not in op.transition.allowed_from:
            raise exc.InvalidInstanceState(
                operation=operation, instance_uuid=instance.uuid, power_state=power_state
            )
        return not (op.idempotent and power_state == op.transition.to)

    def current_operation(self) -> Operation:
        """The declaration of the operation running in this thread."""
        operation = _current_operation.get()
        if operation is None:
            raise RuntimeError("no virt operation is running in this thread")
        return OPERATIONS[operation]

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

    @operation(added_in="1.0", idempotent=True, needs_hypervisor=False, time_budget=1)
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

    @operation(added_in="1.0", idempotent=True, time_budget=5)
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

    @operation(added_in="1.0", idempotent=True, time_budget=5)
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
        time_budget=180,
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

    @operation(added_in="1.0", idempotent=True, time_budget=60, rpc_timeout=300)
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
        repeatable=True,
        capability=Capability.REBOOT,
        raises=(exc.InstanceNotFound,),
        transition=Transition(_states(PowerState.RUNNING), PowerState.RUNNING),
        time_budget=120,
        rpc_timeout=300,
    )
    def reboot(
        self, instance: objects.Instance, reboot_type: Annotated[str, OneOf(("soft", "hard"))]
    ) -> None:
        """Reboot the instance.

        Preconditions: the instance is ``running``. ``reboot_type`` is
        ``soft`` (ask the guest; a driver may fall back to a reset when the
        guest cannot be asked) or ``hard`` (reset the virtual machine).

        Result: None; the instance is ``running`` again when the call returns.

        Errors: InstanceNotFound; InvalidInstanceState when it is not
        running; InvalidRequest for another ``reboot_type``.

        Idempotent: no (every call reboots). Repeatable: yes, repeating it
        never fails.
        """
        raise exc.NotSupported(operation="reboot", reason="not implemented by this driver")

    @operation(
        added_in="1.0",
        idempotent=True,
        capability=Capability.POWER,
        raises=(exc.InstanceNotFound,),
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
        time_budget=60,
        rpc_timeout=600,
    )
    def power_off(self, instance: objects.Instance, timeout: Annotated[int, AtLeast(0)] = 0) -> None:
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
        raises=(exc.InstanceNotFound,),
        transition=Transition(
            _states(PowerState.SHUTDOWN, PowerState.CRASHED, PowerState.RUNNING), PowerState.RUNNING
        ),
        time_budget=120,
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
        raises=(exc.InstanceNotFound,),
        transition=Transition(_states(PowerState.RUNNING, PowerState.PAUSED), PowerState.PAUSED),
        time_budget=10,
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
        raises=(exc.InstanceNotFound,),
        transition=Transition(_states(PowerState.PAUSED, PowerState.RUNNING), PowerState.RUNNING),
        time_budget=10,
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
        raises=(exc.InstanceNotFound,),
        transition=Transition(_states(PowerState.RUNNING, PowerState.SUSPENDED), PowerState.SUSPENDED),
        time_budget=120,
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
        raises=(exc.InstanceNotFound,),
        transition=Transition(_states(PowerState.SUSPENDED, PowerState.RUNNING), PowerState.RUNNING),
        time_budget=120,
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

    @operation(added_in="1.0", idempotent=True, raises=(exc.InstanceNotFound,), time_budget=2)
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
        time_budget=5,
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
        transition=Transition(POWER_STATES - {PowerState.CRASHED}, None),
        time_budget=300,
        rpc_timeout=600,
    )
    def snapshot(
        self,
        instance: objects.Instance,
        image_id: Annotated[str, IsUUID()],
        name: Annotated[str, NonEmpty()],
    ) -> objects.SnapshotInfo:
        """Capture the instance's disk as an image.

        Preconditions: any power state but ``crashed``; ``image_id`` is a
        uuid the core reserved, ``name`` a display name (escaped by the
        driver wherever it reaches the hypervisor).

        Result: SnapshotInfo with the same ``image_id``. The instance is in
        the same power state as before the call.

        Errors: InstanceNotFound; InvalidInstanceState when it is
        ``crashed``; InvalidRequest naming a bad ``image_id`` or ``name``;
        OperationFailed when the hypervisor refuses.

        Idempotent: no (each call makes a new snapshot).
        """
        raise exc.NotSupported(operation="snapshot", reason="not implemented by this driver")

    @operation(
        added_in="1.0",
        idempotent=True,
        capability=Capability.VOLUME_ATTACH,
        raises=(exc.InstanceNotFound, exc.InvalidRequest, exc.OperationFailed),
        transition=Transition(POWER_STATES - {PowerState.CRASHED}, None),
        time_budget=30,
    )
    def attach_volume(self, instance: objects.Instance, attachment: objects.VolumeAttachment) -> None:
        """Attach a volume at a mountpoint.

        Preconditions: any power state but ``crashed``. The mountpoint is
        free, or holds this same volume.

        Result: None; the volume is part of the instance until detached or
        destroyed.

        Errors: InstanceNotFound; InvalidInstanceState when it is
        ``crashed``; InvalidRequest when the mountpoint holds another volume
        or this volume is attached elsewhere on the instance; OperationFailed
        when the hypervisor refuses.

        Idempotent: yes; attaching the same volume at the same mountpoint
        again is a no-op.
        """
        raise exc.NotSupported(operation="attach_volume", reason="not implemented by this driver")

    @operation(
        added_in="1.0",
        idempotent=True,
        capability=Capability.VOLUME_ATTACH,
        raises=(exc.InstanceNotFound, exc.OperationFailed),
        transition=Transition(POWER_STATES - {PowerState.CRASHED}, None),
        time_budget=30,
    )
    def detach_volume(self, instance: objects.Instance, volume_id: str) -> None:
        """Detach a volume.

        Preconditions: any power state but ``crashed``.

        Result: None; the volume is no longer attached and its mountpoint is free.

        Errors: InstanceNotFound; InvalidInstanceState when it is
        ``crashed``; OperationFailed when the hypervisor refuses.

        Idempotent: yes; detaching a volume that is not attached is a no-op.
        """
        raise exc.NotSupported(operation="detach_volume", reason="not implemented by this driver")

    # -- the operations of virt API 1.1 -------------------------------------

    @operation(
        added_in="1.1",
        idempotent=True,
        capability=Capability.DIAGNOSTICS,
        raises=(exc.InstanceNotFound,),
        time_budget=5,
    )
    def get_diagnostics(self, instance: objects.Instance) -> objects.InstanceDiagnostics:
        """What the hypervisor can tell about one instance's use of the host.

        Preconditions: none; any power state.

        Result: InstanceDiagnostics of the instance: its power state, vCPUs,
        memory, virtual NICs and disks, and, when the hypervisor knows them,
        uptime and CPU time.

        Errors: InstanceNotFound.

        Idempotent: yes (read-only).
        """
        raise exc.NotSupported(operation="get_diagnostics", reason="not implemented by this driver")


def _base_type(hint: Any) -> Any:
    return typing.get_args(hint)[0] if typing.get_origin(hint) is Annotated else hint


def _constraints(hint: Any) -> tuple[Constraint, ...]:
    if typing.get_origin(hint) is not Annotated:
        return ()
    return tuple(extra for extra in typing.get_args(hint)[1:] if isinstance(extra, Constraint))


def arguments_of(method: Callable[..., Any]) -> tuple[tuple[Argument, ...], Any]:
    """The declared arguments (after ``self``) and result type of ``method``,
    with each argument's domain from its ``Annotated`` constraints."""
    hints = typing.get_type_hints(method, include_extras=True)
    signature = inspect.signature(method)
    arguments = tuple(
        Argument(
            name=param.name,
            type=_base_type(hints[param.name]),
            required=param.default is inspect.Parameter.empty,
            default=None if param.default is inspect.Parameter.empty else param.default,
            constraints=_constraints(hints[param.name]),
        )
        for param in list(signature.parameters.values())[1:]
    )
    result = _base_type(hints.get("return"))
    return arguments, None if result is type(None) else result


def _collect_operations() -> dict[str, Operation]:
    found: dict[str, Operation] = {}
    for name, member in vars(ComputeDriver).items():
        declared = getattr(member, "__virt_operation__", None)
        if declared is None:
            continue
        arguments, result = arguments_of(member)
        found[name] = Operation(
            name=name,
            arguments=arguments,
            result=result,
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


def operations_added_in(version: str) -> list[str]:
    """The names of the operations ``version`` added (derived from ``added_in``)."""
    return [op.name for op in OPERATIONS.values() if op.added_in == version]


class _Declaration(typing.Protocol):
    name: str
    arguments: tuple[Argument, ...]


def _check_argument(decl: _Declaration, arg: Argument, value: Any) -> None:
    expected = arg.type
    if value is None and not arg.required:
        return
    if isinstance(expected, type) and issubclass(expected, obj_base.NovaObject):
        ok = isinstance(value, expected)
    elif expected is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif expected is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    else:
        ok = isinstance(value, expected)
    if not ok:
        raise exc.InvalidRequest(
            field=arg.name,
            value=value if not isinstance(value, obj_base.NovaObject) else value.obj_name(),
            reason=f"{decl.name} expects {getattr(expected, '__name__', expected)}",
        )
    reason = arg.violation(value)
    if reason is not None:
        raise exc.InvalidRequest(field=arg.name, value=value, reason=f"{decl.name}: {reason}")


def check_arguments(decl: _Declaration, kwargs: dict[str, Any]) -> None:
    """Raise InvalidRequest naming the first argument of ``kwargs`` that breaks
    the declaration ``decl`` (an :class:`Operation` or a report-API message):
    unknown, missing, mistyped, or outside its declared domain."""
    known = {arg.name: arg for arg in decl.arguments}
    for name in kwargs:
        if name not in known:
            raise exc.InvalidRequest(field=name, value=kwargs[name], reason=f"not an argument of {decl.name}")
    for arg in decl.arguments:
        if arg.name not in kwargs:
            if arg.required:
                raise exc.InvalidRequest(field=arg.name, value=None, reason=f"required by {decl.name}")
            continue
        _check_argument(decl, arg, kwargs[arg.name])
