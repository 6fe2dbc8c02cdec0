"""The core's side of the virt API: an RPC client derived from the spec.

Each compute host listens on topic ``compute`` with ``server=<host>`` (one
queue per host). :meth:`VirtAPIClient.host` returns a :class:`HostClient`
pinned to that host: on first use it asks the host for its DriverInfo at
version 1.0 (which every host serves) and from then on

* sends each operation at the version that added it, refusing locally with
  NotSupported when the pinned version is older (``can_send_version``);
* pins to ``min(our version, the host's virt_api_max, [upgrade_levels] compute)``,
  so a rolling upgrade can hold every client at the oldest host's version;
* backports the objects it sends to the host's object manifest, and, when the
  host is newer, sends our manifest so the host backports what it returns.

The operations are methods generated from :data:`nova_common.virt.api.OPERATIONS`
(``client.host("h1").power_off(instance=inst, timeout=30)``); see that module
for what each promises.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import oslo_messaging
from oslo_config import cfg
from oslo_utils import versionutils

from nova_common import objects
from nova_common.messaging.serializer import OBJECT_VERSIONS_KEY, ObjectSerializer
from nova_common.messaging.transport import get_transport
from nova_common.virt import api
from nova_common.virt import exceptions as exc

COMPUTE_TOPIC = "compute"

upgrade_opts = [
    cfg.StrOpt(
        "compute",
        regex=r"^(auto|\d+\.\d+)$",
        help="Cap of the virt API version, for rolling upgrades. On the core: the version "
        "sent to compute services; 'auto' pins every host to the lowest version among the "
        "registered compute services, re-evaluated as services register and go, so the pin "
        "rises once the last old service is upgraded; 'X.Y' pins to that version; unset, "
        "each host gets the newest version both sides speak. On a compute service: the "
        "newest version it advertises and serves ('X.Y'; 'auto' and unset: no cap).",
    ),
    cfg.StrOpt(
        "conductor",
        regex=r"^(auto|\d+\.\d+)$",
        help="On a compute service: cap of the compute-report API version it sends to the "
        "core. 'auto' (or unset): the version the core announced when it answered the "
        "registration; 'X.Y': at most that version.",
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    try:
        conf.register_opts(upgrade_opts, group="upgrade_levels")
    except cfg.DuplicateOptError:
        pass


class ComputeServiceUnavailable(exc.VirtError):
    """The compute service did not answer in time (client side only; it never
    crosses the wire, so it is not in WIRE_EXCEPTIONS)."""

    code = "compute_service_unavailable"
    msg_fmt = "Compute service on host %(host)s did not answer %(operation)s: %(reason)s"


def _lower(a: str, b: str) -> str:
    return a if versionutils.convert_version_to_tuple(a) <= versionutils.convert_version_to_tuple(b) else b


def _newer_than_ours(manifest: dict[str, str]) -> bool:
    ours = objects.object_manifest()
    for name, version in manifest.items():
        if name in ours and versionutils.convert_version_to_tuple(
            version
        ) > versionutils.convert_version_to_tuple(ours[name]):
            return True
    return False


class HostClient:
    """The virt API of one compute host, pinned to the version it advertised."""

    def __init__(
        self,
        transport: oslo_messaging.Transport,
        host: str,
        version_cap: str | None = None,
        topic: str = COMPUTE_TOPIC,
        timeout: int | None = None,
    ) -> None:
        self.host = host
        self._transport = transport
        self._topic = topic
        self._version_cap = version_cap
        self._timeout = timeout
        self._lock = threading.Lock()
        self.driver_info: objects.DriverInfo | None = None
        self.version: str | None = None
        self._client: oslo_messaging.RPCClient | None = None
        self._context_extra: dict[str, Any] = {}
        # Per-operation call contexts of the pinned client, built once: the
        # version check and prepare() are not free at thousands of calls/s.
        self._prepared: dict[str, Any] = {}

    def _rpc_client(self, version_cap: str, manifest: dict[str, str] | None) -> oslo_messaging.RPCClient:
        target = oslo_messaging.Target(topic=self._topic, server=self.host, version="1.0")
        return oslo_messaging.get_rpc_client(
            self._transport,
            target,
            version_cap=version_cap,
            serializer=ObjectSerializer(manifest),
            # Mandatory publishes: a call to a host whose queue does not exist
            # (the broker restarted and its compute service has not declared
            # it again yet) comes back at once and is sent again, instead of
            # being dropped and waited on for the whole RPC timeout (a spawn:
            # 300 s, seen after a 30 s broker outage).
            transport_options=oslo_messaging.TransportOptions(at_least_once=True),
        )

    def pin(self) -> str:
        """Ask the host who it is and pin to the highest version both sides
        speak. Called on first use; call again after the host was upgraded."""
        with self._lock:
            probe = self._rpc_client("1.0", None)
            get_driver_info = api.OPERATIONS["get_driver_info"]
            info = self._call(
                self._prepare(probe, get_driver_info),
                get_driver_info,
                {},
                {},
                self._timeout or get_driver_info.rpc_timeout,
            )
            return self._pin(info)

    def pin_to(self, info: objects.DriverInfo) -> str:
        """Pin from the DriverInfo the host already advertised (its
        registration with the conductor), saving :meth:`pin`'s round trip."""
        with self._lock:
            return self._pin(info)

    def repin(self, version_cap: str | None) -> str | None:
        """Apply a new version cap; re-pin at once when the host is known."""
        with self._lock:
            self._version_cap = version_cap
            return self._pin(self.driver_info) if self.driver_info is not None else None

    def pin_reason(self) -> str:
        """Why the pinned version is what it is, for the registration log."""
        info = self.driver_info
        if info is None:
            return "not pinned yet"
        parts = [
            f"we speak {api.VIRT_API_VERSION}",
            f"the host serves {info.virt_api_min}-{info.virt_api_max}",
        ]
        if self._version_cap:
            parts.append(f"[upgrade_levels] compute caps at {self._version_cap}")
        return "; ".join(parts)

    def _pin(self, info: Any) -> str:
        if not isinstance(info, objects.DriverInfo):
            raise exc.InternalError(
                operation="get_driver_info", error_type=type(info).__name__, reference="client"
            )
        version = _lower(api.VIRT_API_VERSION, info.virt_api_max)
        if self._version_cap:
            version = _lower(version, self._version_cap)
        # Backporting walks every object sent; skip it when the host reads
        # exactly our versions (the common case outside upgrades).
        manifest = dict(info.object_versions)
        self._client = self._rpc_client(version, None if manifest == objects.object_manifest() else manifest)
        self._prepared = {}
        self._context_extra = (
            {OBJECT_VERSIONS_KEY: objects.object_manifest()} if _newer_than_ours(info.object_versions) else {}
        )
        self.driver_info = info
        self.version = version
        return version

    def can_send(self, operation: str) -> bool:
        """Whether the host's pinned version includes ``operation``."""
        client = self._client or self._pinned_client()
        return client.can_send_version(api.OPERATIONS[operation].added_in)

    def _pinned_client(self) -> oslo_messaging.RPCClient:
        if self._client is None:
            self.pin()
        assert self._client is not None
        return self._client

    def call(self, operation: str, /, **kwargs: Any) -> Any:
        """Call ``operation`` on the host with keyword arguments from the spec."""
        op = api.OPERATIONS.get(operation)
        if op is None:
            raise exc.InvalidRequest(field="operation", value=operation, reason="not in the virt API")
        prepared = self._prepared.get(operation)
        if prepared is None:
            client = self._pinned_client()
            if not client.can_send_version(op.added_in):
                served = self.driver_info.virt_api_max if self.driver_info is not None else "?"
                raise exc.NotSupported(
                    operation=operation,
                    reason=f"host {self.host} is pinned to virt API {self.version} (it serves up to "
                    f"{served}); {operation} needs {op.added_in}",
                )
            prepared = self._prepare(client, op)
            self._prepared[operation] = prepared
        return self._call(prepared, op, kwargs, self._context_extra, self._timeout or op.rpc_timeout)

    def call_within(self, operation: str, seconds: float, /, **kwargs: Any) -> Any:
        """:meth:`call` with its own RPC timeout of ``seconds`` (the contract
        kit bounds each call by the operation's time budget)."""
        op = api.OPERATIONS[operation]
        client = self._pinned_client()
        if not client.can_send_version(op.added_in):
            return self.call(operation, **kwargs)  # refused locally with NotSupported
        prepared = client.prepare(version=op.added_in, timeout=seconds)
        return self._call(prepared, op, kwargs, self._context_extra, seconds)

    def _prepare(self, client: oslo_messaging.RPCClient, op: api.Operation) -> Any:
        timeout = self._timeout if self._timeout is not None else op.rpc_timeout
        return client.prepare(version=op.added_in, timeout=timeout)

    def _call(
        self,
        prepared: Any,
        op: api.Operation,
        kwargs: dict[str, Any],
        context_extra: dict[str, Any],
        timeout: float,
    ) -> Any:
        context = {"request_id": "req-" + uuid.uuid4().hex, **context_extra}
        deadline = time.monotonic() + timeout
        try:
            while True:
                try:
                    return prepared.call(context, op.name, **kwargs)
                except oslo_messaging.MessageUndeliverable:
                    # Not delivered, so sending it again is safe, whatever the operation.
                    remaining = deadline - time.monotonic()
                    if remaining <= _UNROUTABLE_RETRY_S:
                        raise ComputeServiceUnavailable(
                            host=self.host,
                            operation=op.name,
                            reason=f"nothing consumed its queue for {timeout:g} s",
                        ) from None
                    time.sleep(_UNROUTABLE_RETRY_S)
                    prepared = prepared.prepare(timeout=remaining - _UNROUTABLE_RETRY_S)
        except exc.VirtError as error:
            # oslo.messaging rebuilds contract errors as "<Class>_Remote"
            # subclasses whose str() carries the service's traceback; hand
            # callers the plain class with the plain message instead.
            cls = exc.wire_class(error)
            if cls is None or type(error) is cls:
                raise
            raise cls(error.message, **error.kwargs) from None
        except oslo_messaging.MessagingTimeout as error:
            raise ComputeServiceUnavailable(host=self.host, operation=op.name, reason=str(error)) from error
        except oslo_messaging.RemoteError as error:
            # Only possible from a peer that does not map its errors (not ours).
            raise exc.InternalError(
                operation=op.name, error_type=error.exc_type, reference=context["request_id"]
            ) from error


