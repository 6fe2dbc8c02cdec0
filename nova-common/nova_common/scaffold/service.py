"""The compute service: one driver, served over RPC, reporting to the core.

It holds no authoritative state. It serves the virt endpoint on topic
``compute`` (server = ``[DEFAULT] host``), registers with its DriverInfo,
heartbeats, reports host resources, forwards the driver's lifecycle events,
and stops cleanly (RPC server first, so no operation is cut off, then the
driver).
"""

from __future__ import annotations

import random
import threading
import time
from typing import Any

import oslo_messaging
from oslo_config import cfg
from oslo_log import log as logging

from nova_common import objects
from nova_common.messaging.server import get_rpc_server
from nova_common.messaging.transport import get_transport
from nova_common.scaffold import conf as scaffold_conf
from nova_common.scaffold.dispatcher import DriverDispatcher
from nova_common.scaffold.endpoint import VirtEndpoint
from nova_common.scaffold.reporting import ComputeReportClient
from nova_common.virt import api
from nova_common.virt import exceptions as exc
from nova_common.virt.rpcapi import COMPUTE_TOPIC

LOG = logging.getLogger(__name__)


class ComputeService:
    """Hosts ``driver`` as the compute service of ``[DEFAULT] host``."""

    def __init__(
        self,
        conf: cfg.ConfigOpts,
        driver: api.ComputeDriver,
        transport: oslo_messaging.Transport | None = None,
    ) -> None:
        scaffold_conf.register_opts(conf)
        self.conf = conf
        self.host: str = conf.host
        self.driver = driver
        self.dispatcher = DriverDispatcher(driver)
        self._own_transport = transport is None
        self.transport = transport or get_transport(conf)
        self.reporter = ComputeReportClient(self.transport, self.host, topic=conf.compute.conductor_topic)
        self._server: oslo_messaging.RPCServer | None = None
        self._stopping = threading.Event()
        self._random = random.Random()
        self._ticker: threading.Thread | None = None
        self._heartbeats = 0
        self._registered_capabilities: frozenset[str] | None = None
        self.started = False

    # -- lifecycle --------------------------------------------------------

    def start(self) -> None:
        """Start the driver (or keep retrying it), serve RPC, register."""
        self.driver.set_event_handler(self._forward_event)
        self._start_driver()
        target = oslo_messaging.Target(topic=COMPUTE_TOPIC, server=self.host)
        self._server = get_rpc_server(self.transport, target, [VirtEndpoint(self.dispatcher)])
        self._server.start()
        self._register()
        self._ticker = threading.Thread(target=self._tick, name=f"compute-{self.host}-ticker", daemon=True)
        self._ticker.start()
        self.started = True
        LOG.info(
            "Compute service %s serving driver %s (virt API %s)",
            self.host,
            self.driver.name,
            api.VIRT_API_VERSION,
        )

    def stop(self) -> None:
        """Stop serving, then stop the driver. Safe to call twice."""
        if not self.started:
            return
        self.started = False
        self._stopping.set()
        if self._server is not None:
            self._server.stop()
            self._server.wait()
        if self._ticker is not None:
            self._ticker.join(timeout=5)
        try:
            self.driver.stop()
        except Exception:  # stop must finish whatever the driver does
            LOG.exception("Driver %s failed to stop cleanly", self.driver.name)
        self.driver.set_event_handler(None)
        if self._own_transport:
            self.transport.cleanup()
        LOG.info("Compute service %s stopped", self.host)

    def wait(self) -> None:
        """Block until :meth:`stop` is called (from a signal handler, say)."""
        while not self._stopping.wait(timeout=1.0):
            pass

    # -- internals --------------------------------------------------------

    def _start_driver(self) -> bool:
        try:
            self.driver.start()
        except exc.HypervisorUnavailable as error:
            self.dispatcher.hypervisor_down_reason = str(error)
            LOG.warning(
                "Driver %s cannot reach its hypervisor (%s); retrying every %ss",
                self.driver.name,
                error,
                self.conf.compute.hypervisor_retry_interval,
            )
            return False
        self.dispatcher.hypervisor_down_reason = None
        return True

    def _register(self) -> None:
        info = self.driver.get_driver_info()
        self._registered_capabilities = frozenset(info.capabilities)
        unknown = self._registered_capabilities - api.Capability.ALL
        if unknown:
            LOG.warning("Driver %s advertises unknown capabilities %s", self.driver.name, sorted(unknown))
        self.reporter.register(info)

    def _forward_event(self, event: objects.LifecycleEvent) -> None:
        try:
            self.reporter.lifecycle_event(event)
        except Exception:
            LOG.exception("Could not forward lifecycle event %s", event.obj_to_primitive())

    def _tick(self) -> None:
        compute = self.conf.compute
        next_heartbeat = time.monotonic()
        next_report = time.monotonic()
        first_report = True
        next_retry = time.monotonic() + compute.hypervisor_retry_interval
        while not self._stopping.is_set():
            now = time.monotonic()
            try:
                if self.dispatcher.hypervisor_down_reason is not None and now >= next_retry:
                    next_retry = now + compute.hypervisor_retry_interval
                    if self._start_driver():
                        self._register()
                if now >= next_heartbeat:
                    next_heartbeat = now + self._jittered(compute.heartbeat_interval, self._heartbeats == 0)
                    self._heartbeats += 1
                    self.reporter.heartbeat(self._heartbeats)
                if now >= next_report:
                    next_report = now + self._jittered(compute.resource_report_interval, first_report)
                    first_report = False
                    self._report_resources()
            except Exception:  # the ticker must survive a broker hiccup
                LOG.exception("Periodic task of compute service %s failed", self.host)
            wake = min(next_heartbeat, next_report)
            self._stopping.wait(timeout=max(0.0, wake - time.monotonic()))

    def _jittered(self, interval: float, first: bool) -> float:
        # Services started together (a host group rebooted, a fleet of
        # threads) would otherwise heartbeat and report in lockstep, and the
        # conductor would see bursts instead of a steady rate. The first
        # period spreads them over the whole interval; later ones stay within
        # 10% early, so no heartbeat comes later than the interval.
        return interval * self._random.uniform(0.05 if first else 0.9, 1.0)

    def _report_resources(self) -> None:
        if self.dispatcher.hypervisor_down_reason is not None:
            return
        try:
            resources = self.dispatcher.dispatch("get_host_resources", {})
        except exc.VirtError as error:
            LOG.warning("Cannot report resources of %s: %s", self.host, error)
            return
        self.reporter.report_resources(resources)
        if frozenset(self.driver.capabilities()) != self._registered_capabilities:
            LOG.info("Capabilities of %s changed; registering again", self.host)
            self._register()


def describe(service: ComputeService) -> dict[str, Any]:
    """A summary for logs and tests."""
    return {
        "host": service.host,
        "driver": service.driver.name,
        "heartbeats": service._heartbeats,
        "hypervisor_down": service.dispatcher.hypervisor_down_reason,
    }
