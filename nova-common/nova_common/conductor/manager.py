"""The conductor's logic: reports from compute services, instance operations,
liveness, the power-state sync and restart reconciliation.

Operations are accepted synchronously (validation, state compare-and-swap,
host checks, and for a create the scheduling claim) and run on the compute
host in the conductor's worker threads; each is an instance action whose
result the caller can wait for.
"""

from __future__ import annotations

import datetime
import functools
import os
import re
import socket
import threading
import time
import uuid as uuidlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from oslo_config import cfg
from oslo_log import log as logging
from sqlalchemy.exc import IntegrityError as DBIntegrityError

from nova_common import objects
from nova_common.compute import exceptions as core_exc
from nova_common.compute.states import ACTIONS, TaskState, VmState, vm_state_for_power
from nova_common.db.api import Database, NewInstance, now
from nova_common.objects.fields import LifecycleTransition, PowerState
from nova_common.scheduler.filters import RequestSpec
from nova_common.scheduler.manager import Scheduler
from nova_common.virt import api as virt_api
from nova_common.virt import driver_info as virt_driver_info
from nova_common.virt import exceptions as virt_exc
from nova_common.virt import report_api
from nova_common.virt.rpcapi import ComputeServiceUnavailable, VirtAPIClient

LOG = logging.getLogger(__name__)

_NAME = re.compile(r"[^\x00-\x1f\x7f]{1,255}")
_HOST = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,254}")

#: The power state each lifecycle event means.
EVENT_POWER_STATE = {
    LifecycleTransition.STARTED: PowerState.RUNNING,
    LifecycleTransition.RESUMED: PowerState.RUNNING,
    LifecycleTransition.STOPPED: PowerState.SHUTDOWN,
    LifecycleTransition.PAUSED: PowerState.PAUSED,
    LifecycleTransition.SUSPENDED: PowerState.SUSPENDED,
    LifecycleTransition.CRASHED: PowerState.CRASHED,
}

_RESTING = (VmState.ACTIVE, VmState.STOPPED, VmState.PAUSED, VmState.SUSPENDED)
_HOST_ERRORS = (virt_exc.VirtError, ComputeServiceUnavailable)


def _registration(service: dict[str, Any]) -> tuple[Any, ...]:
    """What a re-registration may change, as Database.liveness_rows gives it."""
    return (
        service["driver_version"],
        service["virt_api_min"],
        service["virt_api_max"],
        tuple(service["capabilities"] or ()),
    )


def _image_requirements(properties: dict[str, Any]) -> tuple[frozenset[str], str | None]:
    """(required capabilities, hypervisor type) an image's properties ask for."""
    required = frozenset(
        c.strip() for c in properties.get("required_capabilities", "").split(",") if c.strip()
    )
    return required, properties.get("hypervisor_type") or None


def guest_hostname(display_name: str, instance_uuid: str) -> str:
    """A DNS label for the guest from its display name, as Nova derives
    ``hostname``: lower case, runs of other characters as one hyphen, at most
    63 characters; ``server-<uuid>`` when nothing is left."""
    label = re.sub(r"[^a-z0-9]+", "-", display_name.lower()).strip("-")[:63].rstrip("-")
    return label or f"server-{instance_uuid}"


def _request_id() -> str:
    return "req-" + uuidlib.uuid4().hex


class InvalidReport(ValueError):
    """A compute-report message failed validation (it is logged and dropped)."""


class UnregisteredHost(InvalidReport):
    """A report from a host whose registration has not arrived (yet): casts are
    processed in parallel, so the first heartbeat may overtake the registration."""


