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
