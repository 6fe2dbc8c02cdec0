"""The reference driver: every operation, every capability, all in memory.

Its behaviour is what the contract (:mod:`nova_common.virt.api`) asks of
every driver, written out as plainly as possible, so a driver team can read
it next to the spec:

* It owns only what it spawned. Nothing else exists for it.
* Every state change follows the operation's ``Transition`` in the spec:
  an operation from a state it does not accept raises InvalidInstanceState,
  and an operation that finds the instance already in its target state is a
  no-op (that is what "idempotent" means in the spec).
* Host resources count what its instances are allocated.
* Spawn checks capacity and leaves nothing behind when it refuses.
* Errors are contract errors only.

Capacity (``[fake] vcpus``, ``memory_mb``, ``disk_gb``) and the time each
operation takes (``[fake] operation_latency``, ``spawn_latency``) are
configurable, so the core's scheduler and timeouts can be exercised.
With ``[fake] state_file`` the instance table outlives a restart of the
compute process (:mod:`nova_driver_fake.state_file`).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from oslo_config import cfg
from oslo_utils import timeutils

from nova_common import objects
from nova_common.objects.fields import LifecycleTransition, PowerState
from nova_common.virt import api
from nova_common.virt import exceptions as exc
from nova_driver_fake import state_file

fake_opts = [
    cfg.IntOpt("vcpus", default=64, min=1, help="vCPUs the fake host offers."),
    cfg.IntOpt("memory_mb", default=262144, min=1, help="Memory (MiB) the fake host offers."),
    cfg.IntOpt("disk_gb", default=4096, min=1, help="Local disk (GiB) the fake host offers."),
    cfg.FloatOpt(
        "operation_latency",
        default=0.0,
        min=0.0,
        help="Seconds every state-changing operation takes, to model a slow hypervisor.",
    ),
    cfg.FloatOpt("spawn_latency", default=0.0, min=0.0, help="Extra seconds a spawn takes."),
    cfg.BoolOpt(
        "fail_spawn",
        default=False,
        help="Make every spawn fail with OperationFailed (to test rescheduling in the core).",
    ),
    cfg.StrOpt("hypervisor_hostname", help="Hostname to report; default: [DEFAULT] host."),
    cfg.ListOpt(
        "disabled_capabilities",
        default=[],
        help="Capabilities not to advertise, to test capability gating.",
    ),
    cfg.StrOpt(
        "state_file",
        help="Keep the instance table in this file, so instances outlive a restart of the compute "
        "service as a real hypervisor's do (e.g. /var/lib/nova/fake-${host}.json). Unset: in memory only.",
    ),
]

# Which lifecycle event a state change produces.
_EVENTS = {
    PowerState.RUNNING: LifecycleTransition.STARTED,
    PowerState.SHUTDOWN: LifecycleTransition.STOPPED,
    PowerState.PAUSED: LifecycleTransition.PAUSED,
    PowerState.SUSPENDED: LifecycleTransition.SUSPENDED,
    PowerState.CRASHED: LifecycleTransition.CRASHED,
}

_DRIVER_VERSION = 1_000_000  # "1.0.0" as major*1000000+minor*1000+release


@dataclass
class _FakeInstance:
    instance: objects.Instance
    power_state: str = PowerState.RUNNING
    volumes: dict[str, str] = field(default_factory=dict)  # mountpoint -> volume_id
    console: list[str] = field(default_factory=list)
    snapshots: list[str] = field(default_factory=list)
    nics: int = 0
    started_at: float = field(default_factory=time.monotonic)

    def to_state(self) -> dict:
        return {
            "instance": self.instance.obj_to_primitive(),
            "power_state": self.power_state,
            "volumes": dict(self.volumes),
            "console": self.console[-100:],
            "snapshots": list(self.snapshots),
            "nics": self.nics,
        }

    @classmethod
    def from_state(cls, entry: dict) -> _FakeInstance:
        return cls(
            instance=objects.Instance.obj_from_primitive(entry["instance"]),
            power_state=entry["power_state"],
            volumes=dict(entry.get("volumes", {})),
            console=list(entry.get("console", [])),
            snapshots=list(entry.get("snapshots", [])),
            nics=int(entry.get("nics", 0)),
        )


class FakeDriver(api.ComputeDriver):
    """In-memory reference implementation of virt API 1.0."""

    name = "fake"
    hypervisor_type = "fake"
    distribution = "nova-driver-fake"

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        super().__init__(conf)
        self._instances: dict[str, _FakeInstance] = {}
        # One lock for the table; per-instance ordering is the scaffold's job.
        self._lock = threading.Lock()
        self._booted_at = time.monotonic()
        # Held across snapshot and write, so the file never goes back in time.
        self._save_lock = threading.Lock()
        self._load_state()

    @classmethod
    def register_opts(cls, conf: cfg.ConfigOpts) -> None:
        try:
            conf.register_opts(fake_opts, group="fake")
        except cfg.DuplicateOptError:
            pass

    def capabilities(self) -> frozenset[str]:
        return api.Capability.ALL - frozenset(self.conf.fake.disabled_capabilities)

    def hypervisor_version(self) -> int:
        return _DRIVER_VERSION

    # -- helpers ------------------------------------------------------------

    def _load_state(self) -> None:
        path = self.conf.fake.state_file
        if not path:
            return
        try:
            entries = state_file.load(path)
            self._instances = {uuid: _FakeInstance.from_state(entry) for uuid, entry in entries.items()}
        except (KeyError, TypeError, ValueError) as error:
            # Refuse to start rather than overwrite instances this release cannot read.
            raise state_file.StateFileError(
                f"[fake] state_file {path}: unreadable entry ({error!r})"
            ) from None

    def _persist(self) -> None:
        """Write the instance table to ``[fake] state_file`` (after every change)."""
        path = self.conf.fake.state_file
        if not path:
            return
        with self._save_lock:
            with self._lock:
                entries = {uuid: record.to_state() for uuid, record in self._instances.items()}
            state_file.save(path, entries)

    def _pause_for(self, seconds: float) -> None:
        if seconds:
            time.sleep(seconds)

    def _get(self, instance: objects.Instance) -> _FakeInstance:
        with self._lock:
            found = self._instances.get(instance.uuid)
        if found is None:
            raise exc.InstanceNotFound(instance_uuid=instance.uuid)
        return found

    def _info(self, record: _FakeInstance) -> objects.InstanceInfo:
        flavor = record.instance.flavor
        running = record.power_state == PowerState.RUNNING
        return objects.InstanceInfo(
            uuid=record.instance.uuid,
            name=f"fake-{record.instance.uuid}",
            power_state=record.power_state,
            vcpus=flavor.vcpus,
            memory_mb=flavor.memory_mb if running else 0,
            max_memory_mb=flavor.memory_mb,
            cpu_time_ns=int((time.monotonic() - record.started_at) * 1e9) if running else 0,
        )

    def _transition(self, instance: objects.Instance) -> _FakeInstance:
        """Apply the running operation's Transition (from the spec) to ``instance``."""
        record = self._get(instance)
        if self.check_transition(instance, record.power_state):
            target = self.current_operation().transition.to  # type: ignore[union-attr]
            self._pause_for(self.conf.fake.operation_latency)
            if target is not None:
                self._set_state(record, target)
                self._persist()
        return record

    def _set_state(self, record: _FakeInstance, state: str) -> None:
        record.power_state = state
        if state == PowerState.RUNNING:
            record.started_at = time.monotonic()
            record.console.append(f"[{timeutils.utcnow().isoformat()}] {record.instance.display_name} booted")

    # -- test hooks (not part of the contract) ------------------------------

    def set_power_state_out_of_band(self, instance_uuid: str, state: str) -> None:
        """Change an instance's state as a guest or an admin would, behind the
        core's back, and emit the matching lifecycle event."""
        with self._lock:
            record = self._instances[instance_uuid]
        self._set_state(record, state)
        self._persist()
        self.emit_event(
            objects.LifecycleEvent(
                instance_uuid=instance_uuid, transition=_EVENTS[state], timestamp=timeutils.utcnow()
            )
        )

    # -- the contract ---------------------------------------------------------

    def get_host_resources(self) -> objects.HostResources:
        fake = self.conf.fake
        with self._lock:
            flavors = [record.instance.flavor for record in self._instances.values()]
        return objects.HostResources(
            hypervisor_hostname=fake.hypervisor_hostname or self.conf.host,
            hypervisor_type=self.hypervisor_type,
            hypervisor_version=_DRIVER_VERSION,
            vcpus=fake.vcpus,
            vcpus_used=min(fake.vcpus, sum(f.vcpus for f in flavors)),
            memory_mb=fake.memory_mb,
            memory_mb_used=min(fake.memory_mb, sum(f.memory_mb for f in flavors)),
            local_gb=fake.disk_gb,
            local_gb_used=min(fake.disk_gb, sum(f.root_gb + f.ephemeral_gb for f in flavors)),
            uptime_seconds=int(time.monotonic() - self._booted_at),
            cpu_info={"arch": "x86_64", "model": "fake"},
        )

    def list_instances(self) -> objects.InstanceInfoList:
        with self._lock:
            records = list(self._instances.values())
        return objects.InstanceInfoList(objects=[self._info(record) for record in records])

    def spawn(self, instance: objects.Instance, network_info: objects.NetworkInfo) -> objects.InstanceInfo:
        fake = self.conf.fake
        if fake.fail_spawn:
            raise exc.OperationFailed(
                operation="spawn", instance_uuid=instance.uuid, reason="[fake] fail_spawn is set"
            )
        flavor = instance.flavor
        self._pause_for(fake.operation_latency + fake.spawn_latency)
        with self._lock:
            if instance.uuid in self._instances:
                raise exc.InstanceExists(instance_uuid=instance.uuid)
            used_vcpus = sum(r.instance.flavor.vcpus for r in self._instances.values())
            used_mem = sum(r.instance.flavor.memory_mb for r in self._instances.values())
            if used_vcpus + flavor.vcpus > fake.vcpus:
                raise exc.InsufficientResources(
                    resource="vcpus", requested=flavor.vcpus, available=fake.vcpus - used_vcpus
                )
            if used_mem + flavor.memory_mb > fake.memory_mb:
                raise exc.InsufficientResources(
                    resource="memory_mb", requested=flavor.memory_mb, available=fake.memory_mb - used_mem
                )
            record = _FakeInstance(instance=instance, nics=len(network_info.objects))
            self._set_state(record, PowerState.RUNNING)
            self._instances[instance.uuid] = record
        self._persist()
        return self._info(record)

    def destroy(self, instance: objects.Instance) -> None:
        with self._lock:
            gone = self._instances.pop(instance.uuid, None)
        if gone is not None:
            self._persist()

    # Argument domains (reboot_type, timeout >= 0, a snapshot's name...) are
    # enforced by the scaffold from the spec before these are called.

    def reboot(self, instance: objects.Instance, reboot_type: str) -> None:
        self._transition(instance)

    def power_off(self, instance: objects.Instance, timeout: int = 0) -> None:
        self._transition(instance)

    def power_on(self, instance: objects.Instance) -> None:
        self._transition(instance)

    def pause(self, instance: objects.Instance) -> None:
        self._transition(instance)

    def unpause(self, instance: objects.Instance) -> None:
        self._transition(instance)

    def suspend(self, instance: objects.Instance) -> None:
        self._transition(instance)

    def resume(self, instance: objects.Instance) -> None:
        self._transition(instance)

    def get_info(self, instance: objects.Instance) -> objects.InstanceInfo:
        return self._info(self._get(instance))

    def get_console_output(self, instance: objects.Instance) -> objects.ConsoleOutput:
        record = self._get(instance)
        lines = record.console[-100:]
        return objects.ConsoleOutput(output="\n".join(lines), truncated=len(record.console) > 100)

    def snapshot(self, instance: objects.Instance, image_id: str, name: str) -> objects.SnapshotInfo:
        record = self._transition(instance)
        record.snapshots.append(image_id)
        self._persist()
        return objects.SnapshotInfo(
            image_id=image_id,
            name=name,
            location=f"fake://{instance.uuid}/snapshots/{image_id}",
            size_bytes=instance.flavor.root_gb * 1024**3,
        )

    def attach_volume(self, instance: objects.Instance, attachment: objects.VolumeAttachment) -> None:
        record = self._get(instance)
        self.check_transition(instance, record.power_state)
        current = record.volumes.get(attachment.mountpoint)
        if current == attachment.volume_id:
            return
        if current is not None:
            raise exc.InvalidRequest(
                field="mountpoint", value=attachment.mountpoint, reason=f"holds volume {current}"
            )
        if attachment.volume_id in record.volumes.values():
            raise exc.InvalidRequest(
                field="volume_id", value=attachment.volume_id, reason="already attached at another mountpoint"
            )
        self._pause_for(self.conf.fake.operation_latency)
        record.volumes[attachment.mountpoint] = attachment.volume_id
        self._persist()

    def detach_volume(self, instance: objects.Instance, volume_id: str) -> None:
        record = self._get(instance)
        self.check_transition(instance, record.power_state)
        for mountpoint, attached in list(record.volumes.items()):
            if attached == volume_id:
                del record.volumes[mountpoint]
                self._persist()


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    return [("fake", fake_opts)]
