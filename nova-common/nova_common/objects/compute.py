"""What the core asks a driver to run: flavors, images and instances."""

from nova_common.objects import base, fields


@base.NovaObjectRegistry.register
class Flavor(base.NovaObject):
    """The size of an instance.

    Version 1.0: initial version.
    """

    VERSION = "1.0"

    fields = {
        "flavorid": fields.StringField(),
        "name": fields.StringField(),
        "vcpus": fields.NonNegativeIntegerField(),
        "memory_mb": fields.NonNegativeIntegerField(),
        "root_gb": fields.NonNegativeIntegerField(default=0),
        "ephemeral_gb": fields.NonNegativeIntegerField(default=0),
        "swap_mb": fields.NonNegativeIntegerField(default=0),
        "extra_specs": fields.DictOfStringsField(default={}),
    }


@base.NovaObjectRegistry.register
class ImageMeta(base.NovaObject):
    """The image an instance boots from, as the core's catalog describes it.

    Version 1.0: initial version.
    """

    VERSION = "1.0"

    fields = {
        "id": fields.UUIDField(),
        "name": fields.StringField(),
        "disk_format": fields.StringField(default="raw"),
        "container_format": fields.StringField(default="bare"),
        "min_ram_mb": fields.NonNegativeIntegerField(default=0),
        "min_disk_gb": fields.NonNegativeIntegerField(default=0),
        "size_bytes": fields.NonNegativeIntegerField(default=0),
        "properties": fields.DictOfStringsField(default={}),
    }


@base.NovaObjectRegistry.register
class Instance(base.NovaObject):
    """An instance as a driver sees it: identity, size and image, no core state.

    ``vm_state`` and ``task_state`` belong to the conductor and deliberately do
    not cross the boundary: a driver answers what the hypervisor does, the core
    decides what that means.

    Version 1.0: initial version.
    """

    VERSION = "1.0"

    fields = {
        "uuid": fields.UUIDField(),
        "display_name": fields.StringField(),
        "host": fields.StringField(nullable=True, default=None),
        "project_id": fields.StringField(nullable=True, default=None),
        "user_id": fields.StringField(nullable=True, default=None),
        "flavor": fields.ObjectField("Flavor"),
        "image": fields.ObjectField("ImageMeta"),
        "metadata": fields.DictOfStringsField(default={}),
    }
