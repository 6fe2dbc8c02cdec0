"""The conductor service: the RPC server on topic ``conductor`` and the
periodic tasks (heartbeats shared through the database, the lease and the
takeover of work whose owner is gone, the power-state sync), plus the
takeover at start."""

from __future__ import annotations

import threading
import time
from typing import Any

import oslo_messaging
from oslo_config import cfg
from oslo_log import log as logging

from nova_common.conductor import conf as core_conf
from nova_common.conductor.endpoints import ComputeReportEndpoint, ConductorAPIEndpoint
from nova_common.conductor.hearing import HearingEndpoint, Prober
from nova_common.conductor.manager import ConductorManager
from nova_common.conductor.rpcapi import get_core_transport
from nova_common.db.api import Database
from nova_common.messaging import conf as messaging_conf
from nova_common.messaging.server import get_rpc_server
from nova_common.messaging.transport import reserve_connections

LOG = logging.getLogger(__name__)


def conductor_publishers(conf: cfg.ConfigOpts) -> int:
    """Threads of a conductor that may publish at once: its RPC executor
    (replies), its operation workers and its power-state sync workers."""
    messaging_conf.register_opts(conf)
    core_conf.register_opts(conf)
    return conf.executor_thread_pool_size + conf.conductor.workers + conf.conductor.sync_workers


class ConductorService:
    def __init__(
        self,
        conf: cfg.ConfigOpts,
        transport: oslo_messaging.Transport | None = None,
        db: Database | None = None,
        reconcile_on_start: bool = True,
        server: str | None = None,
    ) -> None:
        """``server``: this conductor's name (default ``[conductor] server``),
        for several conductors in one process (``nova-common serve --conductors N``)."""
        core_conf.register_opts(conf)
        self.conf = conf
        self._own_transport = transport is None
        if transport is None:
            reserve_connections(conf, conductor_publishers(conf))
        self.transport = transport or get_core_transport(conf)
        self._own_db = db is None
        self.db = db or Database(
            core_conf.database_connection(conf), conf.database.max_pool_size, conf.database.max_overflow
        )
        self.manager = ConductorManager(conf, self.db, self.transport, server=server)
        self.reconcile_on_start = reconcile_on_start
        self._server: oslo_messaging.RPCServer | None = None
        self._stopping = threading.Event()  # ends the power sync and the start's takeover
        # Ends the liveness and lease loops, which go on while a stopping
        # conductor waits for its operations (its lease must not lapse then).
        self._closing = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lasting: list[threading.Thread] = []
        self.reconciled = threading.Event()
        self.last_reconcile: dict[str, int] | None = None

    def start(self) -> None:
        target = oslo_messaging.Target(topic=self.conf.conductor.topic, server=self.manager.server)
        self._server = get_rpc_server(
            self.transport,
            target,
            [
                ComputeReportEndpoint(self.manager),
                ConductorAPIEndpoint(self.manager),
                HearingEndpoint(self.manager),
            ],
        )
        self.manager.start_lease()
        self._server.start()
        down_time = self.conf.conductor.service_down_time
        self._spawn(
            "liveness",
            self._loop,
            min(self.conf.conductor.heartbeat_flush_interval, down_time / 4),
            self._share_liveness,
            self._closing,
        )
        self._spawn("lease", self._loop, max(0.05, down_time / 4), self._keep_lease, self._closing)
        prober = Prober(self.transport, self.conf.conductor.topic, self.manager)
        self._spawn("hearing", self._loop, max(0.05, down_time / 6), prober.tick, self._closing)
        if self.conf.conductor.sync_power_state_interval > 0:
            self._spawn(
                "power-sync",
                self._loop,
                self.conf.conductor.sync_power_state_interval,
                self.manager.sync_power_states,
            )
        if self.reconcile_on_start:
            self._spawn("reconcile", self._reconcile)
        else:
            self.reconciled.set()
        LOG.info("Conductor %s serving on topic %s", self.manager.server, self.conf.conductor.topic)

    def _spawn(self, name: str, target: Any, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, name=f"conductor-{name}", daemon=True)
        thread.start()
        (self._lasting if self._closing in args else self._threads).append(thread)

    def _loop(self, interval: float, task: Any, until: threading.Event | None = None) -> None:
        until = until or self._stopping
        while not until.wait(interval):
            try:
                task()
            except Exception:
                LOG.exception("Periodic task %s failed", getattr(task, "__name__", task))

    def _share_liveness(self) -> None:
        self.manager.flush_heartbeats()
        self.manager.refresh_from_database()

    def _keep_lease(self) -> None:
        self.manager.renew_lease()
        if self.reconciled.is_set() and not self._stopping.is_set():  # the start's takeover first
            self.manager.take_over_orphans()
            self.manager.db.forget_conductors(older_than=10 * self.manager.lease_time)

    def _reconcile(self) -> None:
        # Give compute services a moment to heartbeat after a conductor restart.
        deadline = time.monotonic() + min(self.conf.conductor.service_down_time, 5.0)
        while time.monotonic() < deadline and not self._stopping.is_set():
            if all(self.manager.is_up(h) for h in self.manager._services):
                break
            time.sleep(0.05)
        try:
            self.last_reconcile = self.manager.reconcile()
        except Exception:
            LOG.exception("Reconciliation failed")
        finally:
            self.reconciled.set()

    def stop(self, graceful_timeout: float | None = None) -> bool:
        """Stop taking messages, wait up to ``graceful_timeout`` (default
        ``[conductor] graceful_shutdown_timeout``) for the operations in
        flight, give up the lease. False when some were left to another
        conductor (their threads still run: the process should exit)."""
        self._stopping.set()
        self.manager.stopping.set()
        if self._server is not None:
            self._server.stop()
            self._server.wait()
            self._server = None
        for thread in self._threads:
            thread.join(timeout=10)
        if graceful_timeout is None:
            graceful_timeout = self.conf.conductor.graceful_shutdown_timeout
        self.manager.wait_idle(graceful_timeout)  # lease renewed and liveness read meanwhile
        self._closing.set()
        for thread in self._lasting:
            thread.join(timeout=10)
        finished = self.manager.close(0)
        if self._own_db:
            self.db.dispose()
        if self._own_transport and finished:
            self.transport.cleanup()
        return finished
