"""RPC servers on the standard library's thread pool instead of futurist's.

Why this exists: oslo.messaging's threading executor is futurist's
ThreadPoolExecutor, which adds a worker on every request until it has
``executor_thread_pool_size`` of them (an idle one is not reused first), and
every idle worker wakes once a second to poll its queue. A compute service
that has served 64 requests keeps 64 threads waking each second for the rest
of its life. With 1,000 compute services in one process that grew with every
instance booted (three per host: ~3,000 pollers) until the GIL hand-offs took
the CPUs and boots stopped (tools/bench/results/core.md). The standard
library's pool reuses an idle worker before adding one, and its idle workers
block without a timeout; ``executor_thread_pool_size`` still caps it.

oslo.messaging has no public hook for the executor class: ``start()`` makes
``_executor_cls(max_workers=...)`` and the server only calls its ``submit()``
and ``shutdown(wait=True)``, which the standard pool has too. Applied per
server by :func:`nova_common.messaging.server.get_rpc_server` when ``[messaging]
rpc_server_standard_pool`` is on (see :mod:`nova_common.messaging.patches`).
"""

from __future__ import annotations

import functools
from concurrent.futures import ThreadPoolExecutor

import oslo_messaging


def install(server: oslo_messaging.RPCServer, thread_name_prefix: str) -> None:
    """Make ``server`` (not started yet) run requests on the standard pool."""
    if not hasattr(server, "_executor_cls"):  # also caught by the patch's digests
        raise RuntimeError("oslo.messaging's RPC server has no _executor_cls")
    server._executor_cls = functools.partial(ThreadPoolExecutor, thread_name_prefix=thread_name_prefix)
