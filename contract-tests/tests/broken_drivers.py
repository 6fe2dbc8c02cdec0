"""Deliberately broken drivers: each must fail the kit, naming the operation
and the rule it breaks."""

import threading
import time

from nova_common import objects
from nova_common.objects.fields import PowerState
from nova_common.virt import exceptions as exc
from nova_driver_fake import FakeDriver
from nova_driver_fake.driver import FakeTestHooks


class WrongPowerStateDriver(FakeDriver):
    """Claims a stopped instance is still running."""

    def _info(self, record):
        info = super()._info(record)
        if info.power_state == PowerState.SHUTDOWN:
            info.power_state = PowerState.RUNNING
        return info


class ForeignExceptionDriver(FakeDriver):
    """Lets a KeyError escape from get_info instead of InstanceNotFound."""

    def get_info(self, instance: objects.Instance) -> objects.InstanceInfo:
        with self._lock:
            return self._info(self._instances[instance.uuid])


class LeakyDriver(FakeDriver):
    """Says destroy succeeded but keeps the instance."""

    def destroy(self, instance: objects.Instance) -> None:
        return None


class BrokenGetInfoDriver(FakeDriver):
    """get_info fails for every instance: one broken basic operation."""

    def get_info(self, instance: objects.Instance) -> objects.InstanceInfo:
        raise RuntimeError("get_info is broken")


class SlowPauseDriver(FakeDriver):
    """pause works, but takes SLOW_S (the kit is given a tighter pause budget)."""

    SLOW_S = 0.3

    def pause(self, instance: objects.Instance) -> None:
        time.sleep(self.SLOW_S)
        super().pause(instance)


#: Set to release every hung call (tests set it when they are done).
RELEASE_HUNG = threading.Event()


class HungPauseDriver(FakeDriver):
    """pause never returns (until RELEASE_HUNG is set)."""

    def pause(self, instance: objects.Instance) -> None:
        RELEASE_HUNG.wait()


class ForgetfulDestroyDriver(FakeDriver):
    """destroy drops the instance from the driver's bookkeeping but leaves it
    on the (fake) hypervisor: list_instances and get_info no longer show it."""

    def __init__(self, conf):
        super().__init__(conf)
        self._forgotten: set[str] = set()

    def destroy(self, instance: objects.Instance) -> None:
        self._forgotten.add(instance.uuid)

    def spawn(self, instance, network_info):
        self._forgotten.discard(instance.uuid)
        return super().spawn(instance, network_info)

    def list_instances(self) -> objects.InstanceInfoList:
        listed = super().list_instances()
        return objects.InstanceInfoList(objects=[i for i in listed.objects if i.uuid not in self._forgotten])

    def _get(self, instance):
        if instance.uuid in self._forgotten:
            raise exc.InstanceNotFound(instance_uuid=instance.uuid)
        return super()._get(instance)


class CrashedPowerOnDriver(FakeDriver):
    """power_on of a crashed instance leaves it shut down instead of running."""

    def power_on(self, instance: objects.Instance) -> None:
        record = self._get(instance)
        if record.power_state == PowerState.CRASHED:
            self._set_state(record, PowerState.SHUTDOWN)
            return
        super().power_on(instance)


class _SilentHooks(FakeTestHooks):
    def set_power_state(self, instance_uuid: str, state: str) -> None:
        self._record(instance_uuid).power_state = state  # no LifecycleEvent


class SilentDriver(FakeDriver):
    """Changes behind the core's back (and crashes) emit no lifecycle event."""

    def test_hooks(self):
        return _SilentHooks(self)


class UndeclaredErrorDriver(FakeDriver):
    """pause of a running instance raises InstanceExists, which pause does not declare."""

    def pause(self, instance: objects.Instance) -> None:
        if self._get(instance).power_state == PowerState.RUNNING:
            raise exc.InstanceExists(instance_uuid=instance.uuid)
        super().pause(instance)


class DriftBlindDriver(FakeDriver):
    """Reports the power state its own operations left, blind to changes behind its back."""

    def __init__(self, conf):
        super().__init__(conf)
        self._known: dict[str, str] = {}

    def spawn(self, instance, network_info):
        info = super().spawn(instance, network_info)
        self._known[instance.uuid] = info.power_state
        return info

    def _transition(self, instance):
        record = super()._transition(instance)
        self._known[instance.uuid] = record.power_state
        return record

    def _info(self, record):
        info = super()._info(record)
        info.power_state = self._known.get(record.instance.uuid, info.power_state)
        return info
