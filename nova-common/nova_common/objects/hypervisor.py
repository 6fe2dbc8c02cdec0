"""What a driver reports about its hypervisor, its host and its instances."""

from oslo_utils import versionutils

from nova_common.objects import base, fields


@base.NovaObjectRegistry.register
class InstanceInfo(base.NovaObject):
    """One instance as the hypervisor reports it.

    ``uptime_seconds``: seconds since the instance last started running, when
    the hypervisor knows (None otherwise, and while it is not running).

    Version 1.0: initial version.
    Version 1.1: ``uptime_seconds`` (virt API 1.1).
    """

    VERSION = "1.1"

    fields = {
        "uuid": fields.UUIDField(),
        "name": fields.StringField(),  # the hypervisor's own name for it
        "power_state": fields.PowerStateField(),
        "vcpus": fields.NonNegativeIntegerField(default=0),
        "memory_mb": fields.NonNegativeIntegerField(default=0),
        "max_memory_mb": fields.NonNegativeIntegerField(default=0),
        "cpu_time_ns": fields.NonNegativeIntegerField(nullable=True, default=None),
        "uptime_seconds": fields.NonNegativeIntegerField(nullable=True, default=None),
    }

    def _backport_fields(self, data: dict, target_version: str) -> None:
        if versionutils.convert_version_to_tuple(target_version) < (1, 1):
            data.pop("uptime_seconds", None)


@base.NovaObjectRegistry.register
class InstanceInfoList(base.NovaObjectListBase, base.NovaObject):
    """Every instance a driver owns on its host, from one bulk read.

    Version 1.0: initial version.
    """

    VERSION = "1.0"

    fields = {"objects": fields.ListOfObjectsField("InstanceInfo")}


@base.NovaObjectRegistry.register
class HostResources(base.NovaObject):
    """Capacity and use of one compute host, as the scheduler needs it.

    Version 1.0: initial version.
    """

    VERSION = "1.0"

    fields = {
        "hypervisor_hostname": fields.StringField(),
        "hypervisor_type": fields.StringField(),
        "hypervisor_version": fields.NonNegativeIntegerField(),
        "vcpus": fields.NonNegativeIntegerField(),
        "vcpus_used": fields.NonNegativeIntegerField(),
        "memory_mb": fields.NonNegativeIntegerField(),
        "memory_mb_used": fields.NonNegativeIntegerField(),
        "local_gb": fields.NonNegativeIntegerField(),
        "local_gb_used": fields.NonNegativeIntegerField(),
        "uptime_seconds": fields.NonNegativeIntegerField(nullable=True, default=None),
        "cpu_info": fields.DictOfStringsField(default={}),
    }


@base.NovaObjectRegistry.register
class DriverInfo(base.NovaObject):
    """Who a compute service is: sent at registration and on request.

    ``virt_api_min``/``virt_api_max`` bound the virt API versions the driver
    serves; ``object_versions`` is the version of every object it knows, so
    the caller can backport what it sends (see :mod:`nova_common.virt.rpcapi`).

    Version 1.0: initial version.
    """

    VERSION = "1.0"

    fields = {
        "driver_name": fields.StringField(),
        "driver_version": fields.StringField(),
        "hypervisor_type": fields.StringField(),
        "hypervisor_version": fields.NonNegativeIntegerField(),
        "virt_api_min": fields.StringField(),
        "virt_api_max": fields.StringField(),
        "capabilities": fields.ListOfStringsField(),
        "object_versions": fields.DictOfStringsField(),
    }


@base.NovaObjectRegistry.register
class CoreInfo(base.NovaObject):
    """Who the core is: its answer to a compute service's registration.

    ``virt_api_min``/``virt_api_max`` bound the virt API versions the core
    sends; ``object_versions`` is the version of every object the core reads,
    so the service backports what it reports (see
    :mod:`nova_common.virt.report_api`).

    Version 1.0: initial version.
    """

    VERSION = "1.0"

    fields = {
        "core_version": fields.StringField(),
        "virt_api_min": fields.StringField(),
        "virt_api_max": fields.StringField(),
        "report_api_version": fields.StringField(),
        "object_versions": fields.DictOfStringsField(),
    }
