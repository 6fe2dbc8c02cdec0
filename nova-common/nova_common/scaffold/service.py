"""The compute service: one driver, served over RPC, reporting to the core.

It holds no authoritative state. It serves the virt endpoint on topic
``compute`` (server = ``[DEFAULT] host``) and the service-control endpoint
next to it, registers with its DriverInfo (a call, retried with back-off
until the core answers, and again whenever the core asks), heartbeats,
reports host resources, forwards the driver's lifecycle events, and stops
cleanly (RPC server first, so no operation is cut off, then the driver).
Every message it sends is declared in :mod:`nova_common.virt.report_api`.
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
from nova_common.messaging.serializer import ObjectSerializer
from nova_common.messaging.server import get_rpc_server
from nova_common.messaging.transport import get_transport
from nova_common.scaffold import conf as scaffold_conf
from nova_common.scaffold import test_hooks_endpoint
from nova_common.scaffold.dispatcher import DriverDispatcher
from nova_common.scaffold.endpoint import VirtEndpoint
from nova_common.scaffold.reporting import ServiceControlEndpoint, compute_report_client
from nova_common.virt import api, report_api
from nova_common.virt import exceptions as exc
from nova_common.virt.driver_info import served_manifest
from nova_common.virt.rpcapi import COMPUTE_TOPIC

LOG = logging.getLogger(__name__)

#: How long the ticker sleeps when nothing is due (registered or retrying
#: always has something due; this only bounds a wait on a wake-up).
_IDLE_TICK_S = 5.0


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
        self.reporter = compute_report_client(self.transport, self.host, topic=conf.compute.conductor_topic)
        # Until a core answered, it may be of any release: the registration
        # goes out with the objects of the oldest one (a core reads its own
        # release's objects and every older one's).
        oldest = min(api.RELEASED_OBJECT_VERSIONS, key=api.parse_version)
        self.reporter.version_manifest = dict(api.RELEASED_OBJECT_VERSIONS[oldest])
        #: The core's answer to the last registration (None until one succeeded).
        self.core_info: objects.CoreInfo | None = None
        self._registration_due = True
        self._registration_failures = 0
        self._registration_requested = False
        self._next_registration = 0.0
        self._server: oslo_messaging.RPCServer | None = None
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._random = random.Random()
        self._ticker: threading.Thread | None = None
        self._heartbeats = 0
        self._ticks = 0  # passes of the ticker loop (a spinning ticker shows here)
        self._registered_capabilities: frozenset[str] | None = None
        self.started = False

    # -- lifecycle --------------------------------------------------------

    def start(self) -> None:
        """Start the driver (or keep retrying it), serve RPC, register."""
        self.driver.set_event_handler(self._forward_event)
        self._start_driver()
        target = oslo_messaging.Target(topic=COMPUTE_TOPIC, server=self.host)
        endpoints = [
            VirtEndpoint(self.dispatcher),
            ServiceControlEndpoint(self),
            *test_hooks_endpoint.endpoints(self.conf, self.driver),
        ]
        # Results go out at the versions this service advertises, unless the
        # caller's context names newer ones it reads (ObjectSerializer): the
        # driver builds this nova-common's newest classes whatever it serves.
        serializer = ObjectSerializer(served_manifest(self.driver))
        self._server = get_rpc_server(self.transport, target, endpoints, serializer=serializer)
        self._server.start()
        # The ticker registers first (and retries until the core answers).
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
        self._wake.set()
        if self._server is not None:
            self._server.stop()
            self._server.wait()
        if self._ticker is not None:
            self._ticker.join(timeout=5)
        self._deregister("the compute service was stopped")
        try:
            self.driver.stop()
        except Exception:  # stop must finish whatever the driver does
            LOG.exception("Driver %s failed to stop cleanly", self.driver.name)
        self.driver.set_event_handler(None)
        if self._own_transport:
            self.transport.cleanup()
        LOG.info("Compute service %s stopped", self.host)

    def _deregister(self, reason: str) -> None:
        """Tell the core we are going, when it reads report API 1.1 (an older
        core notices from the missing heartbeats instead)."""
        if not self.registered:
            return
        if not self.reporter.can_send("deregister"):
            LOG.info(
                "Not telling core %s that %s stops: it reads report API %s, deregister needs 1.1",
                self.core_info.core_version,
                self.host,
                self.reporter.version_cap,
            )
            return
        try:
            self.reporter.deregister(reason=reason)
        except Exception as error:  # the core will see the heartbeats stop
            LOG.warning("Could not tell the core that %s stops: %s", self.host, error)

    def request_registration(self) -> None:
        """ServiceControlAPI.request_registration: register again now."""
        LOG.info("The core asked compute service %s to register again", self.host)
        self._registration_requested = True
        self._registration_due = True
        self._next_registration = 0.0
        self._wake.set()

    @property
    def registered(self) -> bool:
        """Whether the core has acknowledged a registration of this service."""
        return self.core_info is not None

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

    def _register(self) -> bool:
        """Register with the core; on failure schedule the next try (back-off)."""
        info = self.driver.get_driver_info()
        unknown = frozenset(info.capabilities) - api.Capability.ALL
        if unknown:
            LOG.warning("Driver %s advertises unknown capabilities %s", self.driver.name, sorted(unknown))
        compute = self.conf.compute
        self._registration_requested = False
        failure = None
        try:
            core = self.reporter.send(
                "register",
                timeout=compute.registration_timeout,
                driver_info=info,
                heartbeat_interval=float(compute.heartbeat_interval),
                report_interval=float(compute.resource_report_interval),
            )
            if not isinstance(core, objects.CoreInfo):
                failure = f"the core answered with {type(core).__name__}, not CoreInfo"
        except Exception as error:  # no conductor yet, broker down, refused: try again later
            failure = f"{type(error).__name__}: {error}"
        if failure is not None:
            self._registration_failures += 1
            delay = min(30.0, 0.5 * 2 ** min(self._registration_failures, 6)) * self._random.uniform(0.5, 1.0)
            if self._registration_requested:  # the core asked meanwhile: it is there now
                delay = 0.0
            self._next_registration = time.monotonic() + delay
            # A core that is not there yet fails every try: say so on the first
            # and then ever more rarely (1, 2, 4, 8, ... tries), not every time.
            failures = self._registration_failures
            log = LOG.warning if failures & (failures - 1) == 0 else LOG.debug
            log(
                "Registration of compute service %s failed (%s; %d tries so far); retrying in %.1fs",
                self.host,
                failure,
                failures,
                delay,
            )
            return False
        self._registered_capabilities = frozenset(info.capabilities)
        self._registration_due = False
        self._registration_failures = 0
        self.reporter.version_manifest = dict(core.object_versions)
        self.reporter.version_cap = self._report_version(core)
        if self.core_info is None or self.core_info.obj_to_primitive() != core.obj_to_primitive():
            LOG.info(
                "Compute service %s registered with core %s (virt API %s-%s, report API %s); "
                "serving virt API %s-%s (driver %s implements %s); sending report API %s; "
                "reporting objects at %s",
                self.host,
                core.core_version,
                core.virt_api_min,
                core.virt_api_max,
                core.report_api_version,
                info.virt_api_min,
                info.virt_api_max,
                self.driver.name,
                self.driver.virt_api_max,
                self.reporter.version_cap,
                _manifest_difference(core.object_versions),
            )
        self.core_info = core
        return True

    def _report_version(self, core: objects.CoreInfo) -> str:
        """The compute-report API version we send: ours, the core's, and
        ``[upgrade_levels] conductor`` when it is a version, whichever is lowest."""
        versions = [report_api.REPORT_API_VERSION, core.report_api_version]
        cap = self.conf.upgrade_levels.conductor
        if cap and cap != "auto":
            versions.append(cap)
        return min(versions, key=api.parse_version)

    def _forward_event(self, event: objects.LifecycleEvent) -> None:
        try:
            self.reporter.lifecycle_event(event=event)
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
                        self._registration_due = True
                        self._next_registration = 0.0
                if self._registration_due and now >= self._next_registration:
                    self._register()
                if self.registered and now >= next_heartbeat:
                    next_heartbeat = now + self._jittered(compute.heartbeat_interval, self._heartbeats == 0)
                    self._heartbeats += 1
                    self.reporter.heartbeat(sequence=self._heartbeats)
                if self.registered and now >= next_report:
                    next_report = now + self._jittered(compute.resource_report_interval, first_report)
                    first_report = False
                    self._report_resources()
            except Exception:  # the ticker must survive a broker hiccup
                LOG.exception("Periodic task of compute service %s failed", self.host)
            # Only what can happen counts: before the core has answered there
            # is no heartbeat or report due, and waiting for one (its time has
            # long passed) would spin this thread until registration succeeds.
            due = []
            if self.registered:
                due += [next_heartbeat, next_report]
            if self._registration_due:
                due.append(self._next_registration)
            if self.dispatcher.hypervisor_down_reason is not None:
                due.append(next_retry)
            timeout = max(0.0, min(due) - time.monotonic()) if due else _IDLE_TICK_S
            self._ticks += 1
            self._wake.wait(timeout=timeout)
            self._wake.clear()

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
        self.reporter.report_resources(resources=resources)
        if frozenset(self.driver.capabilities()) != self._registered_capabilities:
            LOG.info("Capabilities of %s changed; registering again", self.host)
            self._registration_due = True
            self._next_registration = 0.0


def _manifest_difference(theirs: dict[str, str]) -> str:
    """How the core's object manifest differs from ours, for the registration log."""
    ours = objects.object_manifest()
    older = {name: version for name, version in theirs.items() if ours.get(name) not in (None, version)}
    if not older:
        return "our own versions"
    return "the core's versions " + ", ".join(f"{name} {version}" for name, version in sorted(older.items()))


def describe(service: ComputeService) -> dict[str, Any]:
    """A summary for logs and tests."""
    return {
        "host": service.host,
        "driver": service.driver.name,
        "heartbeats": service._heartbeats,
        "registered": service.registered,
        "hypervisor_down": service.dispatcher.hypervisor_down_reason,
    }
