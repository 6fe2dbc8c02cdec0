"""Deliberately broken drivers: each must fail the kit, naming the operation
and the rule it breaks."""

from nova_common import objects
from nova_common.objects.fields import PowerState
from nova_driver_fake import FakeDriver


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
