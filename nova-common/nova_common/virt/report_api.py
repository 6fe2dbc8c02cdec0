"""The other direction of the wire: what a compute service tells the core.

Declared with the same machinery as the virt API (:mod:`nova_common.virt.api`):
every message is a method of an abstract class below, with its arguments and
their domains in the signature, its result, whether it is a call or a cast,
the version that added it, and who sends it when. The clients and endpoints
on both sides are derived from these declarations (:class:`MessageClient`,
:func:`endpoint_class`), so neither side restates a message by hand, and the
contract kit plays the core's side of :class:`ComputeReportAPI` in black-box
mode to check a compute service against it.

Two APIs:

* :class:`ComputeReportAPI`: compute service -> core, on topic ``[compute]
  conductor_topic`` (the conductor's ``[conductor] topic``), default namespace,
  version :data:`REPORT_API_VERSION`. Registration is a call the core answers
  with its :class:`~nova_common.objects.CoreInfo` (what the service then
  backports its objects to); everything else is a cast, so a compute service
  never waits on the core after registering.
* :class:`ServiceControlAPI`: core -> compute service, on topic ``compute``,
  ``server=<host>``, namespace :data:`SERVICE_CONTROL_NAMESPACE`: the few
  things the core asks of the scaffold itself rather than of the driver.

Rules of change: as for the virt API (a minor version only adds: a message,
an optional argument, an object field with a backport). Record each version
in :data:`REPORT_VERSION_HISTORY`.
"""

from __future__ import annotations

import abc
import dataclasses
import inspect
import re
from collections.abc import Callable
from typing import Annotated, Any

import oslo_messaging

from nova_common import objects
from nova_common.messaging.serializer import ObjectSerializer
from nova_common.virt import api
from nova_common.virt import exceptions as exc

#: The newest compute-report API version this nova-common speaks.
REPORT_API_VERSION = "1.1"

#: Every released compute-report API version and what it changed.
REPORT_VERSION_HISTORY: dict[str, str] = {
    "1.0": "Initial: register (a call answered with CoreInfo), heartbeat, report_resources, "
    "lifecycle_event; request_registration (core to service).",
    "1.1": "deregister: a compute service stopping cleanly tells the core it is going.",
}

#: Namespace of :class:`ServiceControlAPI` on a compute service's queue.
SERVICE_CONTROL_NAMESPACE = "service_control"

CALL, CAST = "call", "cast"


@dataclasses.dataclass(frozen=True)
class Matches(api.Constraint):
    """The value is a string matching ``pattern`` (described as ``what``)."""

    pattern: str
    what: str
    sample: str

    def violation(self, value: Any) -> str | None:
        return None if re.fullmatch(self.pattern, value) else f"must be {self.what}"

    def example(self) -> Any:
        return self.sample

    def counterexample(self) -> Any:
        return " not a host "


#: A compute host's name as the core accepts it.
HostName = Annotated[
    str,
    Matches(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,254}", "a host name (letters, digits, . _ : -)", "compute-1"),
]


@dataclasses.dataclass(frozen=True)
class Message:
    """The declaration of one message. See the module docstring."""

    name: str
    api: str
    added_in: str
    kind: str  # CALL or CAST
    sent: str  # who sends it when
    arguments: tuple[api.Argument, ...]
    result: type | None
    rpc_timeout: int
    doc: str


