"""Results of driver operations and events a driver reports."""

from nova_common.objects import base, fields


@base.NovaObjectRegistry.register
class ConsoleOutput(base.NovaObject):
    """The tail of an instance's serial console.

    Version 1.0: initial version.
    """

    VERSION = "1.0"

    fields = {
        "output": fields.StringField(),
        "truncated": fields.BooleanField(default=False),
    }


@base.NovaObjectRegistry.register
class SnapshotInfo(base.NovaObject):
    """What a snapshot produced.

    ``image_id`` is the id the core chose; ``location`` is where the
    hypervisor keeps the data (a file, a snapshot name, a managed object).

    Version 1.0: initial version.
    """

    VERSION = "1.0"

    fields = {
        "image_id": fields.UUIDField(),
        "name": fields.StringField(),
        "location": fields.StringField(),
        "size_bytes": fields.NonNegativeIntegerField(default=0),
    }


@base.NovaObjectRegistry.register
class LifecycleEvent(base.NovaObject):
    """An instance changed state without the core asking (guest shutdown, crash).

    Version 1.0: initial version.
    """

    VERSION = "1.0"

    fields = {
        "instance_uuid": fields.UUIDField(),
        "transition": fields.LifecycleTransitionField(),
        "timestamp": fields.DateTimeField(),
    }


@base.NovaObjectRegistry.register
class InstanceDiagnostics(base.NovaObject):
    """What the hypervisor can tell about one instance's use of the host
    (``get_diagnostics``), as Nova's ``os-server-diagnostics`` shows it.

    Version 1.0: initial version (virt API 1.1).
    """

    VERSION = "1.0"

    fields = {
        "uuid": fields.UUIDField(),
        "power_state": fields.PowerStateField(),
        "uptime_seconds": fields.NonNegativeIntegerField(nullable=True, default=None),
        "cpu_time_ns": fields.NonNegativeIntegerField(nullable=True, default=None),
        "num_cpus": fields.NonNegativeIntegerField(default=0),
        "memory_mb": fields.NonNegativeIntegerField(default=0),
        "num_nics": fields.NonNegativeIntegerField(default=0),
        "num_disks": fields.NonNegativeIntegerField(default=0),
    }