#: Pause before sending again a call the broker could not route.
_UNROUTABLE_RETRY_S = 0.5


def _make_method(op: api.Operation) -> Any:
    def method(self: HostClient, /, **kwargs: Any) -> Any:
        return self.call(op.name, **kwargs)

    method.__name__ = op.name
    method.__qualname__ = f"HostClient.{op.name}"
    method.__doc__ = f"RPC call of :meth:`nova_common.virt.api.ComputeDriver.{op.name}`.\n\n{op.doc}"
    return method


for _op in api.OPERATIONS.values():
    setattr(HostClient, _op.name, _make_method(_op))


class VirtAPIClient:
    """The virt API of every compute host reachable on one transport."""

    def __init__(
        self,
        conf: cfg.ConfigOpts,
        transport: oslo_messaging.Transport | None = None,
        timeout: int | None = None,
    ) -> None:
        register_opts(conf)
        self._conf = conf
        self._own_transport = transport is None
        self.transport = transport or get_transport(conf)
        self._timeout = timeout
        self._hosts: dict[str, HostClient] = {}
        self._lock = threading.Lock()
        #: With ``[upgrade_levels] compute = auto``: the lowest virt API version
        #: among the registered compute services, set by whoever knows them all
        #: (the conductor, :meth:`set_auto_cap`). None until then: no cap.
        self.auto_cap: str | None = None

    def version_cap(self) -> str | None:
        """The cap every host client gets now (see ``[upgrade_levels] compute``)."""
        cap = self._conf.upgrade_levels.compute
        if cap == "auto":
            return self.auto_cap
        return cap or None

    def set_auto_cap(self, version: str | None) -> bool:
        """Set the automatic cap; re-pin every known host when it changed."""
        with self._lock:
            if version == self.auto_cap:
                return False
            self.auto_cap = version
            clients = list(self._hosts.values())
        cap = self.version_cap()
        for client in clients:
            client.repin(cap)
        return True

    def host(self, host: str) -> HostClient:
        """The pinned client of ``host`` (created and pinned on first call)."""
        with self._lock:
            client = self._hosts.get(host)
            if client is None:
                client = self._hosts[host] = self._new_client(host)
            return client

    def _new_client(self, host: str) -> HostClient:
        return HostClient(self.transport, host, version_cap=self.version_cap(), timeout=self._timeout)

    def forget(self, host: str) -> None:
        """Drop a host's pin: the next call pins again by asking the host."""
        with self._lock:
            self._hosts.pop(host, None)

    def pin(self, host: str, driver_info: objects.DriverInfo) -> HostClient:
        """A fresh client of ``host`` pinned from the DriverInfo it advertised
        (it registered, maybe at another version): the first call to a
        newly registered host then needs no probe."""
        client = self._new_client(host)
        client.pin_to(driver_info)
        with self._lock:
            self._hosts[host] = client
        return client

    def close(self) -> None:
        if self._own_transport:
            self.transport.cleanup()
