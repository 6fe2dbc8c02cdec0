"""The conductor API (topic ``conductor``, namespace ``conductor_api``), version 1.0.

The compute-report API shares the topic in the default namespace (see
:mod:`nova_common.scaffold.reporting`); the namespace keeps the two apart.
Only base-install imports here: the Python API uses this module.
"""

from __future__ import annotations

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


def get_core_transport(conf: cfg.ConfigOpts, url: str | None = None) -> oslo_messaging.Transport:
    """Like :func:`nova_common.messaging.transport.get_transport`, also rebuilding the core's errors."""
    return get_transport(conf, url, extra_remote_exmods=[CORE_EXCEPTIONS_MODULE])


class ConductorAPIClient:
    """Calls the conductor API; raises the plain :mod:`nova_common.compute.exceptions`."""

    def __init__(self, transport: oslo_messaging.Transport, timeout: int = 60, topic: str = CONDUCTOR_TOPIC):
        target = oslo_messaging.Target(
            topic=topic, namespace=CONDUCTOR_API_NAMESPACE, version=CONDUCTOR_API_VERSION
        )
        self._client = oslo_messaging.get_rpc_client(transport, target, timeout=timeout)
        self.timeout = timeout

    def call(self, method: str, /, **kwargs: Any) -> Any:
        return self.call_as("req-" + uuid.uuid4().hex, method, **kwargs)

    def call_as(self, request_id: str, method: str, /, **kwargs: Any) -> Any:
        """``call`` with the request id the conductor records (a create with a
        request id it already made returns that instance)."""
        context = {"request_id": request_id}
        try:
            return self._client.call(context, method, **kwargs)
        except core_exc.CoreError as error:
            raise core_exc.plain(error) from None
        except oslo_messaging.MessagingTimeout as error:
            raise core_exc.Timeout(timeout=self.timeout, what=f"the conductor to answer {method}") from error
