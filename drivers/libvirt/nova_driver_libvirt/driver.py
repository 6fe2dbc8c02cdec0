"""The libvirt driver of the nova-common virt contract.

One compute service drives one libvirt connection (``[libvirt] connection_uri``).
Its behaviour, operation by operation, is the spec's
(:mod:`nova_common.virt.api`); what is libvirt-specific:

* **Ownership.** The driver owns exactly the domains that carry its
  ``<metadata>`` element (:data:`~nova_driver_libvirt.xmlbuilder.METADATA_NS`).
  Anything else on the host (the test driver's ``test`` domain, domains of
  other tools) is never listed, counted, touched or reported.
* **Names.** The domain name comes from ``[libvirt] domain_name_template``
  and the domain UUID is the instance uuid. The display name is kept in our
  metadata and the domain ``<title>``; user text is escaped by the XML
  builder and refused when it holds control characters or is longer than
  ``[libvirt] max_name_length`` (default 255 characters, so a 300-character
  name is refused with InvalidRequest).
* **Power states** follow the table in :mod:`nova_driver_libvirt.states`.
  Every operation checks the spec's Transition first: from a state it does
  not accept it raises InvalidInstanceState, in its target state it does
  nothing.
* **Bulk reads.** ``list_instances`` and ``get_host_resources`` make a fixed
  number of libvirt calls whatever the number of domains: one
  ``getAllDomainStats`` (state, balloon, vCPUs and CPU time of every
  domain), ownership from a cache keyed by domain UUID that is filled once
  per domain (at start, at spawn, or the first time an unknown domain is
  seen), and ``hasManagedSaveImage`` only for shut-off domains whose state
  reason says they may have been saved.
* **Errors.** libvirt errors never cross the wire raw (see
  :func:`nova_driver_libvirt.connection.translate`).
* **Capabilities** are probed at start (:meth:`LibvirtDriver._probe`).
"""

from __future__ import annotations

import os
import re
import threading
import time
import uuid as uuid_lib
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlparse

import libvirt
from oslo_config import cfg
from oslo_log import log as logging
from oslo_utils import timeutils

from nova_common import objects
from nova_common.objects.fields import PowerState
from nova_common.virt import api
from nova_common.virt import driver_info as virt_driver_info
from nova_common.virt import exceptions as exc
from nova_driver_libvirt import conf as libvirt_conf
from nova_driver_libvirt import states
from nova_driver_libvirt import xmlbuilder as xb
from nova_driver_libvirt.connection import (
    CallCounter,
    CountedConnection,
    CountedDomain,
    LibvirtConnection,
    translate,
)

LOG = logging.getLogger(__name__)

DISTRIBUTION = "nova-driver-libvirt"

_STATS = (
    libvirt.VIR_DOMAIN_STATS_STATE
    | libvirt.VIR_DOMAIN_STATS_CPU_TOTAL
    | libvirt.VIR_DOMAIN_STATS_BALLOON
    | libvirt.VIR_DOMAIN_STATS_VCPU
)
_UNDEFINE_FLAGS = libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
_UNDEFINE_NVRAM = getattr(libvirt, "VIR_DOMAIN_UNDEFINE_NVRAM", 0)
_NO_METADATA = getattr(libvirt, "VIR_ERR_NO_DOMAIN_METADATA", 80)

#: Hypervisor types whose libvirt driver implements create/destroy/shutdown,
#: suspend/resume (pause) and reboot/reset; capabilities that cannot be
#: probed without starting a guest are advertised only for these.
_LIFECYCLE_COMPLETE = frozenset({"QEMU", "TEST"})

_MOUNTPOINT = re.compile(r"(?:/dev/)?((?:[hsv]d|xvd)[a-z]{1,2})")

F = TypeVar("F", bound=Callable[..., Any])


