"""RPC transports.

``kombu+memory:////`` (the real rabbit driver over kombu's in-process broker,
:mod:`~nova_common.messaging.embedded_broker`) is the embedded default;
``rabbit://`` for processes and hosts. ``fake://`` polls every 50 ms and must
not be used for anything timed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import oslo_messaging
from oslo_config import cfg

from nova_common.messaging import conf as messaging_conf
from nova_common.messaging.conf import DEFAULT_TRANSPORT_URL

__all__ = [
    "ALLOWED_REMOTE_EXMODS",
    "DEFAULT_TRANSPORT_URL",
    "OSLO_CONN_POOL_SIZE",
    "get_transport",
    "reserve_connections",
]

#: Modules whose exceptions oslo.messaging rebuilds on the caller's side.
ALLOWED_REMOTE_EXMODS = ["nova_common.virt.exceptions"]

#: oslo.messaging's own default for ``[oslo_messaging_rabbit] rpc_conn_pool_size``.
OSLO_CONN_POOL_SIZE = 30


def reserve_connections(conf: cfg.ConfigOpts, publishers: int) -> int:
    """Default the transport's connection pool to at least ``publishers``
    connections: call before making a transport that that many threads may
    publish on at once. An operator's own ``rpc_conn_pool_size`` wins.

    Why: oslo.messaging's pool logs a warning, holding its lock, for every get
    that finds it exhausted, and a thread returning a connection needs that
    lock too; with more threads publishing than pooled connections the process
    convoys on it. Seen here: creates timing out after 120 s with 1,000 compute
    services and the conductor in one process (tools/bench/bench_core.py).
    Only the conductor and the all-in-one call it. Returns the pool size the
    next transport gets.
    """
    messaging_conf.register_opts(conf)
    conf.set_default(
        "rpc_conn_pool_size", max(OSLO_CONN_POOL_SIZE, publishers), group="oslo_messaging_rabbit"
    )
    return conf.oslo_messaging_rabbit.rpc_conn_pool_size


def get_transport(
    conf: cfg.ConfigOpts, url: str | None = None, extra_remote_exmods: Sequence[str] = ()
) -> oslo_messaging.Transport:
    """An RPC transport for ``url`` (default: ``[DEFAULT] transport_url``, else
    the embedded in-process broker).

    ``extra_remote_exmods`` adds modules whose exceptions the caller rebuilds,
    beyond the virt contract's (the core adds its own).
    """
    messaging_conf.register_opts(conf)
    if url is None:
        url = conf.transport_url or DEFAULT_TRANSPORT_URL
    if url.startswith("kombu+memory"):
        # Choosing the embedded broker is choosing its patches; imported here
        # so that a process on RabbitMQ never loads them.
        from nova_common.messaging import patches

        # kombu's in-process broker has no heartbeats and no host name; without
        # these the rabbit driver and kombu warn on every connection.
        conf.set_override("heartbeat_timeout_threshold", 0, group="oslo_messaging_rabbit")
        _quiet_kombu_hostname_warning()
        # Consumers wait for messages instead of spinning (see embedded_broker).
        patches.EMBEDDED_BROKER.apply()
    exmods = [*ALLOWED_REMOTE_EXMODS, *extra_remote_exmods]
    return oslo_messaging.get_rpc_transport(conf, url=url, allowed_remote_exmods=exmods)


class _NoHostnameFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "No hostname was supplied" not in record.getMessage()


def _quiet_kombu_hostname_warning() -> None:
    kombu_log = logging.getLogger("kombu.connection")
    if not any(isinstance(f, _NoHostnameFilter) for f in kombu_log.filters):
        kombu_log.addFilter(_NoHostnameFilter())
