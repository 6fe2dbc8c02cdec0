"""The kit as the core: the core's side of the report channel, for black-box runs.

A compute service under test reports to the topic in its ``[compute]
conductor_topic``. In black-box mode the kit listens there itself (the
service's topic must be one no real conductor serves), implements
:class:`~nova_common.virt.report_api.ComputeReportAPI` through the endpoint
derived from the declarations, asks the service to register with it
(``request_registration``), answers with a CoreInfo carrying the object
manifest the kit chose, and records every message with its arrival time, so
the report scenarios (:mod:`nova_contract_tests.scenarios.reporting`) can
check what the service sends, when, and at which object versions.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from typing import Any

import oslo_messaging
from oslo_versionedobjects import exception as ovo_exception

from nova_common import objects
from nova_common.messaging.serializer import ObjectSerializer
from nova_common.messaging.server import get_rpc_server
from nova_common.virt import report_api
from nova_common.virt.driver_info import package_version
from nova_common.virt.rpcapi import COMPUTE_TOPIC


@dataclasses.dataclass(frozen=True)
class Received:
    """One message the service sent, as the kit received it."""

    name: str
    at: float  # time.monotonic()
    kwargs: dict[str, Any]


class CoreSide(report_api.ComputeReportAPI):
    """Records the compute-report messages of one service under test."""

    def __init__(
        self,
        transport: oslo_messaging.Transport,
        topic: str,
        host: str,
        object_versions: dict[str, str] | None = None,
    ) -> None:
        self.transport = transport
        self.topic = topic
        self.host = host
        #: The manifest the kit answers registrations with: what it asks the
        #: service to backport its objects to.
        self.object_versions = dict(object_versions or objects.object_manifest())
        self.received: list[Received] = []
        #: Messages that broke their declaration: (message, arguments, error).
        self.refused: list[tuple[str, dict[str, Any], str]] = []
        self._changed = threading.Condition()
        self._server: oslo_messaging.RPCServer | None = None

    # -- lifecycle --------------------------------------------------------------

    def start(self) -> None:
        """Listen on the service's report topic and ask it to register with us."""
        endpoint_cls = report_api.endpoint_class(
            "KitReportEndpoint", report_api.COMPUTE_REPORT, report_api.REPORT_API_VERSION
        )
        core = self

        class Endpoint(endpoint_cls):  # type: ignore[misc, valid-type]
            def refused(self, message: report_api.Message, kwargs: dict[str, Any], error: Exception) -> None:
                with core._changed:
                    core.refused.append((message.name, _plain(kwargs), str(error)))
                    core._changed.notify_all()

        target = oslo_messaging.Target(topic=self.topic, server="contract-kit")
        self._server = get_rpc_server(self.transport, target, [Endpoint(self)], serializer=_Reading(self))
        self._server.start()
        self.request_registration()

    def request_registration(self) -> None:
        target = oslo_messaging.Target(
            topic=COMPUTE_TOPIC,
            server=self.host,
            namespace=report_api.SERVICE_CONTROL_NAMESPACE,
            version=report_api.REPORT_API_VERSION,
        )
        report_api.MessageClient(self.transport, target, report_api.SERVICE_CONTROL).request_registration()

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server.wait()
            self._server = None

    # -- ComputeReportAPI ---------------------------------------------------------

    def _record(self, name: str, kwargs: dict[str, Any]) -> None:
        with self._changed:
            self.received.append(Received(name, time.monotonic(), kwargs))
            self._changed.notify_all()

    def register(
        self,
        host: str,
        driver_info: objects.DriverInfo,
        heartbeat_interval: float,
        report_interval: float,
    ) -> objects.CoreInfo:
        self._record(
            "register",
            dict(
                host=host,
                driver_info=driver_info,
                heartbeat_interval=heartbeat_interval,
                report_interval=report_interval,
            ),
        )
        return report_api.core_info(package_version("nova-contract-tests"), self.object_versions)

    def heartbeat(self, host: str, sequence: int) -> None:
        self._record("heartbeat", dict(host=host, sequence=sequence))

    def report_resources(self, host: str, resources: objects.HostResources) -> None:
        self._record("report_resources", dict(host=host, resources=resources))

    def lifecycle_event(self, host: str, event: objects.LifecycleEvent) -> None:
        self._record("lifecycle_event", dict(host=host, event=event))

    def deregister(self, host: str, reason: str) -> None:
        self._record("deregister", dict(host=host, reason=reason))

    # -- what scenarios ask -------------------------------------------------------

    def of(self, name: str, since: float = 0.0) -> list[Received]:
        with self._changed:
            return [r for r in self.received if r.name == name and r.at >= since]

    def wait_for(
        self,
        name: str,
        timeout: float,
        since: float = 0.0,
        where: Callable[[Received], bool] = lambda received: True,
        count: int = 1,
    ) -> list[Received]:
        """Wait until ``count`` messages ``name`` arrived at or after ``since``
        that satisfy ``where``; return them (fewer on timeout)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [r for r in self.received if r.name == name and r.at >= since and where(r)]
                remaining = deadline - time.monotonic()
                if len(found) >= count or remaining <= 0:
                    return found
                self._changed.wait(remaining)

    @property
    def registration(self) -> Received | None:
        registrations = self.of("register")
        return registrations[-1] if registrations else None


class _Reading(ObjectSerializer):
    """Deserialises what the service sends; an object the kit cannot read (a
    version newer than it asked for, a foreign object) is recorded as refused
    instead of failing the whole message out of sight."""

    def __init__(self, core: CoreSide) -> None:
        super().__init__()
        self._core = core

    def deserialize_entity(self, context: Any, entity: Any) -> Any:
        try:
            return super().deserialize_entity(context, entity)
        except ovo_exception.VersionedObjectsException as error:
            described = entity
            if isinstance(entity, dict) and "nova_object.name" in entity:
                described = f"{entity['nova_object.name']} {entity.get('nova_object.version')}"
            with self._core._changed:
                self._core.refused.append(("(deserialize)", {"object": described}, str(error)))
                self._core._changed.notify_all()
            return _Unreadable(str(described))


@dataclasses.dataclass(frozen=True)
class _Unreadable:
    """Stands for an object the kit could not read (the message is then refused)."""

    what: str


def _plain(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {
        name: value.obj_to_primitive() if isinstance(value, objects.NovaObject) else value
        for name, value in kwargs.items()
    }
