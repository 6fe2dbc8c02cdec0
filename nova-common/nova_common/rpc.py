"""oslo.messaging plumbing shared by the RPC client, the scaffold and the kit.

Transports: ``kombu+memory:////`` (the real rabbit driver over kombu's
in-process broker) is the embedded default; ``rabbit://`` for processes and
hosts. ``fake://`` polls every 50 ms and must not be used for anything timed.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import oslo_messaging
from oslo_config import cfg
from oslo_messaging import opts as oslo_messaging_opts
from oslo_messaging._metrics import client as _metrics_client
from oslo_messaging._tracing import client as _tracing_client
from oslo_versionedobjects import base as ovo_base

from nova_common import embedded_broker, kombu_autoretry, kombu_threads
from nova_common.objects import base as obj_base

DEFAULT_TRANSPORT_URL = "kombu+memory:////"

#: Modules whose exceptions oslo.messaging rebuilds on the caller's side.
ALLOWED_REMOTE_EXMODS = ["nova_common.virt.exceptions"]

#: Context key carrying the caller's object manifest when the callee is newer.
OBJECT_VERSIONS_KEY = "object_versions"


def register_messaging_opts(conf: cfg.ConfigOpts) -> None:
    """Make a private ConfigOpts usable by oslo.messaging.

    oslo.messaging 18.x registers its ``[oslo_messaging_tracing]`` and
    ``[oslo_messaging_metrics]`` options only on the global ``cfg.CONF``; with
    any other ConfigOpts every call fails with NoSuchOptError. Register them,
    and every other oslo.messaging option (``transport_url`` included, so a
    config file is read before the first transport is made), here. A no-op
    when they are already there.
    """
    # Set our control exchange before copying the options, so the copies equal
    # the originals oslo.messaging registers itself later (else: DuplicateOptError).
    oslo_messaging.set_transport_defaults("nova")
    groups = list(oslo_messaging_opts.list_opts()) + [
        ("oslo_messaging_tracing", _tracing_client.oslo_messaging_tracing),
        ("oslo_messaging_metrics", _metrics_client.oslo_messaging_metrics),
    ]
    for group, opts in groups:
        try:
            conf.register_opts(list(opts), group=None if group == "DEFAULT" else group)
        except cfg.DuplicateOptError:
            pass
    # oslo.messaging 18 defaults transport_url to "rabbit://" (a broker on
    # localhost). Our default is the embedded broker; a config file or
    # --transport-url chooses a real one.
    conf.set_default("transport_url", DEFAULT_TRANSPORT_URL)


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
    Returns the pool size the next transport gets.
    """
    register_messaging_opts(conf)
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
    register_messaging_opts(conf)
    # Every kombu connection of the process reads the same class-wide locks
    # otherwise (see kombu_threads); on the embedded broker and on RabbitMQ alike.
    kombu_threads.install()
    kombu_autoretry.install()  # a class built per publish and per poll otherwise
    if url is None:
        url = conf.transport_url or DEFAULT_TRANSPORT_URL
    if url.startswith("kombu+memory"):
        # kombu's in-process broker has no heartbeats and no host name; without
        # these the rabbit driver and kombu warn on every connection.
        conf.set_override("heartbeat_timeout_threshold", 0, group="oslo_messaging_rabbit")
        _quiet_kombu_hostname_warning()
        # Consumers wait for messages instead of spinning (see embedded_broker).
        embedded_broker.install()
    exmods = [*ALLOWED_REMOTE_EXMODS, *extra_remote_exmods]
    return oslo_messaging.get_rpc_transport(conf, url=url, allowed_remote_exmods=exmods)


def get_rpc_server(
    transport: oslo_messaging.Transport,
    target: oslo_messaging.Target,
    endpoints: Sequence[Any],
    serializer: ObjectSerializer | None = None,
) -> oslo_messaging.RPCServer:
    """An RPC server (threading executor, :class:`ObjectSerializer`) whose idle
    worker threads sleep until work arrives.

    Why not oslo.messaging's own threading executor: it is futurist's
    ThreadPoolExecutor, which adds a worker on every request until it has
    ``executor_thread_pool_size`` of them (an idle one is not reused first),
    and every idle worker wakes once a second to poll its queue. A compute
    service that has served 64 requests keeps 64 threads waking each second
    for the rest of its life. With 1,000 compute services in one process
    that grew with every instance booted (three per host: ~3,000 pollers)
    until the GIL hand-offs took the CPUs and boots stopped
    (tools/bench/results/core.md). The standard library's pool reuses an
    idle worker before adding one, and its idle workers block without a
    timeout; ``executor_thread_pool_size`` still caps it.
    """
    server = oslo_messaging.get_rpc_server(
        transport, target, list(endpoints), serializer=serializer or ObjectSerializer()
    )
    # oslo.messaging has no public hook for the executor class: start() makes
    # ``_executor_cls(max_workers=...)`` and the server only calls its
    # submit() and shutdown(wait=True), which the standard pool has too.
    # Fail loudly if a release renames it (tests/test_service.py checks the reuse).
    if not hasattr(server, "_executor_cls"):
        raise RuntimeError(
            "oslo.messaging's RPC server has no _executor_cls (nova_common.rpc.get_rpc_server)"
        )
    server._executor_cls = functools.partial(
        ThreadPoolExecutor, thread_name_prefix=f"rpc-{target.topic}.{target.server or ''}"
    )
    return server


class _NoHostnameFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "No hostname was supplied" not in record.getMessage()


def _quiet_kombu_hostname_warning() -> None:
    kombu_log = logging.getLogger("kombu.connection")
    if not any(isinstance(f, _NoHostnameFilter) for f in kombu_log.filters):
        kombu_log.addFilter(_NoHostnameFilter())


class ObjectSerializer(ovo_base.VersionedObjectSerializer):
    """Serialises nova-common objects, backporting to a peer's manifest.

    ``version_manifest`` (object name -> version) is what the peer can read.
    On the client it comes from the host's DriverInfo; on the server from the
    request context, so results reach an older caller at versions it knows.
    """

    OBJ_BASE_CLASS = obj_base.NovaObject

    def __init__(self, version_manifest: dict[str, str] | None = None) -> None:
        super().__init__()
        self.version_manifest = version_manifest

    def serialize_entity(self, context: Any, entity: Any) -> Any:
        manifest = self.version_manifest
        if isinstance(context, dict) and context.get(OBJECT_VERSIONS_KEY):
            manifest = context[OBJECT_VERSIONS_KEY]
        if manifest and isinstance(entity, obj_base.NovaObject):
            return entity.obj_to_primitive(
                target_version=manifest.get(entity.obj_name()), version_manifest=manifest
            )
        return super().serialize_entity(context, entity)