class LibvirtDriver(api.ComputeDriver):
    """virt API 1.1 on libvirt (QEMU/KVM; libvirt's test driver for tests)."""

    name = "libvirt"
    hypervisor_type = "QEMU"
    distribution = DISTRIBUTION
    virt_api_max = "1.1"

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        super().__init__(conf)
        self.register_opts(conf)
        self.counter = CallCounter()
        self._connection = LibvirtConnection(
            conf.libvirt.connection_uri,
            counter=self.counter,
            on_open=self._connection_opened,
            reconnect_interval=conf.libvirt.reconnect_interval,
        )
        # uuid -> our metadata (owned) / None (seen, not ours).
        self._ownership: dict[str, xb.InstanceMetadata | None] = {}
        self._ownership_lock = threading.Lock()
        self._capabilities: frozenset[str] = frozenset()
        self._missing: dict[str, str] = {}  # capability -> why it is not advertised
        self._hv_version = 0
        self._undefine_nvram = bool(_UNDEFINE_NVRAM)
        self._package_version = virt_driver_info.package_version(DISTRIBUTION)
        self._started = False

    @classmethod
    def register_opts(cls, conf: cfg.ConfigOpts) -> None:
        libvirt_conf.register_opts(conf)

    # -- lifecycle -----------------------------------------------------------

    def start(self) -> None:
        """Connect, learn the hypervisor, find our domains, probe capabilities."""
        conn = self._conn_or_unavailable()
        try:
            self.hypervisor_type = conn.getType()
            self._hv_version = conn.getVersion()
            self._scan_ownership(conn)
            self._capabilities, self._missing = self._probe(conn)
        except libvirt.libvirtError as error:
            self._connection.connection_failed(error)
            raise exc.HypervisorUnavailable(
                reason=f"probing {self._connection.uri} failed: {error}"
            ) from None
        self._started = True
        LOG.info(
            "libvirt driver on %s (%s %s): capabilities %s; not advertised: %s",
            self._connection.uri,
            self.hypervisor_type,
            self._hv_version,
            sorted(self._capabilities),
            self._missing,
        )

    def stop(self) -> None:
        try:
            self._connection.close()
        except Exception:  # stop must not raise
            LOG.exception("Closing the libvirt connection failed")

    def capabilities(self) -> frozenset[str]:
        return self._capabilities

    def missing_capabilities(self) -> dict[str, str]:
        """Capabilities not advertised, each with the reason (for the support matrix)."""
        return dict(self._missing)

    def hypervisor_version(self) -> int:
        return self._hv_version

    def translate_error(
        self, error: Exception, operation: str, instance_uuid: str | None
    ) -> exc.VirtError | None:
        """libvirt errors never cross the wire raw; a lost connection is also
        dropped, so the next call reopens it."""
        if not isinstance(error, libvirt.libvirtError):
            return None
        if self._connection.lost_by(error):
            return exc.HypervisorUnavailable(
                reason=f"libvirt connection lost during {operation}: {error.get_error_message()}"
            )
        return translate(error, operation, instance_uuid)

    # -- connection plumbing ---------------------------------------------------

    @property
    def _conn(self) -> CountedConnection | None:
        """The open connection (tests close it underneath the driver), or None."""
        return self._connection.current

    def _conn_or_unavailable(self) -> CountedConnection:
        return self._connection.get()

    def _connection_opened(self, conn: CountedConnection) -> None:
        conn.raw.domainEventRegisterAny(
            None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, self._lifecycle_callback, None
        )

    def _lifecycle_callback(
        self, _conn: Any, dom: libvirt.virDomain, event: int, detail: int, _o: Any
    ) -> None:
        try:
            instance_uuid = dom.UUIDString()  # client-side, no round trip
            if self._ownership.get(instance_uuid) is None:
                return  # not ours (or not known to be ours): never reported
            transition = states.lifecycle_transition(event, detail)
            if transition is None:
                return
            self.emit_event(
                objects.LifecycleEvent(
                    instance_uuid=instance_uuid, transition=transition, timestamp=timeutils.utcnow()
                )
            )
        except Exception:  # never let an exception into libvirt's event loop
            LOG.exception("Handling libvirt lifecycle event %s/%s failed", event, detail)

    # -- ownership --------------------------------------------------------------

    def _read_metadata(self, dom: CountedDomain) -> xb.InstanceMetadata | None:
        try:
            text = dom.metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, xb.METADATA_NS, 0)
        except libvirt.libvirtError as error:
            if error.get_error_code() == _NO_METADATA:
                return None
            raise
        try:
            return xb.InstanceMetadata.from_xml(text)
        except (ValueError, ET.ParseError):
            LOG.warning("Domain %s carries unreadable metadata in our namespace; not ours", dom.name())
            return None

    def _remember(self, instance_uuid: str, meta: xb.InstanceMetadata | None) -> None:
        with self._ownership_lock:
            self._ownership[instance_uuid] = meta

    def _forget(self, instance_uuid: str) -> None:
        with self._ownership_lock:
            self._ownership.pop(instance_uuid, None)

    def _scan_ownership(self, conn: CountedConnection) -> None:
        """Read the metadata of every domain once (at start)."""
        found: dict[str, xb.InstanceMetadata | None] = {}
        for dom in conn.listAllDomains(0):
            try:
                found[dom.UUIDString()] = self._read_metadata(dom)
            except libvirt.libvirtError as error:
                if error.get_error_code() != libvirt.VIR_ERR_NO_DOMAIN:
                    raise
        with self._ownership_lock:
            self._ownership = found

    def _owned_domains(
        self, conn: CountedConnection
    ) -> list[tuple[CountedDomain, dict[str, Any], xb.InstanceMetadata]]:
        """Every domain we own with its stats, from one bulk call."""
        listing = conn.getAllDomainStats(_STATS, 0)
        present = set()
        owned = []
        for dom, stats in listing:
            dom_uuid = dom.UUIDString()
            present.add(dom_uuid)
            if dom_uuid in self._ownership:
                meta = self._ownership[dom_uuid]
            else:  # first sight of this domain: one metadata read, then cached
                try:
                    meta = self._read_metadata(dom)
                except libvirt.libvirtError as error:
                    if error.get_error_code() != libvirt.VIR_ERR_NO_DOMAIN:
                        raise
                    continue
                self._remember(dom_uuid, meta)
            if meta is not None:
                owned.append((dom, stats, meta))
        with self._ownership_lock:
            for gone in set(self._ownership) - present:
                del self._ownership[gone]
        return owned

    def _lookup(self, instance: objects.Instance) -> tuple[CountedDomain, xb.InstanceMetadata]:
        """The domain of ``instance`` if it exists and is ours, else InstanceNotFound."""
        conn = self._conn_or_unavailable()
        try:
            dom = conn.lookupByUUIDString(instance.uuid)
            meta = self._read_metadata(dom)
        except libvirt.libvirtError as error:
            if error.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                self._forget(instance.uuid)
                raise exc.InstanceNotFound(instance_uuid=instance.uuid) from None
            raise
        self._remember(instance.uuid, meta)
        if meta is None:
            raise exc.InstanceNotFound(instance_uuid=instance.uuid)
        return dom, meta

    # -- state ----------------------------------------------------------------------

    def _power_state_of(self, dom: CountedDomain, state: int, reason: int) -> str:
        saved = False
        if states.needs_managed_save_check(state, reason):
            saved = bool(dom.hasManagedSaveImage(0))
        return states.power_state(state, saved)

    def _state(self, dom: CountedDomain) -> tuple[str, int]:
        """(contract power state, libvirt state) of ``dom`` now."""
        state, reason = dom.state(0)
        return self._power_state_of(dom, state, reason), state

    def _info_from(
        self, dom: CountedDomain, stats: dict[str, Any], meta: xb.InstanceMetadata
    ) -> objects.InstanceInfo:
        state = stats.get("state.state", libvirt.VIR_DOMAIN_NOSTATE)
        power = self._power_state_of(dom, state, stats.get("state.reason", 0))
        running = power in (PowerState.RUNNING, PowerState.PAUSED)
        flavor = meta.flavor
        balloon = stats.get("balloon.current")
        maximum = stats.get("balloon.maximum")
        cpu_time = stats.get("cpu.time")
        return objects.InstanceInfo(
            uuid=dom.UUIDString(),
            name=dom.name(),
            power_state=power,
            vcpus=int(stats.get("vcpu.current", flavor.vcpus)),
            memory_mb=(int(balloon) // 1024 if balloon is not None else flavor.memory_mb) if running else 0,
            max_memory_mb=int(maximum) // 1024 if maximum is not None else flavor.memory_mb,
            cpu_time_ns=int(cpu_time) if cpu_time is not None else None,
        )

    def _stats_of(self, dom: CountedDomain) -> dict[str, Any]:
        conn = self._conn_or_unavailable()
        result = conn.domainListGetStats([dom.raw], _STATS, 0)
        return result[0][1] if result else {}

    def _wait_inactive(self, dom: CountedDomain, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        interval = self.conf.libvirt.shutdown_poll_interval
        while True:
            state, _reason = dom.state(0)
            if not states.is_active(state):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(min(interval, max(0.0, deadline - time.monotonic())))

    def _destroy_if_active(self, dom: CountedDomain) -> None:
        try:
            dom.destroy()
        except libvirt.libvirtError as error:
            if error.get_error_code() != libvirt.VIR_ERR_OPERATION_INVALID:  # not running
                raise

    # -- validation -------------------------------------------------------------------

    def _domain_name(self, instance_uuid: str) -> str:
        return self.conf.libvirt.domain_name_template % {"uuid": instance_uuid}

    def _build_domain(self, instance: objects.Instance, network_info: objects.NetworkInfo) -> xb.DomainSpec:
        limit = self.conf.libvirt.max_name_length
        flavor = instance.flavor
        xb.check_text("display_name", instance.display_name, limit)
        xb.check_text("flavor.name", flavor.name, limit)
        xb.check_text("flavor.flavorid", flavor.flavorid, limit)
        for field in ("project_id", "user_id"):
            value = getattr(instance, field)
            if value is not None:
                xb.check_text(field, value, limit, allow_empty=True)
        if flavor.vcpus < 1:
            raise exc.InvalidRequest(field="flavor.vcpus", value=flavor.vcpus, reason="must be at least 1")
        if flavor.memory_mb < 1:
            raise exc.InvalidRequest(field="flavor.memory_mb", value=flavor.memory_mb, reason="must be >= 1")
        interfaces = []
        for index, vif in enumerate(network_info.objects):
            if not re.fullmatch(r"[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}", vif.address or ""):
                raise exc.InvalidRequest(
                    field=f"network_info[{index}].address", value=vif.address, reason="not a MAC address"
                )
            for field in ("bridge", "devname"):
                value = getattr(vif, field)
                if value is not None and not re.fullmatch(r"[A-Za-z0-9_.:-]{1,15}", value):
                    raise exc.InvalidRequest(
                        field=f"network_info[{index}].{field}", value=value, reason="not an interface name"
                    )
            interfaces.append(
                xb.InterfaceSpec(mac=vif.address, bridge=vif.bridge, mtu=vif.mtu, devname=vif.devname)
            )
        name = self._domain_name(instance.uuid)
        log_dir = self.conf.libvirt.console_log_dir
        return xb.DomainSpec(
            name=name,
            uuid=instance.uuid,
            memory_mb=flavor.memory_mb,
            vcpus=flavor.vcpus,
            domain_type=self.conf.libvirt.virt_type or ("test" if self.hypervisor_type == "TEST" else "kvm"),
            interfaces=tuple(interfaces),
            console_log=os.path.join(log_dir, f"{name}.log") if log_dir else None,
            metadata=xb.InstanceMetadata(
                display_name=instance.display_name,
                flavor=xb.FlavorSpec(
                    flavorid=flavor.flavorid,
                    name=flavor.name,
                    vcpus=flavor.vcpus,
                    memory_mb=flavor.memory_mb,
                    root_gb=flavor.root_gb,
                    ephemeral_gb=flavor.ephemeral_gb,
                    swap_mb=flavor.swap_mb,
                ),
                package_version=self._package_version,
                project_id=instance.project_id,
                user_id=instance.user_id,
                image_id=instance.image.id,
            ),
        )

    # -- capabilities ---------------------------------------------------------------------

    def _probe(self, conn: CountedConnection) -> tuple[frozenset[str], dict[str, str]]:
        """What works on this hypervisor: tried on a throwaway domain, or known per type.

        The probe domain carries no metadata of ours (so it is never listed),
        is never started, and is undefined before this returns.
        """
        # Diagnostics read the domain's stats and XML, which every libvirt
        # driver answers (getAllDomainStats is already what list_instances uses).
        have: set[str] = {api.Capability.DIAGNOSTICS}
        missing: dict[str, str] = {}
        hv = self.hypervisor_type
        if hv in _LIFECYCLE_COMPLETE:
            have |= {api.Capability.POWER, api.Capability.REBOOT, api.Capability.PAUSE}
        else:
            reason = f"not verified on hypervisor type {hv} (only {sorted(_LIFECYCLE_COMPLETE)})"
            for cap in (api.Capability.POWER, api.Capability.REBOOT, api.Capability.PAUSE):
                missing[cap] = reason
        probe_uuid = str(uuid_lib.uuid4())
        root = ET.Element(
            "domain", {"type": self.conf.libvirt.virt_type or ("test" if hv == "TEST" else "kvm")}
        )
        ET.SubElement(root, "name").text = f"nova-libvirt-probe-{probe_uuid[:8]}"
        ET.SubElement(root, "uuid").text = probe_uuid
        ET.SubElement(root, "title").text = "nova-driver-libvirt capability probe (removed at once)"
        ET.SubElement(root, "memory", {"unit": "MiB"}).text = "16"
        ET.SubElement(root, "vcpu").text = "1"
        ET.SubElement(ET.SubElement(root, "os"), "type").text = "hvm"
        ET.SubElement(root, "devices")
        try:
            dom = conn.defineXML(xb.serialize(root))
        except libvirt.libvirtError as error:
            reason = f"a probe domain could not be defined: {error.get_error_message()}"
            for cap in (api.Capability.SUSPEND, api.Capability.SNAPSHOT, api.Capability.VOLUME_ATTACH):
                missing[cap] = reason
            dom = None
        if dom is not None:
            try:
                self._probe_domain(dom, have, missing)
            finally:
                try:
                    dom.undefineFlags(_UNDEFINE_FLAGS)
                except libvirt.libvirtError:
                    dom.undefine()
        log_dir = self.conf.libvirt.console_log_dir
        if hv == "TEST":
            missing[api.Capability.CONSOLE_OUTPUT] = (
                "libvirt's test driver has no serial console (openConsole: VIR_ERR_NO_SUPPORT) "
                "and writes no console log"
            )
        elif not log_dir:
            missing[api.Capability.CONSOLE_OUTPUT] = "[libvirt] console_log_dir is not set"
        elif urlparse(self._connection.uri).hostname not in (None, "", "localhost"):
            missing[api.Capability.CONSOLE_OUTPUT] = "the console log is on a remote hypervisor host"
        else:
            have.add(api.Capability.CONSOLE_OUTPUT)
        return frozenset(have), missing

    def _probe_domain(self, dom: CountedDomain, have: set[str], missing: dict[str, str]) -> None:
        def works(call: Callable[[], Any]) -> str | None:
            try:
                call()
            except libvirt.libvirtError as error:
                return f"libvirt error {error.get_error_code()}: {error.get_error_message()}"
            return None

        failed = works(lambda: dom.hasManagedSaveImage(0))
        if failed is None:
            have.add(api.Capability.SUSPEND)
        else:
            missing[api.Capability.SUSPEND] = f"managed save: {failed}"
        failed = works(lambda: dom.snapshotNum(0))
        if failed is None:
            have.add(api.Capability.SNAPSHOT)
        else:
            missing[api.Capability.SNAPSHOT] = f"snapshots: {failed}"
        disk = xb.DiskSpec(target_dev="vdz", source_type="file", source="/dev/null", serial="nova-probe")
        failed = works(lambda: dom.attachDeviceFlags(disk.to_xml(), libvirt.VIR_DOMAIN_AFFECT_CONFIG))
        if failed is None:
            failed = works(lambda: dom.detachDeviceFlags(disk.to_xml(), libvirt.VIR_DOMAIN_AFFECT_CONFIG))
        if failed is None:
            have.add(api.Capability.VOLUME_ATTACH)
        else:
            missing[api.Capability.VOLUME_ATTACH] = f"attachDeviceFlags/detachDeviceFlags: {failed}"

    # -- the contract -------------------------------------------------------------------------

    def get_host_resources(self) -> objects.HostResources:
        conn = self._conn_or_unavailable()
        model, memory_mb, cpus, mhz, nodes, sockets, cores, threads = conn.getInfo()[:8]
        hv_type = conn.getType()
        self._hv_version = conn.getVersion()
        hostname = self.conf.libvirt.hypervisor_hostname or conn.getHostname()
        try:
            free_mb = int(conn.getFreeMemory()) // (1024 * 1024)
        except libvirt.libvirtError:
            free_mb = 0
        local_gb = 0
        pools = conn.listAllStoragePools(libvirt.VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE)
        if pools:
            pools.sort(key=lambda pool: pool.name() != "default")
            local_gb = int(pools[0].info()[1]) // 1024**3
        owned = self._owned_domains(conn)
        vcpus_used = sum(meta.flavor.vcpus for _d, _s, meta in owned)
        memory_used = sum(meta.flavor.memory_mb for _d, _s, meta in owned)
        disk_used = sum(meta.flavor.root_gb + meta.flavor.ephemeral_gb for _d, _s, meta in owned)
        uptime = None
        if hv_type != "TEST" and urlparse(self._connection.uri).hostname in (None, ""):
            try:
                with open("/proc/uptime") as handle:
                    uptime = int(float(handle.read().split()[0]))
            except (OSError, ValueError, IndexError):
                uptime = None
        return objects.HostResources(
            hypervisor_hostname=hostname,
            hypervisor_type=hv_type,
            hypervisor_version=self._hv_version,
            vcpus=cpus,
            vcpus_used=min(cpus, vcpus_used),
            memory_mb=memory_mb,
            memory_mb_used=min(memory_mb, memory_used),
            local_gb=local_gb,
            local_gb_used=min(local_gb, disk_used),
            uptime_seconds=uptime,
            cpu_info={
                "arch": str(model),
                "mhz": str(mhz),
                "cpus": str(cpus),
                "numa_nodes": str(nodes),
                "sockets": str(sockets),
                "cores": str(cores),
                "threads": str(threads),
                "free_memory_mb": str(free_mb),
            },
        )

    def list_instances(self) -> objects.InstanceInfoList:
        conn = self._conn_or_unavailable()
        return objects.InstanceInfoList(
            objects=[self._info_from(dom, stats, meta) for dom, stats, meta in self._owned_domains(conn)]
        )

    def spawn(self, instance: objects.Instance, network_info: objects.NetworkInfo) -> objects.InstanceInfo:
        spec = self._build_domain(instance, network_info)
        conn = self._conn_or_unavailable()
        try:
            conn.lookupByUUIDString(instance.uuid)
        except libvirt.libvirtError as error:
            if error.get_error_code() != libvirt.VIR_ERR_NO_DOMAIN:
                raise
        else:
            raise exc.InstanceExists(instance_uuid=instance.uuid)
        host_info = conn.getInfo()
        host_cpus, host_memory = host_info[2], host_info[1]
        if instance.flavor.vcpus > host_cpus:
            raise exc.InsufficientResources(
                resource="vcpus", requested=instance.flavor.vcpus, available=host_cpus
            )
        if instance.flavor.memory_mb > host_memory:
            raise exc.InsufficientResources(
                resource="memory_mb", requested=instance.flavor.memory_mb, available=host_memory
            )
        try:
            dom = conn.defineXML(spec.to_xml())
        except libvirt.libvirtError as error:
            if error.get_error_code() in (libvirt.VIR_ERR_DOM_EXIST, libvirt.VIR_ERR_OPERATION_FAILED):
                try:
                    conn.lookupByUUIDString(instance.uuid)
                except libvirt.libvirtError:
                    pass
                else:
                    raise exc.InstanceExists(instance_uuid=instance.uuid) from None
            raise
        self._remember(instance.uuid, spec.metadata)
        try:
            dom.create()
        except libvirt.libvirtError as error:
            LOG.warning("Starting %s failed (%s); removing its definition", spec.name, error)
            try:
                self._undefine(dom)
            except libvirt.libvirtError:
                LOG.exception("Could not undefine %s after a failed start", spec.name)
            self._forget(instance.uuid)
            if self._connection.lost_by(error):
                raise
            raise exc.OperationFailed(
                operation="spawn", instance_uuid=instance.uuid, reason=error.get_error_message()
            ) from None
        return self._info_from(dom, self._stats_of(dom), spec.metadata)

    def _undefine(self, dom: CountedDomain) -> None:
        if self._undefine_nvram:
            try:
                dom.undefineFlags(_UNDEFINE_FLAGS | _UNDEFINE_NVRAM)
                return
            except libvirt.libvirtError as error:
                if error.get_error_code() not in (
                    libvirt.VIR_ERR_INVALID_ARG,
                    libvirt.VIR_ERR_NO_SUPPORT,
                    libvirt.VIR_ERR_CONFIG_UNSUPPORTED,
                ):
                    raise
                LOG.info("This hypervisor refuses VIR_DOMAIN_UNDEFINE_NVRAM; undefining without it")
                self._undefine_nvram = False
        dom.undefineFlags(_UNDEFINE_FLAGS)

    def destroy(self, instance: objects.Instance) -> None:
        try:
            dom, _meta = self._lookup(instance)
        except exc.InstanceNotFound:
            return  # nothing of ours there: done (and never touch what is not ours)
        try:
            self._destroy_if_active(dom)
            self._undefine(dom)
        except libvirt.libvirtError as error:
            if error.get_error_code() != libvirt.VIR_ERR_NO_DOMAIN:  # gone meanwhile: done
                raise
        self._forget(instance.uuid)

    def reboot(self, instance: objects.Instance, reboot_type: str) -> None:
        dom, _meta = self._lookup(instance)
        power, _state = self._state(dom)
        self.check_transition(instance, power)
        if reboot_type == "soft":
            try:
                dom.reboot(0)
                return
            except libvirt.libvirtError as error:
                if error.get_error_code() not in (
                    libvirt.VIR_ERR_NO_SUPPORT,
                    libvirt.VIR_ERR_OPERATION_INVALID,
                    libvirt.VIR_ERR_AGENT_UNRESPONSIVE,
                    libvirt.VIR_ERR_OPERATION_UNSUPPORTED,
                ):
                    raise
                LOG.info("Soft reboot of %s refused (%s); resetting it", instance.uuid, error)
        try:
            dom.reset(0)
        except libvirt.libvirtError as error:
            if error.get_error_code() not in (
                libvirt.VIR_ERR_NO_SUPPORT,
                libvirt.VIR_ERR_OPERATION_UNSUPPORTED,
            ):
                raise
            self._destroy_if_active(dom)
            dom.create()

    def power_off(self, instance: objects.Instance, timeout: int = 0) -> None:
        dom, _meta = self._lookup(instance)
        power, state = self._state(dom)
        self.check_transition(instance, power)
        if power == PowerState.SUSPENDED:
            if state == libvirt.VIR_DOMAIN_PMSUSPENDED:
                self._destroy_if_active(dom)
            else:
                dom.managedSaveRemove(0)  # a suspended instance loses its saved state
            return
        if not states.is_active(state):
            return  # already off
        if power == PowerState.RUNNING and timeout > 0:
            try:
                dom.shutdown()
            except libvirt.libvirtError as error:
                if error.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                    raise
                LOG.info("Graceful shutdown of %s refused (%s); forcing it off", instance.uuid, error)
            else:
                if self._wait_inactive(dom, timeout):
                    return
                LOG.info("%s did not shut down within %ss; forcing it off", instance.uuid, timeout)
        self._destroy_if_active(dom)

    def power_on(self, instance: objects.Instance) -> None:
        dom, _meta = self._lookup(instance)
        power, state = self._state(dom)
        if not self.check_transition(instance, power):
            return
        if states.is_active(state):  # crashed but preserved, or still shutting down
            self._destroy_if_active(dom)
        dom.create()

    def pause(self, instance: objects.Instance) -> None:
        dom, _meta = self._lookup(instance)
        power, _state = self._state(dom)
        if self.check_transition(instance, power):
            dom.suspend()

    def unpause(self, instance: objects.Instance) -> None:
        dom, _meta = self._lookup(instance)
        power, _state = self._state(dom)
        if self.check_transition(instance, power):
            dom.resume()

    def suspend(self, instance: objects.Instance) -> None:
        dom, _meta = self._lookup(instance)
        power, _state = self._state(dom)
        if self.check_transition(instance, power):
            dom.managedSave(0)

    def resume(self, instance: objects.Instance) -> None:
        dom, _meta = self._lookup(instance)
        power, state = self._state(dom)
        if not self.check_transition(instance, power):
            return
        if state == libvirt.VIR_DOMAIN_PMSUSPENDED:
            dom.pMWakeup(0)
        else:
            dom.create()  # libvirt restores from the managed-save image

    def get_info(self, instance: objects.Instance) -> objects.InstanceInfo:
        dom, meta = self._lookup(instance)
        return self._info_from(dom, self._stats_of(dom), meta)

    def get_diagnostics(self, instance: objects.Instance) -> objects.InstanceDiagnostics:
        dom, meta = self._lookup(instance)
        info = self._info_from(dom, self._stats_of(dom), meta)
        devices = ET.fromstring(dom.XMLDesc(0)).find("devices")
        return objects.InstanceDiagnostics(
            uuid=instance.uuid,
            power_state=info.power_state,
            cpu_time_ns=info.cpu_time_ns,
            num_cpus=info.vcpus,
            memory_mb=info.max_memory_mb,
            num_nics=len(devices.findall("interface")) if devices is not None else 0,
            num_disks=len(devices.findall("disk")) if devices is not None else 0,
        )

    def get_console_output(self, instance: objects.Instance) -> objects.ConsoleOutput:
        dom, _meta = self._lookup(instance)
        path = xb.console_log_path(dom.XMLDesc(0))
        if path is None:
            return objects.ConsoleOutput(output="", truncated=False)
        limit = self.conf.libvirt.console_output_max_bytes
        try:
            with open(path, "rb") as handle:
                handle.seek(0, os.SEEK_END)
                size = handle.tell()
                handle.seek(max(0, size - limit))
                data = handle.read(limit)
        except FileNotFoundError:
            return objects.ConsoleOutput(output="", truncated=False)
        except OSError as error:
            raise exc.OperationFailed(
                operation="get_console_output", instance_uuid=instance.uuid, reason=str(error)
            ) from None
        return objects.ConsoleOutput(output=data.decode("utf-8", errors="replace"), truncated=size > limit)

    def snapshot(self, instance: objects.Instance, image_id: str, name: str) -> objects.SnapshotInfo:
        xb.check_text("name", name, self.conf.libvirt.max_name_length)
        dom, _meta = self._lookup(instance)
        power, _state = self._state(dom)
        self.check_transition(instance, power)
        spec = xb.SnapshotSpec(name=image_id, description=name)
        try:
            dom.snapshotCreateXML(spec.to_xml(), 0)
        except libvirt.libvirtError as error:
            code = error.get_error_code()
            if code in (libvirt.VIR_ERR_NO_DOMAIN, libvirt.VIR_ERR_NO_SUPPORT) or self._connection.lost_by(
                error
            ):
                raise
            raise exc.OperationFailed(
                operation="snapshot", instance_uuid=instance.uuid, reason=error.get_error_message()
            ) from None
        return objects.SnapshotInfo(
            image_id=image_id, name=name, location=f"libvirt-snapshot:{dom.name()}/{image_id}", size_bytes=0
        )

    def _disk_for(self, attachment: objects.VolumeAttachment, target: str) -> xb.DiskSpec:
        data = attachment.connection_data
        kind = attachment.driver_volume_type
        if kind in ("file", "local"):
            path = data.get("device_path") or data.get("path")
            source_type = "file"
        elif kind in ("block", "iscsi", "fibre_channel", "nvmeof"):
            path = data.get("device_path")
            source_type = "block"
        elif kind == "rbd":
            name = data.get("name")
            if not name:
                raise exc.InvalidRequest(
                    field="connection_data.name", value=name, reason="an rbd volume needs its pool/image name"
                )
            hosts = tuple(
                zip(data.get("hosts", "").split(","), data.get("ports", "").split(","), strict=False)
            )
            return xb.DiskSpec(
                target_dev=target,
                source_type="network",
                source=name,
                protocol="rbd",
                hosts=tuple((h, p) for h, p in hosts if h),
                serial=attachment.volume_id,
            )
        else:
            raise exc.InvalidRequest(
                field="driver_volume_type", value=kind, reason="supported: file, local, block, iscsi, rbd"
            )
        if not path or not path.startswith("/"):
            raise exc.InvalidRequest(
                field="connection_data.device_path", value=path, reason="must be an absolute path"
            )
        return xb.DiskSpec(
            target_dev=target, source_type=source_type, source=path, serial=attachment.volume_id
        )

    def _live_flags(self, dom: CountedDomain) -> int:
        _power, state = self._state(dom)
        flags = libvirt.VIR_DOMAIN_AFFECT_CONFIG
        if states.is_active(state):
            flags |= libvirt.VIR_DOMAIN_AFFECT_LIVE
        return flags

    def attach_volume(self, instance: objects.Instance, attachment: objects.VolumeAttachment) -> None:
        match = _MOUNTPOINT.fullmatch(attachment.mountpoint)
        if match is None:
            raise exc.InvalidRequest(
                field="mountpoint",
                value=attachment.mountpoint,
                reason="expected /dev/vdX, /dev/sdX or /dev/hdX",
            )
        target = match.group(1)
        dom, _meta = self._lookup(instance)
        power, _state = self._state(dom)
        self.check_transition(instance, power)
        disks = xb.disk_targets(dom.XMLDesc(0))
        if target in disks:
            if disks[target] == attachment.volume_id:
                return
            raise exc.InvalidRequest(
                field="mountpoint",
                value=attachment.mountpoint,
                reason=f"holds {disks[target] or 'another disk'}",
            )
        if attachment.volume_id in disks.values():
            raise exc.InvalidRequest(
                field="volume_id", value=attachment.volume_id, reason="already attached at another mountpoint"
            )
        disk = self._disk_for(attachment, target)
        dom.attachDeviceFlags(disk.to_xml(), self._live_flags(dom))

    def detach_volume(self, instance: objects.Instance, volume_id: str) -> None:
        dom, _meta = self._lookup(instance)
        self.check_transition(instance, self._state(dom)[0])
        root = ET.fromstring(dom.XMLDesc(0))
        for disk in root.iterfind("devices/disk"):
            if disk.findtext("serial") == volume_id:
                dom.detachDeviceFlags(xb.serialize(disk), self._live_flags(dom))
                return


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    return libvirt_conf.list_opts()
