"""What the core asks a driver to run: flavors, images and instances."""

from oslo_utils import versionutils

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

    ``hostname`` is the guest's host name, derived by the core from the display
    name (a DNS label); a driver may hand it to the guest.

    Version 1.0: initial version.
    Version 1.1: ``hostname`` (virt API 1.1).
    """

    VERSION = "1.1"

    fields = {
        "uuid": fields.UUIDField(),
        "display_name": fields.StringField(),
        "hostname": fields.StringField(nullable=True, default=None),
        "host": fields.StringField(nullable=True, default=None),
        "project_id": fields.StringField(nullable=True, default=None),
        "user_id": fields.StringField(nullable=True, default=None),
        "flavor": fields.ObjectField("Flavor"),
        "image": fields.ObjectField("ImageMeta"),
        "metadata": fields.DictOfStringsField(default={}),
    }

    #: The versions of the objects inside, per version of this one (for a
    #: backport to a version without a manifest).
    obj_relationships = {"flavor": [("1.0", "1.0")], "image": [("1.0", "1.0")]}

    def _backport_fields(self, data: dict, target_version: str) -> None:
        if versionutils.convert_version_to_tuple(target_version) < (1, 1):
            data.pop("hostname", None)