class ConductorNameInUse(RuntimeError):
    """Another running conductor has this ``[conductor] server`` name."""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class ConductorManager:
    """One conductor. Several may run on one database and one topic, each
    taking any message: what one hears from compute services is shared
    through the database (:meth:`refresh_from_database`), and each operation
    in flight is owned by one conductor, whose lease (the ``conductors``
    table) others watch to take its work over (:meth:`take_over_orphans`)."""

    def __init__(self, conf: cfg.ConfigOpts, db: Database, transport: Any, server: str | None = None) -> None:
        self.conf = conf
        self.db = db
        #: This conductor's identity in ``conductors`` and ``instances.owner``.
        self.id = str(uuidlib.uuid4())
        self.server = server or conf.conductor.server
        self.stopping = threading.Event()
        self._in_flight = 0
        self._in_flight_done = threading.Condition()
        self.virt = VirtAPIClient(conf, transport)
        self.down_time = conf.conductor.service_down_time
        self.scheduler = Scheduler(db, self.up_hosts, conf.scheduler.host_state_ttl)
        self.pool = ThreadPoolExecutor(max_workers=conf.conductor.workers, thread_name_prefix="conductor-op")
        # The RPC calls _while_up watches (one per operation thread, and those
        # abandoned on a host that went down until their RPC timeout ends).
        self._waits = ThreadPoolExecutor(
            max_workers=2 * conf.conductor.workers, thread_name_prefix="conductor-wait"
        )
        self._lock = threading.Lock()
        self._last_seen: dict[str, float] = {}  # host -> monotonic time of its last heartbeat
        # Hearing (conductor/hearing.py): when this conductor last heard its own
        # probe, and since when it hears nothing (liveness held still then).
        self._heard_at = time.monotonic()
        self._deaf_since: float | None = None
        self.deaf_after = max(0.15, self.down_time / 2)
        self._pending_beats: dict[str, tuple[datetime.datetime, int]] = {}
        self._services: dict[str, dict[str, Any]] = {}  # host -> registration (caps, type)
        # host -> what a re-registration may change, as last seen (any conductor's)
        self._registrations: dict[str, tuple[Any, ...]] = {}
        self._stopped: set[str] = set()  # hosts that deregistered and have not registered again
        self._resources: dict[str, dict[str, int]] = {}
        self._flavors: dict[int, dict[str, Any]] = {}
        # host -> {uuid: monotonic time first seen} of instances it runs that
        # the core does not place there (acted on at the next sync).
        self._unknown_seen: dict[str, dict[str, float]] = {}
        self._unknown_lock = threading.Lock()
        self.stats = {
            "dropped": 0,
            "heartbeats": 0,
            "reports": 0,
            "registrations": 0,
            "events": 0,
            "deaf_periods": 0,
        }
        self._load_services()
        self._update_auto_cap()

    def _load_services(self) -> None:
        wall, mono = now(), time.monotonic()
        services = self.db.list_services()
        for service in services:
            self._services[service["host"]] = service
            self._registrations[service["host"]] = _registration(service)
            if service.get("stopped_at"):
                self._stopped.add(service["host"])
            elif service["last_heartbeat"]:
                age = (wall - datetime.datetime.fromisoformat(service["last_heartbeat"])).total_seconds()
                self._last_seen[service["host"]] = mono - age

    def close(self, graceful_timeout: float | None = None) -> bool:
        """Stop: wait up to ``graceful_timeout`` seconds (None: as long as it
        takes) for the operations in flight, then give up the lease so another
        conductor takes over what is left at once. True when nothing was left."""
        self.stopping.set()
        finished = self.wait_idle(graceful_timeout)
        if not finished:
            LOG.warning(
                "Conductor %s stops with %d operations in flight (past [conductor] "
                "graceful_shutdown_timeout); another conductor takes them over",
                self.server,
                self._in_flight,
            )
        self.pool.shutdown(wait=False, cancel_futures=True)
        self._waits.shutdown(wait=False, cancel_futures=True)  # abandoned calls end with their RPC timeout
        try:
            self.flush_heartbeats()
            self.release_lease()
        except Exception:  # the database is gone: the lease expires on its own
            LOG.exception("Could not give up the lease of conductor %s", self.server)
        self.virt.close()
        return finished

    def _submit(self, task: Callable[..., Any], *args: Any) -> None:
        """Run ``task`` on the operation pool, counted for a graceful stop."""
        with self._in_flight_done:
            self._in_flight += 1

        def run() -> None:
            try:
                task(*args)
            finally:
                with self._in_flight_done:
                    self._in_flight -= 1
                    self._in_flight_done.notify_all()

        self.pool.submit(run)

    def wait_idle(self, timeout: float | None = None) -> bool:
        with self._in_flight_done:
            return self._in_flight_done.wait_for(lambda: self._in_flight == 0, timeout)

    # -- this conductor's lease ------------------------------------------------------

    @property
    def lease_time(self) -> float:
        """A conductor that has not renewed its lease for this long is gone."""
        return self.down_time

    def start_lease(self) -> None:
        """Record this conductor; refuse a ``[conductor] server`` name a running
        conductor has. A previous process of this name on this machine that
        is not running any more gives its lease up now (it was killed)."""
        hostname, live = socket.gethostname(), self.db.live_conductor_ids(self.lease_time)
        for row in self.db.list_conductors():
            if row["server"] != self.server or row["id"] not in live:
                continue
            if row["hostname"] == hostname and not _pid_alive(row["pid"]):
                LOG.info(
                    "Conductor %s (pid %s) is not running any more: taking over its work",
                    row["id"],
                    row["pid"],
                )
                self.db.stop_conductor(row["id"])
                continue
            raise ConductorNameInUse(
                f"[conductor] server {self.server!r} is the name of a running conductor "
                f"(pid {row['pid']} on {row['hostname']}, lease renewed {row['renewed_at']}): "
                "give each conductor a name of its own"
            )
        self.db.register_conductor(self.id, self.server, hostname, os.getpid())

    def renew_lease(self) -> None:
        if not self.db.renew_conductor(self.id) and not self.stopping.is_set():
            LOG.error(
                "Conductor %s lost its lease (another conductor found it expired): its operations "
                "in flight were taken over; renewing it",
                self.server,
            )
            # A new identity: what still runs under the old one can no longer
            # write (its compare-and-swaps name the old owner).
            self.id = str(uuidlib.uuid4())
            self.db.register_conductor(self.id, self.server, socket.gethostname(), os.getpid())

    def release_lease(self) -> None:
        self.db.stop_conductor(self.id)

    # -- liveness ---------------------------------------------------------------

    def _liveness_now(self) -> float:
        """The time liveness is judged at: now, or when this conductor went deaf."""
        deaf_since = self._deaf_since
        return time.monotonic() if deaf_since is None else deaf_since

    def is_up(self, host: str) -> bool:
        last = self._last_seen.get(host)
        return last is not None and self._liveness_now() - last <= self.down_time

    def up_hosts(self) -> set[str]:
        """Every host that is up, in one pass (the scheduler asks for all of them per request)."""
        deadline = self._liveness_now() - self.down_time
        with self._lock:
            return {host for host, last in self._last_seen.items() if last >= deadline}

    @property
    def deaf(self) -> bool:
        return self._deaf_since is not None

    def heard_self(self) -> None:
        """This conductor's probe came back: it hears the broker."""
        now_s = time.monotonic()
        with self._lock:
            deaf_since, self._deaf_since = self._deaf_since, None
            self._heard_at = now_s
            if deaf_since is None:
                return
            # The silence while deaf is nobody's: every host is as old now as
            # it was when the conductor last heard (a host that was up then is
            # up now, and a dead one is no younger).
            gap = now_s - deaf_since
            for host, last in self._last_seen.items():
                self._last_seen[host] = min(now_s, last + gap)
        LOG.warning(
            "Conductor %s hears the broker again after %.1f s: the hosts' silence meanwhile "
            "is not counted against them",
            self.server,
            gap,
        )

    def check_hearing(self) -> None:
        """Called after each probe: deaf once no probe came back for ``deaf_after`` seconds."""
        now_s = time.monotonic()
        with self._lock:
            if self._deaf_since is not None or now_s - self._heard_at <= self.deaf_after:
                return
            self._deaf_since = self._heard_at
            self.stats["deaf_periods"] += 1
        LOG.warning(
            "Conductor %s has heard nothing from the broker for %.1f s (its own probes do not "
            "come back): host liveness held still until it hears again",
            self.server,
            now_s - self._heard_at,
        )

    def _require_up(self, host: str, action: str) -> None:
        if not self.is_up(host):
            last = self._last_seen.get(host)
            seen = "never" if last is None else f"{time.monotonic() - last:.1f}s ago"
            raise core_exc.HostDown(host=host, last_seen=seen, action=action)

    def flush_heartbeats(self) -> int:
        with self._lock:
            beats, self._pending_beats = self._pending_beats, {}
        self.db.record_heartbeats(beats)
        return len(beats)

    def refresh_from_database(self) -> None:
        """Take in what other conductors heard: heartbeats (the newest of
        theirs and ours counts), deregistrations and registrations at
        another version. Every conductor then reads the same liveness."""
        wall, mono = now(), time.monotonic()
        changed = []
        with self._lock:
            for host, beat, stopped, registration in self.db.liveness_rows():
                if stopped is not None:
                    if host not in self._stopped:
                        self._stopped.add(host)
                        self._last_seen.pop(host, None)
                        self._pending_beats.pop(host, None)
                        changed.append(host)
                    continue
                self._stopped.discard(host)
                if beat is not None:
                    seen = mono - (wall - beat).total_seconds()
                    if seen > self._last_seen.get(host, float("-inf")):
                        self._last_seen[host] = seen
                if self._registrations.get(host) != registration:
                    changed.append(host)
        # A conductor's first refresh adopts every host: one query for all of
        # them, not one per host (1,000 at 1,000 services).
        loaded = {s["host"]: s for s in self.db.list_services()} if len(changed) > 1 else None
        adopted = [host for host in changed if self._adopt(host, repin=True, settle=False, loaded=loaded)]
        if adopted:  # once per refresh, not once per host (1,000 at a conductor's first refresh)
            self._update_auto_cap()
            self.scheduler.invalidate()

    def _adopt(
        self,
        host: str,
        repin: bool = False,
        settle: bool = True,
        loaded: dict[str, dict[str, Any]] | None = None,
    ) -> bool:
        """Load ``host``'s registration from the database (it registered with
        another conductor), or from ``loaded``, the services already read;
        False when it never registered."""
        service = loaded.get(host) if loaded is not None else self.db.get_service(host)
        if service is None:
            return False
        with self._lock:
            known = host in self._services
            self._services[host] = service
            self._registrations[host] = _registration(service)
            if (
                service.get("stopped_at") is None
                and host not in self._last_seen
                and service["last_heartbeat"]
            ):
                age = (now() - datetime.datetime.fromisoformat(service["last_heartbeat"])).total_seconds()
                self._last_seen[host] = time.monotonic() - age
        if known and repin:
            self.virt.forget(host)  # its next call asks the host what it serves now
        if settle:
            self._update_auto_cap()
            self.scheduler.invalidate()
        return True

    # -- the compute-report API ---------------------------------------------------

    def _check_host(self, host: Any, registered: bool = True) -> str:
        if not isinstance(host, str) or not _HOST.fullmatch(host):
            raise InvalidReport(f"host {host!r} is not a valid host name")
        if registered and host not in self._services and not self._adopt(host):
            raise UnregisteredHost(f"host {host!r} has not registered")
        return host

    def core_info(self) -> objects.CoreInfo:
        """What the core tells a registering compute service about itself."""
        return report_api.core_info(virt_driver_info.package_version("nova-common"))

    def register(
        self,
        host: Any,
        driver_info: Any,
        heartbeat_interval: float | None = None,
        report_interval: float | None = None,
    ) -> objects.CoreInfo:
        host = self._check_host(host, registered=False)
        if not isinstance(driver_info, objects.DriverInfo):
            raise InvalidReport(f"driver_info is a {type(driver_info).__name__}, not a DriverInfo")
        try:
            virt_api.parse_version(driver_info.virt_api_min)
            virt_api.parse_version(driver_info.virt_api_max)
        except (ValueError, AttributeError) as error:
            raise InvalidReport(str(error)) from None
        capabilities = sorted(set(driver_info.capabilities))
        unknown = set(capabilities) - virt_api.Capability.ALL
        if unknown:
            LOG.warning("Host %s advertises unknown capabilities %s; ignoring them", host, sorted(unknown))
            capabilities = [c for c in capabilities if c not in unknown]
        values = dict(
            driver_name=driver_info.driver_name,
            driver_version=driver_info.driver_version,
            hypervisor_type=driver_info.hypervisor_type,
            hypervisor_version=driver_info.hypervisor_version,
            virt_api_min=driver_info.virt_api_min,
            virt_api_max=driver_info.virt_api_max,
            capabilities=capabilities,
        )
        # A host heard within the last half of service_down_time is up for
        # every conductor already: a registration that changes nothing needs no write.
        recent = now() - datetime.timedelta(seconds=self.down_time / 2)
        service, created = self.db.register_service(host, values, beat_since=recent)
        with self._lock:
            known = self._services.get(host)
            self._services[host] = service
            self._registrations[host] = _registration(service)
            self._stopped.discard(host)
            self._last_seen[host] = time.monotonic()
        # A registration that changes nothing (a retry, or one this conductor
        # asked for) leaves the pin and the scheduler's view as they are: each
        # costs a pass over every host, and 1,000 hosts registering again at
        # once made that a pass per host per registration while boots ran.
        changed = known is None or any(known.get(key) != value for key, value in values.items())
        if changed:
            self._update_auto_cap()
        # It may have restarted at another version: pin again, from what it
        # just advertised (no probe round trip on its first operation).
        client = self.virt.pin(host, driver_info)
        if changed:
            self.scheduler.invalidate()
        self.stats["registrations"] += 1
        LOG.info(
            "%s compute service %s: driver %s %s, virt API %s-%s, capabilities %s; "
            "pinned to virt API %s (%s)",
            "Registered" if created else "Re-registered",
            host,
            driver_info.driver_name,
            driver_info.driver_version,
            driver_info.virt_api_min,
            driver_info.virt_api_max,
            ",".join(capabilities),
            client.version,
            client.pin_reason(),
        )
        return self.core_info()

    def deregister(self, host: Any, reason: Any) -> None:
        """A compute service stops on purpose: the scheduler stops choosing it
        now; it stays a known host, down until it registers again."""
        host = self._check_host(host)
        with self._lock:
            self._stopped.add(host)
            self._last_seen.pop(host, None)
            self._pending_beats.pop(host, None)
        self.db.deregister_service(host)  # down for every conductor, not only this one
        self.scheduler.invalidate()
        LOG.info(
            "Compute service %s deregistered: %s; the host is down until it registers again", host, reason
        )

    def _update_auto_cap(self) -> None:
        """``[upgrade_levels] compute = auto``: every host pinned to the lowest
        virt API version among the registered services."""
        with self._lock:
            versions = {
                host: row["virt_api_max"] for host, row in self._services.items() if row.get("virt_api_max")
            }
        if not versions:
            return
        oldest = min(versions, key=lambda host: virt_api.parse_version(versions[host]))
        lowest = versions[oldest]
        if self.virt.set_auto_cap(lowest) and self.conf.upgrade_levels.compute == "auto":
            LOG.info(
                "[upgrade_levels] compute = auto: every compute host pinned to virt API %s, the lowest "
                "among %d registered services (%s serves up to %s)",
                lowest,
                len(versions),
                oldest,
                lowest,
            )

    def heartbeat(self, host: Any, sequence: Any) -> None:
        host = self._check_host(host)
        if isinstance(sequence, bool) or not isinstance(sequence, int) or sequence < 0:
            raise InvalidReport(f"sequence {sequence!r} is not a non-negative integer")
        with self._lock:
            if host in self._stopped:
                return  # sent before it deregistered; it is up again once it registers
            self._last_seen[host] = time.monotonic()
            self._pending_beats[host] = (now(), sequence)
        self.stats["heartbeats"] += 1

    def report_resources(self, host: Any, resources: Any) -> None:
        host = self._check_host(host)
        if not isinstance(resources, objects.HostResources):
            raise InvalidReport(f"resources is a {type(resources).__name__}, not a HostResources")
        values = {
            "vcpus": resources.vcpus,
            "vcpus_used": resources.vcpus_used,
            "memory_mb": resources.memory_mb,
            "memory_mb_used": resources.memory_mb_used,
            "local_gb": resources.local_gb,
            "local_gb_used": resources.local_gb_used,
            "hypervisor_hostname": resources.hypervisor_hostname,
        }
        for name in ("vcpus", "memory_mb", "local_gb"):
            if values[f"{name}_used"] > values[name]:
                raise InvalidReport(f"{name}_used {values[f'{name}_used']} exceeds {name} {values[name]}")
        self.stats["reports"] += 1
        if self._resources.get(host) == values:
            return  # unchanged: nothing to write
        self.db.update_resources(host, values)
        self._resources[host] = values
        self.scheduler.host_reported(host, values)

    def lifecycle_event(self, host: Any, event: Any) -> None:
        host = self._check_host(host)
        if not isinstance(event, objects.LifecycleEvent):
            raise InvalidReport(f"event is a {type(event).__name__}, not a LifecycleEvent")
        self.stats["events"] += 1
        instance = self.db.get_instance(event.instance_uuid)
        if instance is None or instance["host"] != host:
            LOG.info("Lifecycle event %s from %s for an instance not on it; ignored", event.transition, host)
            return
        self._apply_power_state(instance, EVENT_POWER_STATE[event.transition], "lifecycle_event")

    def _apply_power_state(self, instance: dict[str, Any], power_state: str, source: str) -> bool:
        """Bring an idle instance's states in line with the hypervisor's truth."""
        if instance["task_state"] is not None or instance["vm_state"] not in _RESTING + (VmState.ERROR,):
            return False  # an operation in flight sets the state when it finishes
        vm_state = vm_state_for_power(power_state, instance["vm_state"])
        if power_state == instance["power_state"] and vm_state == instance["vm_state"]:
            return False
        updated = self.db.cas_instance(
            instance["uuid"],
            [instance["vm_state"]],
            [None],
            {"power_state": power_state, "vm_state": vm_state},
        )
        if updated is None:
            return False
        message = (
            f"out-of-band change seen by {source}: power_state {instance['power_state']} -> {power_state}, "
            f"vm_state {instance['vm_state']} -> {vm_state}"
        )
        LOG.info("Instance %s: %s", instance["uuid"], message)
        self.db.record_action(instance["uuid"], source, _request_id(), message)
        return True

    # -- helpers --------------------------------------------------------------------

    def _flavor(self, flavor_id: int) -> dict[str, Any]:
        flavor = self._flavors.get(flavor_id)
        if flavor is None:
            flavor = self.db.get_flavor_by_id(flavor_id)
            assert flavor is not None
            self._flavors[flavor_id] = flavor
        return flavor

    def _virt_instance(self, instance: dict[str, Any]) -> objects.Instance:
        flavor = self._flavor(instance["flavor_id"])
        image = self.db.get_image(instance["image_id"]) or {"id": instance["image_id"], "name": "deleted"}
        return objects.Instance(
            uuid=instance["uuid"],
            display_name=instance["name"],
            hostname=guest_hostname(instance["name"], instance["uuid"]),
            host=instance["host"],
            project_id=instance["project_id"],
            user_id=instance["user_id"],
            flavor=objects.Flavor(
                flavorid=flavor["flavorid"],
                name=flavor["name"],
                vcpus=flavor["vcpus"],
                memory_mb=flavor["memory_mb"],
                root_gb=flavor["root_gb"],
                ephemeral_gb=flavor["ephemeral_gb"],
                swap_mb=flavor["swap_mb"],
                extra_specs={str(k): str(v) for k, v in flavor["extra_specs"].items()},
            ),
            image=objects.ImageMeta(
                id=image["id"],
                name=image["name"],
                disk_format=image.get("disk_format", "raw"),
                container_format=image.get("container_format", "bare"),
                min_ram_mb=image.get("min_ram_mb", 0),
                min_disk_gb=image.get("min_disk_gb", 0),
                size_bytes=image.get("size_bytes", 0),
                properties={str(k): str(v) for k, v in image.get("properties", {}).items()},
            ),
            metadata=dict(instance["metadata"]),
        )

    def _get(self, instance_uuid: Any) -> dict[str, Any]:
        if not isinstance(instance_uuid, str):
            raise core_exc.Invalid(field="instance", value=instance_uuid, reason="must be a UUID string")
        instance = self.db.get_instance(instance_uuid)
        if instance is None:
            raise core_exc.NotFound(field="instance", value=instance_uuid)
        return instance

    def _fault(self, instance_uuid: str, error: BaseException, host: str | None, prefix: str = "") -> str:
        code = getattr(error, "code", type(error).__name__)
        message = f"{prefix}{error}"
        self.db.add_fault(instance_uuid, code, message, type(error).__name__, host)
        return message

    # -- create ------------------------------------------------------------------------

    def create_instance(
        self,
        name: Any,
        flavor: Any,
        image: Any,
        metadata: Any = None,
        project_id: str | None = None,
        user_id: str | None = None,
        request_id: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """``extra``: checked columns of migration 0002 (description, key_name).

        Safe to repeat: a create whose ``request_id`` already made an instance
        (a client's retry with its own request id, a replayed RPC message)
        returns that instance and makes nothing.
        """
        # A repeat is found when it fails: its insert breaks the unique create
        # request id, or it was refused before (no room left: the first one
        # took it). Looking it up before every create cost a query per boot
        # (about 0.7 ms of CPU per boot at 1,000 hosts) for the rare retry.
        try:
            return self._create_instance(
                name, flavor, image, metadata, project_id, user_id, request_id, extra
            )
        except (core_exc.CoreError, DBIntegrityError):
            made = self._created_by(request_id) if request_id is not None else None
            if made is None:
                raise
            return made

    def _create_instance(
        self,
        name: Any,
        flavor: Any,
        image: Any,
        metadata: Any,
        project_id: str | None,
        user_id: str | None,
        request_id: str | None,
        extra: dict[str, Any] | None,
    ) -> dict[str, Any]:
        if not isinstance(name, str) or not _NAME.fullmatch(name) or not name.strip():
            raise core_exc.Invalid(
                field="name", value=name, reason="must be 1-255 characters without control characters"
            )
        if not isinstance(flavor, str) or (flavor_row := self.db.get_flavor(flavor)) is None:
            raise core_exc.NotFound(field="flavor", value=flavor)
        if not isinstance(image, str) or (image_row := self.db.get_image(image)) is None:
            raise core_exc.NotFound(field="image", value=image)
        if image_row["status"] != "active":
            raise core_exc.Invalid(field="image", value=image, reason=f"image is {image_row['status']}")
        metadata = metadata or {}
        if not isinstance(metadata, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and len(k) <= 255 and len(v) <= 255
            for k, v in metadata.items()
        ):
            raise core_exc.Invalid(field="metadata", value=metadata, reason="must map strings to strings")
        disk_gb = flavor_row["root_gb"] + flavor_row["ephemeral_gb"]
        if image_row["min_ram_mb"] > flavor_row["memory_mb"]:
            raise core_exc.Invalid(
                field="flavor", value=flavor, reason=f"image {image} needs {image_row['min_ram_mb']} MB RAM"
            )
        if image_row["min_disk_gb"] > flavor_row["root_gb"]:
            raise core_exc.Invalid(
                field="flavor",
                value=flavor,
                reason=f"image {image} needs a {image_row['min_disk_gb']} GB disk",
            )
        properties = image_row["properties"]
        required, hypervisor_type = _image_requirements(properties)
        if required - virt_api.Capability.ALL:
            raise core_exc.Invalid(
                field="image.properties.required_capabilities",
                value=properties.get("required_capabilities"),
                reason=f"unknown capabilities {sorted(required - virt_api.Capability.ALL)}",
            )
        spec = RequestSpec(
            vcpus=flavor_row["vcpus"],
            memory_mb=flavor_row["memory_mb"],
            disk_gb=disk_gb,
            required_capabilities=required,
            hypervisor_type=hypervisor_type,
        )
        # Refuse at once what no host can take, before writing anything; the
        # same candidates then go to the claim (one filter pass per create).
        candidates = self.scheduler.select(spec)
        request_id = request_id or _request_id()
        instance_uuid = str(uuidlib.uuid4())
        values = dict(
            uuid=instance_uuid,
            name=name,
            flavor_id=flavor_row["id"],
            image_id=image_row["id"],
            vcpus=spec.vcpus,
            memory_mb=spec.memory_mb,
            disk_gb=disk_gb,
            vm_state=VmState.BUILDING,
            task_state=TaskState.SCHEDULING,
            power_state=PowerState.NOSTATE,
            project_id=project_id,
            user_id=user_id,
            instance_metadata=metadata,
            volumes={},
            attempts=0,
            tried_hosts=[],
            owner=self.id,
            **(extra or {}),
        )
        # The claim inserts the instance on the host it found room on, in one
        # transaction: a refused create leaves no row behind, and the row is
        # written once, already placed. A request id that made an instance
        # before breaks the create actions' unique request ids here
        # (DBIntegrityError), and create_instance answers with that instance.
        with self.db.writer() as session:
            instance = self.scheduler.schedule(
                instance_uuid,
                spec,
                TaskState.SCHEDULING,
                new_task_state=TaskState.SPAWNING,
                candidates=candidates,
                session=session,
                new_instance=NewInstance(values, "create", request_id),
            )
        self._submit(self._build, instance_uuid, spec, request_id, instance)
        return {**instance, "request_id": request_id}

    def _created_by(self, request_id: str) -> dict[str, Any] | None:
        """The instance the create with ``request_id`` made, or None."""
        instance_uuid = self.db.instance_created_by(request_id)
        if instance_uuid is None:
            return None
        instance = self.db.get_instance(instance_uuid, include_deleted=True)
        if instance is None:
            return None
        LOG.info(
            "Create %s was made before (instance %s): returning that instance", request_id, instance_uuid
        )
        return {**instance, "request_id": request_id}

    def _build(
        self, instance_uuid: str, spec: RequestSpec, request_id: str, claimed: dict[str, Any] | None = None
    ) -> None:
        try:
            self._build_loop(instance_uuid, spec, request_id, claimed)
        except Exception as error:  # never leave an instance building forever
            LOG.exception("Build of %s failed unexpectedly", instance_uuid)
            self._fault(instance_uuid, error, None, "internal error in the conductor: ")
            self.db.cas_instance(
                instance_uuid, [VmState.BUILDING], None, {"vm_state": VmState.ERROR, "task_state": None}
            )
            self.db.finish_action(instance_uuid, request_id, "error", str(error))

    def _build_loop(
        self, instance_uuid: str, spec: RequestSpec, request_id: str, claimed: dict[str, Any] | None = None
    ) -> None:
        max_attempts = self.conf.scheduler.max_attempts
        while True:
            # The row the claim just wrote saves a read on the first attempt;
            # a delete arriving since is caught by the compare-and-swap below.
            instance, claimed = claimed or self.db.get_instance(instance_uuid), None
            if instance is None:
                return
            if instance["owner"] != self.id:
                LOG.info(
                    "Build of %s is owned by conductor %s now; leaving it", instance_uuid, instance["owner"]
                )
                return
            if instance["task_state"] == TaskState.DELETING:
                self.db.finish_action(instance_uuid, request_id, "error", "deleted while building")
                self._finish_delete(instance, request_id=None)
                return
            if instance["task_state"] is None:
                return  # finished (a conductor that took it over found it on its host)
            if self.stopping.is_set():
                # Left owned: once this conductor's lease is given up, another
                # one takes the build over where it stands.
                LOG.info("Conductor stopping: leaving the build of %s to another conductor", instance_uuid)
                return
            host = instance["host"]
            if host is None:
                # Never a spawn without a host: place it first.
                if instance["task_state"] != TaskState.SCHEDULING and not self.db.cas_instance(
                    instance_uuid,
                    [VmState.BUILDING],
                    [instance["task_state"]],
                    {"task_state": TaskState.SCHEDULING},
                    owned_by=self.id,
                ):
                    continue
                claimed = self._place(instance_uuid, spec, request_id, instance["tried_hosts"])
                if claimed is None:
                    return
                continue
            try:
                virt_instance = self._virt_instance(instance)
                try:
                    info = self._while_up(
                        host,
                        "spawn",
                        functools.partial(
                            self.virt.host(host).spawn,
                            instance=virt_instance,
                            network_info=objects.NetworkInfo(objects=[]),
                        ),
                    )
                except virt_exc.InstanceExists:
                    # A spawn of this very instance got there first (the
                    # conductor that sent it died and this one took over).
                    info = self.virt.host(host).get_info(instance=virt_instance)
                    LOG.info("Instance %s was already spawned on %s; adopting it", instance_uuid, host)
            except _HOST_ERRORS as error:
                if self.stopping.is_set() and isinstance(error, ComputeServiceUnavailable):
                    LOG.info(
                        "Conductor stopping: leaving the build of %s to another conductor", instance_uuid
                    )
                    return
                LOG.warning("Spawn of %s on %s failed: %s", instance_uuid, host, error)
                last = self._fault(instance_uuid, error, host, f"spawn on {host} failed: ")
                if isinstance(error, virt_exc.InvalidRequest):
                    # The driver refuses the request itself (a name it cannot
                    # take): every host of that driver would. Its reason is the
                    # instance's fault, not "no valid host" after trying them all.
                    self._build_failed(instance_uuid, request_id, error, fault_recorded=True)
                    return
                if isinstance(error, ComputeServiceUnavailable) and self.is_up(host):
                    # (A host that is down gets no destroy to wait on: the
                    # power-state sync reaps the instance when it is back.)
                    self._best_effort_destroy(host, instance)
                if instance["attempts"] >= max_attempts:
                    reason = f"Exceeded maximum number of attempts ({max_attempts}); last error: {last}"
                    self._build_failed(instance_uuid, request_id, core_exc.NoValidHost(reason=reason))
                    return
                moved = self.db.cas_instance(
                    instance_uuid,
                    [VmState.BUILDING],
                    [TaskState.SPAWNING],
                    {"task_state": TaskState.SCHEDULING, "host": None},
                    owned_by=self.id,
                )
                if moved is None:
                    continue  # deleted or taken over meanwhile: handled at the top
                claimed = self._place(instance_uuid, spec, request_id, moved["tried_hosts"])
                if claimed is None:
                    return
                continue
            with self.db.writer() as session:  # state and action in one commit
                done = self.db.cas_instance(
                    instance_uuid,
                    [VmState.BUILDING],
                    [TaskState.SPAWNING],
                    {
                        "vm_state": VmState.ACTIVE,
                        "task_state": None,
                        "power_state": info.power_state,
                        "launched_at": now(),
                    },
                    session=session,
                    owned_by=self.id,
                )
                if done is not None:
                    self.db.finish_action(instance_uuid, request_id, "success", session=session)
            if done is None:
                continue  # a delete arrived while spawning, or another conductor took over: see the top
            return

    def _place(
        self, instance_uuid: str, spec: RequestSpec, request_id: str, tried: list[str]
    ) -> dict[str, Any] | None:
        """Claim a host not tried yet for an instance in SCHEDULING; the claimed
        row, or None when the build is over (no valid host: ERROR)."""
        try:
            return self.scheduler.schedule(
                instance_uuid,
                RequestSpec(
                    spec.vcpus,
                    spec.memory_mb,
                    spec.disk_gb,
                    spec.required_capabilities,
                    spec.hypervisor_type,
                    frozenset(tried),
                ),
                TaskState.SCHEDULING,
                new_task_state=TaskState.SPAWNING,
            )
        except core_exc.NoValidHost as error:
            self._build_failed(instance_uuid, request_id, error)
            return None
        except core_exc.NotFound:
            return None

    def _while_up(self, host: str, operation: str, call: Callable[[], Any]) -> Any:
        """``call()``'s result, unless ``host`` is marked down first: then
        ComputeServiceUnavailable at once instead of waiting out the RPC timeout
        (300 s for a spawn). Whatever the host still does with the abandoned
        call is found by the power-state sync (an instance the core does not
        place there is reaped)."""
        future = self._waits.submit(call)
        poll = max(0.05, min(1.0, self.down_time / 4))
        while True:
            try:
                return future.result(timeout=poll)
            except FutureTimeout:
                # A stopping conductor hears no heartbeats: it waits for the
                # answer (up to its graceful timeout) instead of guessing.
                if not self.stopping.is_set() and not self.is_up(host):
                    raise ComputeServiceUnavailable(
                        host=host,
                        operation=operation,
                        reason=f"it was marked down (no heartbeat for {self.down_time:g} s)",
                    ) from None

    def _build_failed(
        self, instance_uuid: str, request_id: str, error: Exception, fault_recorded: bool = False
    ) -> None:
        if not fault_recorded:
            self._fault(instance_uuid, error, None)
        self.db.cas_instance(
            instance_uuid,
            [VmState.BUILDING],
            [TaskState.SCHEDULING, TaskState.SPAWNING],
            {"vm_state": VmState.ERROR, "task_state": None, "host": None},
            owned_by=self.id,
        )
        self.db.finish_action(instance_uuid, request_id, "error", str(error))

    def _best_effort_destroy(self, host: str, instance: dict[str, Any]) -> None:
        try:
            self.virt.host(host).destroy(instance=self._virt_instance(instance))
        except _HOST_ERRORS as error:
            LOG.warning("Could not clean up %s on %s: %s", instance["uuid"], host, error)

    # -- other actions ----------------------------------------------------------------

    def instance_action(self, instance_uuid: Any, action: str, request_id: str | None = None, **args: Any):
        """Start ``action`` on an instance; returns the instance with its request_id."""
        act = ACTIONS.get(action)
        if act is None or action == "create":
            raise core_exc.Invalid(field="action", value=action, reason="not an instance action")
        instance = self._get(instance_uuid)
        request_id = request_id or _request_id()
        args = self._check_args(action, instance, args)
        if not act.allowed(instance["vm_state"], instance["task_state"]):
            raise core_exc.InstanceInvalidState(
                action=action,
                instance_uuid=instance_uuid,
                vm_state=instance["vm_state"],
                task_state=instance["task_state"],
            )
        host = instance["host"]
        if action == "delete":
            return self._delete(instance, request_id)
        if host is None:
            raise core_exc.Conflict(reason=f"instance {instance_uuid} is on no host; cannot {action}")
        self._require_up(host, action)
        capabilities = self._services.get(host, {}).get("capabilities", [])
        if act.capability and act.capability not in capabilities:
            raise core_exc.OperationNotSupported(host=host, action=action, capability=act.capability)
        with self.db.writer() as session:
            started = self.db.cas_instance(
                instance_uuid,
                act.from_vm_states,
                act.from_task_states,
                {"task_state": act.task_state, "owner": self.id},
                session,
            )
            if started is None:
                raise core_exc.InstanceInvalidState(
                    action=action, instance_uuid=instance_uuid, vm_state="(changed)", task_state="(changed)"
                )
            self.db.start_action(instance_uuid, action, request_id, session)
        self._submit(self._run_action, started, action, request_id, args)
        accepted = {**started, "request_id": request_id}
        if action == "snapshot":
            accepted["image_id"] = args["image_id"]  # the REST API's Location header needs it at once
        return accepted

    def _check_args(self, action: str, instance: dict[str, Any], args: dict[str, Any]) -> dict[str, Any]:
        if action == "snapshot":
            name = args.get("name")
            if not isinstance(name, str) or not _NAME.fullmatch(name):
                raise core_exc.Invalid(field="name", value=name, reason="must be 1-255 printable characters")
            return {"name": name, "image_id": str(uuidlib.uuid4())}
        if action == "attach_volume":
            try:
                volume_id = str(uuidlib.UUID(str(args.get("volume_id"))))
            except ValueError:
                raise core_exc.Invalid(
                    field="volume_id", value=args.get("volume_id"), reason="not a UUID"
                ) from None
            mountpoint = args.get("mountpoint")
            if not isinstance(mountpoint, str) or not re.fullmatch(r"/dev/[a-z0-9]{1,32}", mountpoint):
                raise core_exc.Invalid(field="mountpoint", value=mountpoint, reason="must look like /dev/vdb")
            if mountpoint in instance["volumes"] and instance["volumes"][mountpoint] != volume_id:
                raise core_exc.Invalid(
                    field="mountpoint",
                    value=mountpoint,
                    reason=f"holds volume {instance['volumes'][mountpoint]}",
                )
            return {"volume_id": volume_id, "mountpoint": mountpoint}
        if action == "detach_volume":
            volume_id = args.get("volume_id")
            if volume_id not in instance["volumes"].values():
                raise core_exc.NotFound(field="volume", value=volume_id)
            return {"volume_id": volume_id}
        if action == "stop":
            timeout = args.get("timeout", 0)
            if isinstance(timeout, bool) or not isinstance(timeout, int) or timeout < 0:
                raise core_exc.Invalid(field="timeout", value=timeout, reason="must be an integer >= 0")
            return {"timeout": timeout}
        if args:
            raise core_exc.Invalid(field="arguments", value=sorted(args), reason=f"{action} takes none")
        return {}

    def _run_action(
        self, instance: dict[str, Any], action: str, request_id: str, args: dict[str, Any]
    ) -> None:
        act = ACTIONS[action]
        host = instance["host"]
        client = self.virt.host(host)
        virt_instance = self._virt_instance(instance)
        values: dict[str, Any] = {"task_state": None}
        try:
            if action in ("reboot", "reboot_hard"):
                client.reboot(
                    instance=virt_instance, reboot_type="hard" if action == "reboot_hard" else "soft"
                )
            elif action == "stop":
                client.power_off(instance=virt_instance, timeout=args["timeout"])
            elif action == "snapshot":
                self.db.create_image(
                    dict(
                        id=args["image_id"],
                        name=args["name"],
                        disk_format=virt_instance.image.disk_format,
                        container_format=virt_instance.image.container_format,
                        min_ram_mb=0,
                        min_disk_gb=virt_instance.flavor.root_gb,
                        size_bytes=0,
                        properties={},
                        status="saving",
                        source_instance_uuid=instance["uuid"],
                    )
                )
                try:
                    snap = client.snapshot(
                        instance=virt_instance, image_id=args["image_id"], name=args["name"]
                    )
                except Exception:
                    self.db.update_image(args["image_id"], {"status": "error"})
                    raise
                self.db.update_image(
                    args["image_id"],
                    {"status": "active", "location": snap.location, "size_bytes": snap.size_bytes},
                )
            elif action == "attach_volume":
                client.attach_volume(
                    instance=virt_instance,
                    attachment=objects.VolumeAttachment(
                        volume_id=args["volume_id"], mountpoint=args["mountpoint"], driver_volume_type="fake"
                    ),
                )
                values["volumes"] = {**instance["volumes"], args["mountpoint"]: args["volume_id"]}
            elif action == "detach_volume":
                client.detach_volume(instance=virt_instance, volume_id=args["volume_id"])
                values["volumes"] = {m: v for m, v in instance["volumes"].items() if v != args["volume_id"]}
            else:
                client.call(act.virt_operation, instance=virt_instance)
        except _HOST_ERRORS as error:
            message = self._fault(instance["uuid"], error, host, f"{action} on {host} failed: ")
            self.db.cas_instance(
                instance["uuid"], None, [act.task_state], {"task_state": None}, owned_by=self.id
            )
            self.db.finish_action(instance["uuid"], request_id, "error", message)
            return
        except Exception as error:
            LOG.exception("%s of %s failed unexpectedly", action, instance["uuid"])
            self._fault(instance["uuid"], error, host, f"internal error in the conductor during {action}: ")
            self.db.cas_instance(
                instance["uuid"], None, [act.task_state], {"task_state": None}, owned_by=self.id
            )
            self.db.finish_action(
                instance["uuid"], request_id, "error", f"internal error: {type(error).__name__}"
            )
            return
        if act.done_vm_state:
            values["vm_state"] = act.done_vm_state
        if act.done_power_state:
            values["power_state"] = act.done_power_state
        if self.db.cas_instance(instance["uuid"], None, [act.task_state], values, owned_by=self.id) is None:
            LOG.info(
                "%s of %s was taken over by another conductor; its result is theirs", action, instance["uuid"]
            )
            return
        result = {"image_id": args["image_id"]} if action == "snapshot" else None
        self.db.finish_action(
            instance["uuid"], request_id, "success", None if result is None else str(result)
        )

    # -- delete ------------------------------------------------------------------------

    def _delete(self, instance: dict[str, Any], request_id: str) -> dict[str, Any]:
        act = ACTIONS["delete"]
        with self.db.writer() as session:
            started = self.db.cas_instance(
                instance["uuid"],
                act.from_vm_states,
                act.from_task_states,
                {"task_state": TaskState.DELETING, "owner": self.id},
                session,
            )
            if started is None:
                raise core_exc.InstanceInvalidState(
                    action="delete",
                    instance_uuid=instance["uuid"],
                    vm_state="(changed)",
                    task_state="(changed)",
                )
            self.db.start_action(instance["uuid"], "delete", request_id, session)
        if instance["task_state"] in TaskState.BUILD:
            # The build thread sees the deleting task state and finishes the delete.
            return {**started, "request_id": request_id}
        self._submit(self._finish_delete, started, request_id)
        return {**started, "request_id": request_id}

    def _finish_delete(self, instance: dict[str, Any], request_id: str | None) -> None:
        host = instance["host"]
        message = None
        if host is not None:
            if self.is_up(host):
                try:
                    self.virt.host(host).destroy(instance=self._virt_instance(instance))
                except _HOST_ERRORS as error:
                    text = self._fault(instance["uuid"], error, host, f"destroy on {host} failed: ")
                    self.db.cas_instance(instance["uuid"], None, [TaskState.DELETING], {"task_state": None})
                    self.db.finish_action(instance["uuid"], request_id, "error", text)
                    return
            else:
                message = f"host {host} is down: deleted from the database only (local delete)"
                LOG.warning("Instance %s: %s", instance["uuid"], message)
        self.db.soft_delete_instance(instance["uuid"])
        self.db.finish_action(instance["uuid"], request_id, "success", message)

    # -- power-state sync and reconciliation ----------------------------------------

    def sync_power_states(self) -> dict[str, int]:
        """One list_instances per up host; apply what changed behind our back."""
        counts = {"hosts": 0, "changed": 0, "missing": 0, "failed": 0, "unknown": 0}
        if self.deaf:
            return counts  # the hosts cannot be asked either
        hosts = [h for h in list(self._services) if self.is_up(h)]
        if not hosts:
            return counts
        with ThreadPoolExecutor(max_workers=self.conf.conductor.sync_workers) as pool:
            for result in pool.map(self._sync_host, hosts):
                for key, value in result.items():
                    counts[key] += value
        return counts

    def _sync_host(self, host: str) -> dict[str, int]:
        counts = {"hosts": 1, "changed": 0, "missing": 0, "failed": 0, "unknown": 0}
        try:
            listed = {info.uuid: info for info in self.virt.host(host).list_instances().objects}
        except _HOST_ERRORS as error:
            LOG.warning("Power-state sync of %s failed: %s", host, error)
            counts["failed"] = 1
            return counts
        known = self.db.list_instances(host=host)
        counts["unknown"] = self._handle_unknown(host, listed, {i["uuid"] for i in known})
        for instance in known:
            if instance["task_state"] is not None:
                continue
            info = listed.get(instance["uuid"])
            if info is not None:
                counts["changed"] += self._apply_power_state(instance, info.power_state, "power_sync")
            elif instance["vm_state"] in _RESTING:
                message = f"instance is gone from host {host} (power-state sync)"
                if self.db.cas_instance(
                    instance["uuid"],
                    [instance["vm_state"]],
                    [None],
                    {"vm_state": VmState.ERROR, "power_state": PowerState.NOSTATE},
                ):
                    self.db.add_fault(instance["uuid"], "instance_not_found", message, None, host)
                    self.db.record_action(instance["uuid"], "power_sync", _request_id(), message)
                    counts["missing"] += 1
        return counts

    def _handle_unknown(self, host: str, listed: dict[str, Any], known: set[str]) -> int:
        """Instances ``host`` runs that the core does not place there: acted on
        (``[conductor] unknown_instance_action``) at the second sync that finds
        one; returns how many were acted on."""
        conductor = self.conf.conductor
        now_s = time.monotonic()
        acted = 0
        with self._unknown_lock:
            seen = self._unknown_seen.setdefault(host, {})
            for gone in set(seen) - set(listed):  # destroyed meanwhile, or adopted
                del seen[gone]
            due = []
            for uuid, info in listed.items():
                if uuid in known:
                    seen.pop(uuid, None)
                    continue
                if uuid not in seen:
                    seen[uuid] = now_s
                elif now_s - seen[uuid] >= conductor.unknown_instance_grace:
                    due.append(info)
        for info in due:
            row = self.db.get_instance(info.uuid, include_deleted=True)
            if row is not None and not row["deleted"] and row["host"] == host:
                continue  # placed here since the listing: known now
            if row is None:
                why = "unknown to the core"
            elif row["deleted"]:
                why = "deleted in the core"
            else:
                why = f"the core places it on {row['host'] or 'no host'}"
            action = conductor.unknown_instance_action
            LOG.warning(
                "Instance %s runs on %s but %s: %s (power-state sync, [conductor] unknown_instance_action)",
                info.uuid,
                host,
                why,
                {"reap": "destroying it", "power_off": "powering it off", "log": "leaving it"}[action],
            )
            if action == "log":
                continue
            try:
                target = self._unknown_virt_instance(info, row)
                if action == "reap":
                    self.virt.host(host).destroy(instance=target)
                    with self._unknown_lock:
                        self._unknown_seen.get(host, {}).pop(info.uuid, None)
                elif info.power_state != PowerState.SHUTDOWN:
                    self.virt.host(host).power_off(instance=target, timeout=0)
                acted += 1
            except _HOST_ERRORS as error:
                LOG.warning("Could not %s unknown instance %s on %s: %s", action, info.uuid, host, error)
        return acted

    def _unknown_virt_instance(self, info: Any, row: dict[str, Any] | None) -> objects.Instance:
        if row is not None:
            try:
                return self._virt_instance(row)
            except Exception:  # its flavor or image is gone too: what the hypervisor says will do
                LOG.debug("No full record of %s; using the hypervisor's", info.uuid)
        return objects.Instance(
            uuid=info.uuid,
            display_name=info.name or info.uuid,
            flavor=objects.Flavor(
                flavorid="unknown",
                name="unknown",
                vcpus=max(1, info.vcpus),
                memory_mb=max(1, info.max_memory_mb),
            ),
            image=objects.ImageMeta(id="00000000-0000-0000-0000-000000000000", name="unknown"),
        )

    def reconcile(self) -> dict[str, int]:
        """At start: take over what conductors that are gone left in flight
        (a previous process of this one included)."""
        return self.take_over_orphans()

    def take_over_orphans(self) -> dict[str, int]:
        """Take over the operations in flight whose owner's lease is gone
        (killed, or stopped past its graceful timeout), each by one conductor
        only (a compare-and-swap on the owner), and finish them from the
        hypervisor's truth: a build found on its host is ACTIVE, any other
        build goes on (spawned again, on another host when its own is down),
        a delete is completed, any other operation is settled."""
        counts = {"active": 0, "resumed": 0, "deleted": 0, "settled": 0, "skipped": 0}
        if self.stopping.is_set():
            return counts
        live = self.db.live_conductor_ids(self.lease_time) | {self.id}
        orphans = self.db.orphaned_operations(live)
        if not orphans:
            return counts
        listings: dict[str, dict[str, Any] | None] = {}

        def listing(host: str) -> dict[str, Any] | None:
            if host not in listings:
                try:
                    listings[host] = {i.uuid: i for i in self.virt.host(host).list_instances().objects}
                except _HOST_ERRORS as error:
                    LOG.warning("Cannot list %s to take over its operations: %s", host, error)
                    listings[host] = None
            return listings[host]

        for orphan in orphans:
            instance = self.db.take_over(orphan["uuid"], orphan["owner"], self.id)
            if instance is None:
                continue  # finished meanwhile, or another conductor took it
            uuid, host, task = instance["uuid"], instance["host"], instance["task_state"]
            LOG.warning(
                "Taking over %s of instance %s on %s from conductor %s (its lease is gone)",
                task,
                uuid,
                host or "no host",
                orphan["owner"] or "(none recorded)",
            )
            note = f"taken over from a conductor that is gone, while {task}"
            seen = listing(host) if host and self.is_up(host) else None
            if task == TaskState.DELETING:
                self._finish_delete(instance, None)
                self.db.finish_action(uuid, None, "success", note)
                counts["deleted"] += 1
            elif task in TaskState.BUILD:
                info = seen.get(uuid) if seen is not None else None
                request_id = self.db.open_request_id(uuid, "create") or _request_id()
                if info is not None and self.db.cas_instance(
                    uuid,
                    [VmState.BUILDING],
                    [task],
                    {
                        "vm_state": VmState.ACTIVE,
                        "task_state": None,
                        "power_state": info.power_state,
                        "launched_at": now(),
                    },
                    owned_by=self.id,
                ):
                    self.db.finish_action(uuid, request_id, "success", note + "; found on the host")
                    counts["active"] += 1
                else:
                    self._submit(self._build, uuid, self._spec_of(instance), request_id, instance)
                    counts["resumed"] += 1
            elif seen is None:
                # Its host is down or cannot answer: the outcome is unknown
                # until it is back, when the power-state sync applies it.
                self.db.cas_instance(uuid, None, [task], {"task_state": None}, owned_by=self.id)
                self.db.finish_action(uuid, None, "error", f"{note}; host {host} cannot say how it ended")
                counts["skipped"] += 1
            else:
                info = seen.get(uuid)
                if info is None:
                    values = {
                        "vm_state": VmState.ERROR,
                        "task_state": None,
                        "power_state": PowerState.NOSTATE,
                    }
                    self.db.add_fault(uuid, "reconciled", note + "; not on the host", None, host)
                else:
                    values = {
                        "vm_state": vm_state_for_power(info.power_state, instance["vm_state"]),
                        "task_state": None,
                        "power_state": info.power_state,
                    }
                self.db.cas_instance(uuid, None, [task], values, owned_by=self.id)
                self.db.finish_action(uuid, None, "error", f"{note}; hypervisor says {values['power_state']}")
                counts["settled"] += 1
        if any(counts.values()):
            LOG.info("Took over operations of conductors that are gone: %s", counts)
        return counts

    def _spec_of(self, instance: dict[str, Any]) -> RequestSpec:
        """The request spec of an instance's build, from its row and image."""
        image = self.db.get_image(instance["image_id"]) or {"properties": {}}
        required, hypervisor_type = _image_requirements(image["properties"])
        return RequestSpec(
            vcpus=instance["vcpus"],
            memory_mb=instance["memory_mb"],
            disk_gb=instance["disk_gb"],
            required_capabilities=required & virt_api.Capability.ALL,
            hypervisor_type=hypervisor_type,
        )

    # -- reads and catalog -------------------------------------------------------------

    def show_instance(self, instance_uuid: Any) -> dict[str, Any]:
        instance = self._get(instance_uuid)
        faults = self.db.list_faults(instance["uuid"])
        instance["fault"] = faults[-1] if faults else None
        return instance

    def service_view(self, service: dict[str, Any]) -> dict[str, Any]:
        return {
            **service,
            "state": "up" if self.is_up(service["host"]) else "down",
            "status": "enabled" if service["enabled"] else "disabled",
        }
