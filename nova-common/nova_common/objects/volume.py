"""Block storage attached to an instance."""

from nova_common.objects import base, fields


@base.NovaObjectRegistry.register
class VolumeAttachment(base.NovaObject):
    """A volume and where it goes in the guest.

    ``driver_volume_type`` and ``connection_data`` are what the block-storage
    service returned from initialize_connection (iscsi, rbd, vmdk, ...).

    Version 1.0: initial version.
    """

    VERSION = "1.0"

    fields = {
        "volume_id": fields.UUIDField(),
        "mountpoint": fields.StringField(),
        "driver_volume_type": fields.StringField(),
        "connection_data": fields.DictOfStringsField(default={}),
        "size_gb": fields.NonNegativeIntegerField(default=1),
    }
