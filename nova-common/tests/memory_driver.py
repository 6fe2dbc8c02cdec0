"""A minimal driver for the scaffold's own tests (nova-common installs and
tests without any driver package). It advertises only ``pause`` and counts
what it is asked, so tests can see what reached the driver."""

import collections
import threading
import time

from nova_common import objects
from nova_common.objects.fields import PowerState
from nova_common.virt import api
from nova_common.virt import exceptions as exc


class MemoryDriver(api.ComputeDriver):
    name = "memory"
    hypervisor_type = "memory"
    virt_api_max = api.VIRT_API_VERSION  # a test driver of this nova-common's own version

    def __init__(self, conf):
        super().__init__(conf)
        self.instances = {}
        self.calls = collections.Counter()
        self.pause_seconds = 0.0
        self.running_now = collections.Counter()
        self.max_concurrent = collections.Counter()
        self.max_concurrent_total = 0
        self._guard = threading.Lock()
        self.fail_start_times = 0
        self.advertised = frozenset({api.Capability.PAUSE})

    def start(self):
        if self.fail_start_times > 0:
            self.fail_start_times -= 1
            raise exc.HypervisorUnavailable(reason="memory hypervisor is napping")

    def capabilities(self):
        return self.advertised

    def _info(self, instance_uuid):
        return objects.InstanceInfo(
            uuid=instance_uuid, name=instance_uuid, power_state=self.instances[instance_uuid]
        )

    def get_host_resources(self):
        self.calls["get_host_resources"] += 1
        return objects.HostResources(
            hypervisor_hostname="mem",
            hypervisor_type="memory",
            hypervisor_version=1,
            vcpus=8,
            vcpus_used=len(self.instances),
            memory_mb=1024,
            memory_mb_used=0,
            local_gb=10,
            local_gb_used=0,
        )

    def list_instances(self):
        return objects.InstanceInfoList(objects=[self._info(u) for u in self.instances])

    def spawn(self, instance, network_info):
        self.calls["spawn"] += 1
        if instance.display_name == "explode":
            raise KeyError("secret-internal-detail")
        if instance.display_name == "wrong-result":
            return "not an InstanceInfo"
        if instance.uuid in self.instances:
            raise exc.InstanceExists(instance_uuid=instance.uuid)
        self.instances[instance.uuid] = PowerState.RUNNING
        return self._info(instance.uuid)

    def destroy(self, instance):
        self.instances.pop(instance.uuid, None)

    def get_info(self, instance):
        if instance.uuid not in self.instances:
            raise exc.InstanceNotFound(instance_uuid=instance.uuid)
        return self._info(instance.uuid)

    def reboot(self, instance, reboot_type):
        self.calls["reboot"] += 1

    def pause(self, instance):
        self.calls["pause"] += 1
        key = instance.uuid
        with self._guard:
            self.running_now[key] += 1
            self.max_concurrent[key] = max(self.max_concurrent[key], self.running_now[key])
            total = sum(self.running_now.values())
            self.max_concurrent_total = max(self.max_concurrent_total, total)
        time.sleep(self.pause_seconds)
        with self._guard:
            self.running_now[key] -= 1
        self.instances[key] = PowerState.PAUSED


class SlowStartDriver(MemoryDriver):
    """A driver whose start() blocks, like one whose hypervisor never answers."""

    def start(self):
        print("driver start entered", flush=True)
        threading.Event().wait(600)
