"""RPC servers: oslo.messaging's threading executor, :class:`ObjectSerializer`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import oslo_messaging

from nova_common.messaging import conf as messaging_conf
from nova_common.messaging.serializer import ObjectSerializer


def get_rpc_server(
    transport: oslo_messaging.Transport,
    target: oslo_messaging.Target,
    endpoints: Sequence[Any],
    serializer: ObjectSerializer | None = None,
) -> oslo_messaging.RPCServer:
    """An RPC server for ``endpoints`` on ``target`` (default serializer:
    :class:`ObjectSerializer`).

    With ``[messaging] rpc_server_standard_pool`` (read from the transport's
    configuration; on in the conductor and the all-in-one) its idle worker
    threads are reused and sleep until work arrives
    (:data:`nova_common.messaging.patches.RPC_SERVER_STANDARD_POOL`).
    """
    from nova_common.messaging import patches

    server = oslo_messaging.get_rpc_server(
        transport, target, list(endpoints), serializer=serializer or ObjectSerializer()
    )
    messaging_conf.register_opts(transport.conf)
    if patches.RPC_SERVER_STANDARD_POOL.enabled(transport.conf):
        patches.RPC_SERVER_STANDARD_POOL.apply(
            server, thread_name_prefix=f"rpc-{target.topic}.{target.server or ''}"
        )
    return server
