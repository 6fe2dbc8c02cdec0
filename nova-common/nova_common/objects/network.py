"""Network interfaces handed to a driver at spawn."""

from nova_common.objects import base, fields


@base.NovaObjectRegistry.register
class VIF(base.NovaObject):
    """One virtual interface, already allocated by the network service.

    Version 1.0: initial version.
    """

    VERSION = "1.0"

    fields = {
        "id": fields.UUIDField(),
        "address": fields.StringField(),
        "network_id": fields.StringField(nullable=True, default=None),
        "vif_type": fields.StringField(default="bridge"),
        "devname": fields.StringField(nullable=True, default=None),
        "bridge": fields.StringField(nullable=True, default=None),
        "mtu": fields.NonNegativeIntegerField(nullable=True, default=None),
    }


@base.NovaObjectRegistry.register
class NetworkInfo(base.NovaObjectListBase, base.NovaObject):
    """The interfaces of one instance, in guest order.

    Version 1.0: initial version.
    """

    VERSION = "1.0"

    fields = {"objects": fields.ListOfObjectsField("VIF")}
