"""The VMware vCenter driver of the nova-common virt contract.

One compute service offers one vCenter cluster (``[vmware] cluster_name``).
Behaviour, operation by operation, is the spec's (:mod:`nova_common.virt.api`);
what is vSphere-specific:

* **Ownership.** The driver owns exactly the VMs whose ``extraConfig`` holds
  ``nova.driver = nova-driver-vmware`` and ``nova.cluster = <its cluster>``; anything else in vCenter (vcsim's
  ``DC0_H0_VM0``, other tools' VMs) is never listed, counted or touched.
  The VM's ``instanceUuid`` is the instance uuid.
* **Power states** (``runtime.powerState``): ``poweredOn`` -> running,
  ``poweredOff`` -> shutdown, ``suspended`` -> suspended. vSphere has no
  pause: ``pause``/``unpause`` are not advertised (NotSupported, as Nova's
  support matrix marks them missing for VMware).
* **Bulk reads.** ``list_instances`` is one ``RetrievePropertiesEx`` over a
  container view of the cluster's VMs, whatever their number;
  ``get_host_resources`` adds one retrieval of the cluster and datastore
  summaries in the same retrieval. ``get_info`` is one retrieval of one VM (its reference cached).
* **Errors.** vSphere faults never cross the wire: they are mapped to the
  contract's exceptions (:func:`translate`) and the original is logged.
"""

from __future__ import annotations

import re
import time
import unicodedata
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from oslo_config import cfg
from oslo_log import log as logging
from pyVmomi import vim, vmodl

from nova_common import objects
from nova_common.objects.fields import PowerState
from nova_common.virt import api
from nova_common.virt import driver_info as virt_driver_info
from nova_common.virt import exceptions as exc
from nova_driver_vmware import conf as vmware_conf
from nova_driver_vmware.session import VCenterSession

LOG = logging.getLogger(__name__)

DISTRIBUTION = "nova-driver-vmware"
OWNER_KEY = "nova.driver"
CLUSTER_KEY = "nova.cluster"
PC = vmodl.query.PropertyCollector

#: vSphere power state -> contract power state.
POWER_STATES = {
    "poweredOn": PowerState.RUNNING,
    "poweredOff": PowerState.SHUTDOWN,
    "suspended": PowerState.SUSPENDED,
}

VM_PROPERTIES = [
    "name",
    "config.instanceUuid",
    "config.hardware.numCPU",
    "config.hardware.memoryMB",
    "config.extraConfig",
    "runtime.powerState",
    "summary.quickStats.guestMemoryUsage",
]

_MOUNTPOINT = re.compile(r"(?:/dev/)?(?:sd|vd|xvd)([b-o])")
F = TypeVar("F", bound=Callable[..., Any])


def translate(fault: vmodl.MethodFault, operation: str, instance_uuid: str) -> exc.VirtError:
    """The contract exception for a vSphere fault (the original is logged).

    Only errors the operation declares (``api.OPERATIONS[operation].all_errors``) are
    raised; a fault with no declared counterpart becomes InternalError, whose
    reference names the log line holding the original fault."""
    message = getattr(fault, "msg", None) or type(fault).__name__
    reference = "vmware-" + uuid.uuid4().hex[:12]
    LOG.warning(
        "vSphere fault during %s of %s (%s): %s: %s",
        operation,
        instance_uuid,
        reference,
        type(fault).__name__,
        message,
    )
    error: exc.VirtError
    if isinstance(fault, vmodl.fault.ManagedObjectNotFound) and instance_uuid != "-":
        error = exc.InstanceNotFound(instance_uuid=instance_uuid)
    elif isinstance(fault, (vim.fault.DuplicateName, vim.fault.AlreadyExists)) and instance_uuid != "-":
        error = exc.InstanceExists(instance_uuid=instance_uuid)
    elif isinstance(fault, vim.fault.InsufficientResourcesFault):
        error = exc.InsufficientResources(resource="cluster capacity", requested="-", available=message)
    elif isinstance(fault, (vim.fault.InvalidPowerState, vim.fault.InvalidState)) and instance_uuid != "-":
        error = exc.InvalidInstanceState(
            operation=operation,
            instance_uuid=instance_uuid,
            power_state=str(getattr(fault, "existingState", "?")),
        )
    elif isinstance(fault, vmodl.fault.NotSupported):
        error = exc.NotSupported(operation=operation, reason=message)
    else:
        error = exc.OperationFailed(
            operation=operation, instance_uuid=instance_uuid, reason=f"{type(fault).__name__}: {message}"
        )
    op = api.OPERATIONS.get(operation)
    if op is not None and not isinstance(error, op.all_errors):
        error = exc.InternalError(operation=operation, error_type=type(fault).__name__, reference=reference)
    return error


