"""The conductor API (topic ``conductor``, namespace ``conductor_api``), version 1.0.

The compute-report API shares the topic in the default namespace (see
:mod:`nova_common.scaffold.reporting`); the namespace keeps the two apart.
Only base-install imports here: the Python API uses this module.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import oslo_messaging
from oslo_config import cfg

from nova_common.compute import exceptions as core_exc
from nova_common.messaging.transport import get_transport
from nova_common.scaffold.reporting import CONDUCTOR_TOPIC

CONDUCTOR_API_NAMESPACE = "conductor_api"
CONDUCTOR_API_VERSION = "1.0"
CORE_EXCEPTIONS_MODULE = "nova_common.compute.exceptions"
#: Pause between tries of a publish the broker did not take.
_PUBLISH_RETRY_S = 0.5


def get_core_transport(conf: cfg.ConfigOpts, url: str | None = None) -> oslo_messaging.Transport:
    """Like :func:`nova_common.messaging.transport.get_transport`, also rebuilding the core's errors."""
    return get_transport(conf, url, extra_remote_exmods=[CORE_EXCEPTIONS_MODULE])


class ConductorAPIClient:
    """Calls the conductor API; raises the plain :mod:`nova_common.compute.exceptions`."""

    def __init__(self, transport: oslo_messaging.Transport, timeout: int = 60, topic: str = CONDUCTOR_TOPIC):
        target = oslo_messaging.Target(
            topic=topic, namespace=CONDUCTOR_API_NAMESPACE, version=CONDUCTOR_API_VERSION
        )
        # Mandatory publishes (at_least_once): a request the broker cannot
        # route, the conductor's queue not declared again yet after a broker
        # restart, comes back at once instead of being dropped (the caller
        # then waited out the whole timeout; measured: the first call after a
        # 5 s outage, 20 s).
        self._client = oslo_messaging.get_rpc_client(
            transport,
            target,
            timeout=timeout,
            transport_options=oslo_messaging.TransportOptions(at_least_once=True),
        )
        self.timeout = timeout

    def call(self, method: str, /, **kwargs: Any) -> Any:
        return self.call_as("req-" + uuid.uuid4().hex, method, **kwargs)

    def call_as(self, request_id: str, method: str, /, **kwargs: Any) -> Any:
        """``call`` with the request id the conductor records (a create with a
        request id it already made returns that instance).

        Ends within ``timeout`` seconds, broker or not: oslo.messaging retries
        a publish on a lost connection for ever by default (a call made during
        a broker outage of 94 s answered after 111 s). Each publish here is
        tried once (``retry=0``) and tried again, while time is left, when the
        broker would not take it (the message was not sent: repeating it is
        safe); the reply is awaited for the time left."""
        context = {"request_id": request_id}
        deadline = time.monotonic() + self.timeout
        while True:
            remaining = deadline - time.monotonic()
            try:
                return self._client.prepare(timeout=max(0.1, remaining), retry=0).call(
                    context, method, **kwargs
                )
            except core_exc.CoreError as error:
                raise core_exc.plain(error) from None
            except oslo_messaging.MessagingTimeout as error:
                raise core_exc.Timeout(
                    timeout=self.timeout, what=f"the conductor to answer {method}"
                ) from error
            except (oslo_messaging.MessageDeliveryFailure, oslo_messaging.MessageUndeliverable) as error:
                if deadline - time.monotonic() <= _PUBLISH_RETRY_S:
                    raise core_exc.Timeout(
                        timeout=self.timeout, what=f"the broker to take {method} (last: {error})"
                    ) from error
                time.sleep(_PUBLISH_RETRY_S)
