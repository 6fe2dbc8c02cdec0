"""What a compute service tells the conductor without being asked.

The compute-report API (topic ``conductor``), version 1.0. All casts: a
compute service never waits on the core, and the conductor treats every
message as untrusted input (it validates and may drop it).

* ``register(host, driver_info)``: on start and whenever capabilities change.
* ``heartbeat(host, sequence)``: every ``heartbeat_interval`` seconds.
* ``report_resources(host, resources)``: every ``resource_report_interval``.
* ``lifecycle_event(host, event)``: when the driver emits one.
"""

from __future__ import annotations

import oslo_messaging

from nova_common import objects
from nova_common.messaging.serializer import ObjectSerializer

CONDUCTOR_TOPIC = "conductor"
REPORT_API_VERSION = "1.0"


class ComputeReportClient:
    """The compute service's side of the compute-report API."""

    def __init__(self, transport: oslo_messaging.Transport, host: str, topic: str = CONDUCTOR_TOPIC) -> None:
        self.host = host
        target = oslo_messaging.Target(topic=topic, version=REPORT_API_VERSION)
        self._client = oslo_messaging.get_rpc_client(transport, target, serializer=ObjectSerializer())

    def register(self, driver_info: objects.DriverInfo) -> None:
        self._client.cast({}, "register", host=self.host, driver_info=driver_info)

    def heartbeat(self, sequence: int) -> None:
        self._client.cast({}, "heartbeat", host=self.host, sequence=sequence)

    def report_resources(self, resources: objects.HostResources) -> None:
        self._client.cast({}, "report_resources", host=self.host, resources=resources)

    def lifecycle_event(self, event: objects.LifecycleEvent) -> None:
        self._client.cast({}, "lifecycle_event", host=self.host, event=event)