def _check_text(field: str, value: str, limit: int) -> None:
    if len(value) > limit:
        raise exc.InvalidRequest(
            field=field, value=value[:40] + "...", reason=f"longer than {limit} characters"
        )
    if any(unicodedata.category(ch) == "Cc" for ch in value):
        raise exc.InvalidRequest(field=field, value=value, reason="contains control characters")


class VMwareDriver(api.ComputeDriver):
    """virt API 1.0 on a VMware vCenter cluster."""

    name = "vmware"
    hypervisor_type = "VMware vCenter Server"
    distribution = DISTRIBUTION

    #: Capabilities never advertised, with the reason (for the support matrix).
    MISSING = {
        api.Capability.PAUSE: "vSphere has no pause (Nova's support matrix marks it missing for VMware)",
        api.Capability.CONSOLE_OUTPUT: "vCenter's API offers no serial console log",
    }

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        super().__init__(conf)
        self.register_opts(conf)
        self.session = VCenterSession(conf)
        self._package_version = virt_driver_info.package_version(DISTRIBUTION)
        self._hv_version = 0
        self._refs: dict[str, Any] = {}  # instance uuid -> VM reference (from our listings)
        self._missing = dict(self.MISSING)
        self._capabilities = frozenset(
            {
                api.Capability.REBOOT,
                api.Capability.POWER,
                api.Capability.SUSPEND,
                api.Capability.SNAPSHOT,
                api.Capability.VOLUME_ATTACH,
            }
        )

    @classmethod
    def register_opts(cls, conf: cfg.ConfigOpts) -> None:
        vmware_conf.register_opts(conf)

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        """Log in and find the cluster, its datacenter, VM folder and datastore."""
        LOG.debug("[vmware] options: %s", vmware_conf.describe(self.conf))
        self.session.invoke(self._discover, "start")
        self.session.start_keepalive()
        LOG.info(
            "VMware driver on %s, cluster %s (vCenter %s): capabilities %s; not advertised: %s",
            self.session.endpoint,
            self._cluster_name,
            self._hv_version,
            sorted(self._capabilities),
            self._missing,
        )

    def stop(self) -> None:
        self.session.close()

    def capabilities(self) -> frozenset[str]:
        return self._capabilities

    def missing_capabilities(self) -> dict[str, str]:
        return dict(self._missing)

    def hypervisor_version(self) -> int:
        return self._hv_version

    # -- inventory ------------------------------------------------------------------------

    def _discover(self, si: Any) -> None:
        content = si.RetrieveContent()
        about = content.about
        major, minor, patch = ([int(p) for p in re.findall(r"\d+", about.version)] + [0, 0, 0])[:3]
        self._hv_version = major * 1_000_000 + minor * 1_000 + patch
        view = content.viewManager.CreateContainerView(content.rootFolder, [vim.ClusterComputeResource], True)
        try:
            clusters = list(view.view)
        finally:
            view.Destroy()
        wanted = self.conf.vmware.cluster_name
        matching = [c for c in clusters if wanted is None or c.name == wanted]
        if not matching:
            raise exc.HypervisorUnavailable(
                reason=f"vCenter at {self.session.endpoint} has no cluster {wanted!r} "
                f"(clusters: {sorted(c.name for c in clusters)})"
            )
        cluster = matching[0]
        datacenter = cluster.parent
        while not isinstance(datacenter, vim.Datacenter):
            datacenter = datacenter.parent
        folder = datacenter.vmFolder
        if self.conf.vmware.vm_folder:
            found = [
                f
                for f in folder.childEntity
                if isinstance(f, vim.Folder) and f.name == self.conf.vmware.vm_folder
            ]
            folder = found[0] if found else folder.CreateFolder(self.conf.vmware.vm_folder)
        pattern = re.compile(self.conf.vmware.datastore_regex or ".*")
        datastores = [d for d in cluster.datastore if pattern.search(d.name)]
        if not datastores:
            raise exc.HypervisorUnavailable(
                reason=f"cluster {cluster.name} has no datastore matching {pattern.pattern!r}"
            )
        self._content = content
        self._cluster = cluster
        self._cluster_name = cluster.name
        self._folder = folder
        self._pool = cluster.resourcePool
        self._datastores = datastores
        self._datastore = max(datastores, key=lambda d: d.summary.freeSpace)
        # VMs hang off folders in the inventory, not off their cluster: view the
        # folder and keep what this compute service's cluster runs (extraConfig).
        self._view = content.viewManager.CreateContainerView(folder, [vim.VirtualMachine], True)
        self._view_si = si

    def _inventory(self, si: Any) -> None:
        """Re-discover after a new login (references belong to a session)."""
        if getattr(self, "_view_si", None) is not si:
            self._discover(si)
            self._refs.clear()

    def _retrieve(self, si: Any, spec: Any) -> list[Any]:
        collector = self._content.propertyCollector  # a local reference: no round trip
        result = collector.RetrievePropertiesEx([spec], PC.RetrieveOptions())
        objects_ = list(result.objects) if result else []
        while result is not None and result.token:
            result = collector.ContinueRetrievePropertiesEx(result.token)
            objects_.extend(result.objects)
        for item in objects_:
            for missing in item.missingSet or []:
                # A property refused for the whole session (expired, logged out) is the
                # session's fault, not the object's: let the session log in again.
                if isinstance(missing.fault, (vim.fault.NotAuthenticated, vim.fault.NoPermission)):
                    raise missing.fault
        return objects_

    def _owned_vms(self, si: Any, extra_objects: list[Any] = (), extra_props: list[Any] = ()) -> Any:
        """Every VM of ours in the cluster with its properties: one retrieval.

        ``extra_objects``/``extra_props`` ride along in the same retrieval (the cluster and
        datastore summaries for get_host_resources); then ``(owned, other items)`` is returned."""
        self._inventory(si)
        traversal = PC.TraversalSpec(name="view", path="view", skip=False, type=vim.view.ContainerView)
        spec = PC.FilterSpec(
            objectSet=[PC.ObjectSpec(obj=self._view, skip=True, selectSet=[traversal])]
            + [PC.ObjectSpec(obj=o, skip=False) for o in extra_objects],
            propSet=[PC.PropertySpec(type=vim.VirtualMachine, pathSet=VM_PROPERTIES)] + list(extra_props),
        )
        owned = []
        others = []
        for item in self._retrieve(si, spec):
            props = {p.name: p.val for p in item.propSet}
            props["obj"] = item.obj
            if not isinstance(item.obj, vim.VirtualMachine):
                others.append(props)
                continue
            extra = {o.key: o.value for o in props.get("config.extraConfig") or []}
            if not self._ours(extra) or not props.get("config.instanceUuid"):
                continue
            props["extra"] = extra
            self._refs[props["config.instanceUuid"]] = item.obj
            owned.append(props)
        return (owned, others) if extra_objects else owned

    def _vm_props(self, si: Any, instance: objects.Instance) -> dict[str, Any]:
        """Our VM of ``instance`` with its properties, else InstanceNotFound."""
        self._inventory(si)
        ref = self._refs.get(instance.uuid)
        if ref is None:
            ref = self._content.searchIndex.FindByUuid(None, instance.uuid, True, True)
            if ref is None:
                raise exc.InstanceNotFound(instance_uuid=instance.uuid)
        spec = PC.FilterSpec(
            objectSet=[PC.ObjectSpec(obj=ref, skip=False)],
            propSet=[PC.PropertySpec(type=vim.VirtualMachine, pathSet=VM_PROPERTIES)],
        )
        try:
            found = self._retrieve(si, spec)
        except vmodl.fault.ManagedObjectNotFound:
            found = []
        if not found:
            self._refs.pop(instance.uuid, None)
            raise exc.InstanceNotFound(instance_uuid=instance.uuid)
        props = {p.name: p.val for p in found[0].propSet}
        props["obj"] = ref
        props["extra"] = {o.key: o.value for o in props.get("config.extraConfig") or []}
        if not self._ours(props["extra"]) or props.get("config.instanceUuid") != instance.uuid:
            raise exc.InstanceNotFound(instance_uuid=instance.uuid)  # not ours: never touched
        self._refs[instance.uuid] = ref
        return props

    def _ours(self, extra: dict[str, str]) -> bool:
        return extra.get(OWNER_KEY) == DISTRIBUTION and extra.get(CLUSTER_KEY) == self._cluster_name

    @staticmethod
    def _info(props: dict[str, Any]) -> objects.InstanceInfo:
        power = POWER_STATES.get(str(props.get("runtime.powerState")), PowerState.NOSTATE)
        memory = int(props.get("config.hardware.memoryMB") or 0)
        return objects.InstanceInfo(
            uuid=props["config.instanceUuid"],
            name=props.get("name", ""),
            power_state=power,
            vcpus=int(props.get("config.hardware.numCPU") or 0),
            memory_mb=memory if power == PowerState.RUNNING else 0,
            max_memory_mb=memory,
        )

    def _wait(self, task: Any, operation: str, instance_uuid: str) -> Any:
        interval = self.conf.vmware.task_poll_interval
        while True:
            info = task.info
            if info.state == vim.TaskInfo.State.success:
                return info.result
            if info.state == vim.TaskInfo.State.error:
                raise info.error
            time.sleep(interval)

    def translate_error(
        self, error: Exception, operation: str, instance_uuid: str | None
    ) -> exc.VirtError | None:
        """vSphere faults never cross the wire raw (see :func:`translate`)."""
        if isinstance(error, vmodl.MethodFault):
            return translate(error, operation, instance_uuid or "-")
        return None

    def _power_of(self, props: dict[str, Any]) -> str:
        return POWER_STATES.get(str(props.get("runtime.powerState")), PowerState.NOSTATE)

    # -- the contract ---------------------------------------------------------------------

    def get_host_resources(self) -> objects.HostResources:
        def read(si: Any) -> objects.HostResources:
            self._inventory(si)
            owned, others = self._owned_vms(
                si,
                extra_objects=[self._cluster, *self._datastores],
                extra_props=[
                    PC.PropertySpec(type=vim.ClusterComputeResource, pathSet=["summary"]),
                    PC.PropertySpec(type=vim.Datastore, pathSet=["summary.capacity", "summary.freeSpace"]),
                ],
            )
            summary = None
            capacity = free = 0
            for props in others:
                if isinstance(props["obj"], vim.ClusterComputeResource):
                    summary = props.get("summary")
                elif isinstance(props["obj"], vim.Datastore):
                    capacity += int(props.get("summary.capacity") or 0)
                    free += int(props.get("summary.freeSpace") or 0)
            vcpus = int(getattr(summary, "numCpuThreads", 0) or 0)
            memory_mb = int(getattr(summary, "totalMemory", 0) or 0) // (1024 * 1024)
            local_gb = capacity // 1024**3
            used_vcpus = sum(int(p.get("config.hardware.numCPU") or 0) for p in owned)
            used_memory = sum(int(p.get("config.hardware.memoryMB") or 0) for p in owned)
            used_disk = sum(int(p["extra"].get("nova.disk_gb", "0") or 0) for p in owned)
            return objects.HostResources(
                hypervisor_hostname=self._cluster_name,
                hypervisor_type=self.hypervisor_type,
                hypervisor_version=self._hv_version,
                vcpus=vcpus,
                vcpus_used=min(vcpus, used_vcpus),
                memory_mb=memory_mb,
                memory_mb_used=min(memory_mb, used_memory),
                local_gb=local_gb,
                local_gb_used=min(local_gb, used_disk),
                cpu_info={
                    "hosts": str(getattr(summary, "numHosts", 0)),
                    "cores": str(getattr(summary, "numCpuCores", 0)),
                    "datastore_free_gb": str(free // 1024**3),
                },
            )

        return self.session.invoke(read, "get_host_resources")

    def list_instances(self) -> objects.InstanceInfoList:
        owned = self.session.invoke(self._owned_vms, "list_instances")
        return objects.InstanceInfoList(objects=[self._info(p) for p in owned])

    def get_info(self, instance: objects.Instance) -> objects.InstanceInfo:
        return self._info(self.session.invoke(lambda si: self._vm_props(si, instance), "get_info"))

    def _config_spec(self, instance: objects.Instance) -> Any:
        limit = self.conf.vmware.max_name_length
        flavor = instance.flavor
        _check_text("display_name", instance.display_name, limit)
        _check_text("flavor.name", flavor.name, limit)
        if flavor.vcpus < 1:
            raise exc.InvalidRequest(field="flavor.vcpus", value=flavor.vcpus, reason="must be at least 1")
        if flavor.memory_mb < 4:
            raise exc.InvalidRequest(field="flavor.memory_mb", value=flavor.memory_mb, reason="must be >= 4")
        extra = {
            OWNER_KEY: DISTRIBUTION,
            CLUSTER_KEY: self._cluster_name,
            "nova.driver_version": self._package_version,
            "nova.instance_uuid": instance.uuid,
            "nova.display_name": instance.display_name,
            "nova.flavor": flavor.name,
            "nova.disk_gb": str(flavor.root_gb + flavor.ephemeral_gb),
            "nova.image_id": instance.image.id,
        }
        controller = vim.vm.device.VirtualDeviceSpec(
            operation=vim.vm.device.VirtualDeviceSpec.Operation.add,
            device=vim.vm.device.ParaVirtualSCSIController(
                key=1000, busNumber=0, sharedBus=vim.vm.device.VirtualSCSIController.Sharing.noSharing
            ),
        )
        return vim.vm.ConfigSpec(
            name=self.conf.vmware.vm_name_template % {"uuid": instance.uuid},
            instanceUuid=instance.uuid,
            numCPUs=flavor.vcpus,
            memoryMB=flavor.memory_mb,
            guestId="otherGuest64",
            annotation=f"{instance.display_name}\n(nova instance {instance.uuid}, flavor {flavor.name}, "
            f"{DISTRIBUTION} {self._package_version})",
            files=vim.vm.FileInfo(vmPathName=f"[{self._datastore.name}]"),
            extraConfig=[vim.option.OptionValue(key=k, value=v) for k, v in extra.items()],
            deviceChange=[controller],
        )

    def spawn(self, instance: objects.Instance, network_info: objects.NetworkInfo) -> objects.InstanceInfo:
        def create(si: Any) -> objects.InstanceInfo:
            self._inventory(si)
            spec = self._config_spec(instance)
            if self._content.searchIndex.FindByUuid(None, instance.uuid, True, True) is not None:
                raise exc.InstanceExists(instance_uuid=instance.uuid)
            vm = self._wait(self._folder.CreateVM_Task(config=spec, pool=self._pool), "spawn", instance.uuid)
            self._refs[instance.uuid] = vm
            try:
                self._wait(vm.PowerOnVM_Task(), "spawn", instance.uuid)
            except vmodl.MethodFault as fault:
                LOG.warning("Powering on %s failed (%s); removing the VM", instance.uuid, fault.msg)
                self._wait(vm.Destroy_Task(), "spawn", instance.uuid)
                self._refs.pop(instance.uuid, None)
                raise
            return self._info(self._vm_props(si, instance))

        return self.session.invoke(create, "spawn")

    def destroy(self, instance: objects.Instance) -> None:
        def remove(si: Any) -> None:
            try:
                props = self._vm_props(si, instance)
            except exc.InstanceNotFound:
                return
            vm = props["obj"]
            if props.get("runtime.powerState") != "poweredOff":
                try:
                    self._wait(vm.PowerOffVM_Task(), "destroy", instance.uuid)
                except vim.fault.InvalidPowerState:
                    pass  # turned off meanwhile
            try:
                self._wait(vm.Destroy_Task(), "destroy", instance.uuid)
            except vmodl.fault.ManagedObjectNotFound:
                pass  # gone meanwhile: done
            self._refs.pop(instance.uuid, None)

        self.session.invoke(remove, "destroy")

    def reboot(self, instance: objects.Instance, reboot_type: str) -> None:

        def act(si: Any) -> None:
            props = self._vm_props(si, instance)
            self.check_transition(instance, self._power_of(props))
            vm = props["obj"]
            if reboot_type == "soft":
                try:
                    vm.RebootGuest()
                    return
                except (
                    vmodl.fault.MethodNotFound,
                    vim.fault.ToolsUnavailable,
                    vmodl.fault.NotSupported,
                ) as fault:
                    LOG.info(
                        "Soft reboot of %s refused (%s); resetting it", instance.uuid, type(fault).__name__
                    )
            self._wait(vm.ResetVM_Task(), "reboot", instance.uuid)

        self.session.invoke(act, "reboot")

    def power_off(self, instance: objects.Instance, timeout: int = 0) -> None:

        def act(si: Any) -> None:
            props = self._vm_props(si, instance)
            if not self.check_transition(instance, self._power_of(props)):
                return
            vm = props["obj"]
            if timeout > 0 and props.get("runtime.powerState") == "poweredOn":
                try:
                    vm.ShutdownGuest()
                    deadline = time.monotonic() + timeout
                    while time.monotonic() < deadline:
                        if self._vm_props(si, instance).get("runtime.powerState") == "poweredOff":
                            return
                        time.sleep(self.conf.vmware.task_poll_interval)
                except (
                    vmodl.fault.MethodNotFound,
                    vim.fault.ToolsUnavailable,
                    vim.fault.InvalidState,
                ) as fault:
                    LOG.info(
                        "Graceful shutdown of %s refused (%s); powering off",
                        instance.uuid,
                        type(fault).__name__,
                    )
            try:
                self._wait(vm.PowerOffVM_Task(), "power_off", instance.uuid)
            except vim.fault.InvalidPowerState:
                pass  # off already

        self.session.invoke(act, "power_off")

    def _power_on(self, operation: str, instance: objects.Instance) -> None:
        def act(si: Any) -> None:
            props = self._vm_props(si, instance)
            if not self.check_transition(instance, self._power_of(props)):
                return
            self._wait(props["obj"].PowerOnVM_Task(), operation, instance.uuid)

        self.session.invoke(act, operation)

    def power_on(self, instance: objects.Instance) -> None:
        self._power_on("power_on", instance)

    def resume(self, instance: objects.Instance) -> None:
        self._power_on("resume", instance)

    def suspend(self, instance: objects.Instance) -> None:
        def act(si: Any) -> None:
            props = self._vm_props(si, instance)
            if not self.check_transition(instance, self._power_of(props)):
                return
            self._wait(props["obj"].SuspendVM_Task(), "suspend", instance.uuid)

        self.session.invoke(act, "suspend")

    def snapshot(self, instance: objects.Instance, image_id: str, name: str) -> objects.SnapshotInfo:
        _check_text("name", name, self.conf.vmware.max_name_length)

        def act(si: Any) -> objects.SnapshotInfo:
            props = self._vm_props(si, instance)
            self.check_transition(instance, self._power_of(props))
            snap = self._wait(
                props["obj"].CreateSnapshot_Task(
                    name=name, description=f"nova image {image_id}", memory=False, quiesce=False
                ),
                "snapshot",
                instance.uuid,
            )
            return objects.SnapshotInfo(
                image_id=image_id, name=name, location=f"vim.VirtualMachineSnapshot:{snap._moId}"
            )

        return self.session.invoke(act, "snapshot")

    # -- volumes ----------------------------------------------------------------------------

    @staticmethod
    def _unit(mountpoint: str) -> int:
        match = _MOUNTPOINT.fullmatch(mountpoint)
        if not match:
            raise exc.InvalidRequest(
                field="attachment.mountpoint",
                value=mountpoint,
                reason="expected /dev/sdb .. /dev/sdo (SCSI units 1-15, 7 is the controller)",
            )
        unit = ord(match.group(1)) - ord("a")
        return unit + 1 if unit >= 7 else unit  # SCSI unit 7 is the controller's own

    def attach_volume(self, instance: objects.Instance, attachment: objects.VolumeAttachment) -> None:
        unit = self._unit(attachment.mountpoint)
        key = f"nova.volume.{attachment.volume_id}"

        def act(si: Any) -> None:
            props = self._vm_props(si, instance)
            self.check_transition(instance, self._power_of(props))
            extra = props["extra"]
            if extra.get(key) == attachment.mountpoint:
                return  # attached already, same place
            for other, where in extra.items():
                if other.startswith("nova.volume.") and where:
                    if where == attachment.mountpoint:
                        raise exc.InvalidRequest(
                            field="attachment.mountpoint",
                            value=attachment.mountpoint,
                            reason=f"holds volume {other.removeprefix('nova.volume.')}",
                        )
                    if other == key:
                        raise exc.InvalidRequest(
                            field="attachment.volume_id",
                            value=attachment.volume_id,
                            reason=f"already attached at {where}",
                        )
            disk = vim.vm.device.VirtualDisk(
                controllerKey=1000,
                unitNumber=unit,
                capacityInKB=attachment.size_gb * 1024 * 1024,
                backing=vim.vm.device.VirtualDisk.FlatVer2BackingInfo(
                    diskMode="persistent", thinProvisioned=True, fileName=f"[{self._datastore.name}]"
                ),
            )
            spec = vim.vm.ConfigSpec(
                deviceChange=[
                    vim.vm.device.VirtualDeviceSpec(
                        operation=vim.vm.device.VirtualDeviceSpec.Operation.add,
                        fileOperation=vim.vm.device.VirtualDeviceSpec.FileOperation.create,
                        device=disk,
                    )
                ],
                extraConfig=[vim.option.OptionValue(key=key, value=attachment.mountpoint)],
            )
            self._wait(props["obj"].ReconfigVM_Task(spec=spec), "attach_volume", instance.uuid)

        self.session.invoke(act, "attach_volume")

    def detach_volume(self, instance: objects.Instance, volume_id: str) -> None:
        key = f"nova.volume.{volume_id}"

        def act(si: Any) -> None:
            props = self._vm_props(si, instance)
            self.check_transition(instance, self._power_of(props))
            mountpoint = props["extra"].get(key)
            if not mountpoint:
                return  # not attached: done
            unit = self._unit(mountpoint)
            vm = props["obj"]
            changes = [
                vim.vm.device.VirtualDeviceSpec(
                    operation=vim.vm.device.VirtualDeviceSpec.Operation.remove,
                    fileOperation=vim.vm.device.VirtualDeviceSpec.FileOperation.destroy,
                    device=device,
                )
                for device in vm.config.hardware.device
                if isinstance(device, vim.vm.device.VirtualDisk)
                and device.controllerKey == 1000
                and device.unitNumber == unit
            ]
            spec = vim.vm.ConfigSpec(
                deviceChange=changes, extraConfig=[vim.option.OptionValue(key=key, value="")]
            )
            self._wait(vm.ReconfigVM_Task(spec=spec), "detach_volume", instance.uuid)

        self.session.invoke(act, "detach_volume")
