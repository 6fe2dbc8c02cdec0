"""Whether this conductor hears the broker: a probe it casts to its own queue
every sixth of ``service_down_time``, and liveness held still while the probes
do not come back.

A conductor that hears nothing cannot tell dead hosts from a broker that is
away. It used to count the silence against every host: after a broker outage
longer than ``service_down_time`` every host read down (409 "no valid host",
deletes done in the database only) until its heartbeats came through again.
Now the silence counts only while the conductor can hear: each host is as
old when the conductor hears again as it was when it last heard.
"""

from __future__ import annotations

from typing import Any

import oslo_messaging
from oslo_log import log as logging

LOG = logging.getLogger(__name__)

NAMESPACE = "conductor_hearing"
VERSION = "1.0"


class HearingEndpoint:
    """Receives this conductor's own probes (on its server queue)."""

    target = oslo_messaging.Target(namespace=NAMESPACE, version=VERSION)

    def __init__(self, manager: Any) -> None:
        self.manager = manager

    def probe(self, ctxt: Any, conductor_id: Any) -> None:
        if conductor_id == self.manager.id:
            self.manager.heard_self()


class Prober:
    """Casts a probe to the conductor's own queue; one try per cast, so a broker
    that is away costs a failed publish, not a thread stuck reconnecting."""

    def __init__(self, transport: oslo_messaging.Transport, topic: str, manager: Any) -> None:
        self.manager = manager
        target = oslo_messaging.Target(
            topic=topic, server=manager.server, namespace=NAMESPACE, version=VERSION
        )
        self._client = oslo_messaging.get_rpc_client(transport, target).prepare(retry=0)

    def tick(self) -> None:
        try:
            self._client.cast({}, "probe", conductor_id=self.manager.id)
        except Exception as error:  # the broker is away: check_hearing notices
            LOG.debug("Hearing probe not sent: %s", error)
        self.manager.check_hearing()