def message(
    *, added_in: str, kind: str, sent: str, rpc_timeout: int = 10
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare a method of an API class below as a message."""
    if kind not in (CALL, CAST):
        raise ValueError(f"kind: {kind!r} is neither {CALL!r} nor {CAST!r}")

    def declare(method: Callable[..., Any]) -> Callable[..., Any]:
        method.__report_message__ = dict(  # type: ignore[attr-defined]
            added_in=added_in, kind=kind, sent=sent, rpc_timeout=rpc_timeout
        )
        return method

    return declare


class ComputeReportAPI(abc.ABC):
    """What a compute service sends to the core. The conductor implements it
    (:mod:`nova_common.conductor.endpoints`); so does the contract kit's core
    side, which checks a service against it."""

    @message(
        added_in="1.0",
        kind=CALL,
        sent="by the compute service at start, retried with back-off until the core answers; "
        "again when the driver's capabilities change, when its hypervisor comes back, and "
        "whenever the core asks (request_registration)",
    )
    @abc.abstractmethod
    def register(
        self,
        host: HostName,
        driver_info: objects.DriverInfo,
        heartbeat_interval: Annotated[float, api.AtLeast(0)],
        report_interval: Annotated[float, api.AtLeast(0)],
    ) -> objects.CoreInfo:
        """A compute service announces itself and what its driver is.

        Arguments: the host's name (the server of its virt API queue), the
        driver's DriverInfo (as ``get_driver_info`` answers), and the seconds
        between the heartbeats and the resource reports that follow, so the
        core can tell a silent host from a slow one.

        Result: CoreInfo, the core's virt API range and object manifest. From
        then on the service backports every object it sends to that manifest,
        and serves virt API calls at the version the core pins from
        ``driver_info.virt_api_max``.

        Errors: InvalidRequest naming the field of a registration the core
        refuses (the service logs it and tries again later).
        """

    @message(
        added_in="1.0",
        kind=CAST,
        sent="by the compute service every heartbeat_interval seconds once registered",
    )
    @abc.abstractmethod
    def heartbeat(self, host: HostName, sequence: Annotated[int, api.AtLeast(1)]) -> None:
        """The service is alive. ``sequence`` counts heartbeats since the
        service started (1, 2, ...), so the core can see lost ones."""

    @message(
        added_in="1.0",
        kind=CAST,
        sent="by the compute service every report_interval seconds once registered",
    )
    @abc.abstractmethod
    def report_resources(self, host: HostName, resources: objects.HostResources) -> None:
        """The host's capacity and use, read from the driver at the time of
        the report (get_host_resources), so a report after a spawn or a
        destroy includes it."""

    @message(
        added_in="1.0",
        kind=CAST,
        sent="by the compute service whenever its driver emits a lifecycle event: every "
        "power-state change the core did not ask for (a guest shutting down, a crash, an "
        "administrator acting on the hypervisor)",
    )
    @abc.abstractmethod
    def lifecycle_event(self, host: HostName, event: objects.LifecycleEvent) -> None:
        """An instance changed state behind the core's back."""

    @message(
        added_in="1.1",
        kind=CAST,
        sent="by the compute service when it stops cleanly (SIGTERM), after it stopped serving, "
        "to a core that speaks report API 1.1",
    )
    @abc.abstractmethod
    def deregister(self, host: HostName, reason: Annotated[str, api.NonEmpty()]) -> None:
        """The service is going away on purpose: the core stops choosing the
        host at once instead of waiting for its heartbeats to stop. A later
        registration brings it back."""


class ServiceControlAPI(abc.ABC):
    """What the core asks of a compute service's scaffold (not its driver)."""

    @message(
        added_in="1.0",
        kind=CAST,
        sent="by the core when a host it does not know heartbeats or reports; by the contract "
        "kit when it starts, to receive the registration itself",
    )
    @abc.abstractmethod
    def request_registration(self) -> None:
        """Register again now (the core lost or never received the last one)."""


def core_info(core_version: str, object_versions: dict[str, str] | None = None) -> objects.CoreInfo:
    """The answer to a registration from a core of this nova-common: its virt API
    range, this report API version, and ``object_versions`` (default: this
    process's registry), the versions the service then reports objects at."""
    return objects.CoreInfo(
        core_version=core_version,
        virt_api_min="1.0",
        virt_api_max=api.VIRT_API_VERSION,
        report_api_version=REPORT_API_VERSION,
        object_versions=dict(object_versions or objects.object_manifest()),
    )


def _collect(cls: type) -> dict[str, Message]:
    found: dict[str, Message] = {}
    for name, member in vars(cls).items():
        declared = getattr(member, "__report_message__", None)
        if declared is None:
            continue
        arguments, result = api.arguments_of(member)
        found[name] = Message(
            name=name,
            api=cls.__name__,
            arguments=arguments,
            result=result,
            doc=inspect.cleandoc(member.__doc__ or ""),
            **declared,
        )
    return found


#: The messages of the compute-report API (service -> core), in declaration order.
COMPUTE_REPORT: dict[str, Message] = _collect(ComputeReportAPI)

#: The messages of the service-control API (core -> service).
SERVICE_CONTROL: dict[str, Message] = _collect(ServiceControlAPI)


class MessageClient:
    """The sending side of one of the APIs above, derived from its declarations.

    ``fixed`` holds arguments every message carries with the same value (the
    sender's host). Each message is checked against its declaration before it
    is sent, so a sender never puts on the wire what the contract forbids.
    ``version_manifest`` (set when the receiver told us what it reads) is what
    objects are backported to.
    """

    def __init__(
        self,
        transport: oslo_messaging.Transport,
        target: oslo_messaging.Target,
        messages: dict[str, Message],
        fixed: dict[str, Any] | None = None,
        version_manifest: dict[str, str] | None = None,
    ) -> None:
        #: The newest API version the receiver reads (None: any): newer
        #: messages are refused locally (:meth:`can_send`).
        self.version_cap: str | None = None
        self._transport = transport
        self._target = target
        self._messages = messages
        self._fixed = dict(fixed or {})
        self._prepared: dict[str, Any] = {}
        self.version_manifest = version_manifest

    @property
    def version_manifest(self) -> dict[str, str] | None:
        return self._manifest

    @version_manifest.setter
    def version_manifest(self, manifest: dict[str, str] | None) -> None:
        # Backporting walks every object sent: skip it when the receiver reads
        # exactly our versions (the common case outside upgrades).
        self._manifest = None if manifest == objects.object_manifest() else manifest
        self._client = oslo_messaging.get_rpc_client(
            self._transport, self._target, serializer=ObjectSerializer(self._manifest)
        )
        self._prepared = {}

    def can_send(self, name: str) -> bool:
        """Whether the receiver reads message ``name`` (its version is within the cap)."""
        msg = self._messages[name]
        return self.version_cap is None or api.parse_version(msg.added_in) <= api.parse_version(
            self.version_cap
        )

    def send(self, name: str, /, timeout: float | None = None, **kwargs: Any) -> Any:
        """Send message ``name``: a call returns the receiver's answer (waiting
        ``timeout`` seconds, default the message's ``rpc_timeout``)."""
        msg = self._messages.get(name)
        if msg is None:
            raise exc.InvalidRequest(field="message", value=name, reason="not in the declared API")
        if not self.can_send(name):
            raise exc.NotSupported(
                operation=name,
                reason=f"the receiver reads {msg.api} up to {self.version_cap}; {name} needs {msg.added_in}",
            )
        kwargs = {**self._fixed, **kwargs}
        api.check_arguments(msg, kwargs)
        prepared = self._prepared.get(name)
        if prepared is None:
            prepared = self._prepared[name] = self._client.prepare(
                version=msg.added_in, timeout=msg.rpc_timeout
            )
        if msg.kind == CALL:
            if timeout is not None:
                prepared = prepared.prepare(timeout=timeout)
            return prepared.call({}, name, **kwargs)
        prepared.cast({}, name, **kwargs)
        return None

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name.startswith("_") or name not in self._messages:
            raise AttributeError(name)
        return lambda **kwargs: self.send(name, **kwargs)


def endpoint_class(
    name: str,
    messages: dict[str, Message],
    version: str,
    namespace: str | None = None,
) -> type:
    """An oslo.messaging endpoint class for ``messages``, derived from their
    declarations. Each method checks its arguments against the declaration and
    hands them to ``self.handler.<message>(**kwargs)``.

    A message whose arguments break the declaration never reaches the handler:
    the endpoint's ``refused(message, kwargs, error)`` is told (to log and
    count it), and a call then answers InvalidRequest naming the field (a cast
    cannot answer).
    """

    def __init__(self: Any, handler: Any) -> None:
        self.handler = handler

    def refused(self: Any, message: Message, kwargs: dict[str, Any], error: Exception) -> None:
        """Called for a message that broke its declaration; override to log or count."""

    namespace_dict: dict[str, Any] = {
        "__init__": __init__,
        "refused": refused,
        "target": oslo_messaging.Target(namespace=namespace, version=version),
        "__doc__": f"Serves {', '.join(messages)} (derived from nova_common.virt.report_api).",
    }
    for msg in messages.values():
        namespace_dict[msg.name] = _endpoint_method(msg)
    return type(name, (), namespace_dict)


def _endpoint_method(msg: Message) -> Callable[..., Any]:
    @oslo_messaging.expected_exceptions(exc.VirtError)
    def method(self: Any, ctxt: Any, **kwargs: Any) -> Any:
        try:
            api.check_arguments(msg, kwargs)
        except exc.InvalidRequest as error:
            self.refused(msg, kwargs, error)
            if msg.kind == CALL:
                raise
            return None
        return getattr(self.handler, msg.name)(**kwargs)

    method.__name__ = msg.name
    method.__doc__ = f"Serves {msg.api}.{msg.name} of :mod:`nova_common.virt.report_api`."
    return method
