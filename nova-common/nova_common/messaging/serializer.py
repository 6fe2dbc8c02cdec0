"""The RPC serializer: nova-common's versioned objects, at the peer's versions."""

from __future__ import annotations

from typing import Any

from oslo_versionedobjects import base as ovo_base

from nova_common.objects import base as obj_base

#: Context key carrying the caller's object manifest when the callee is newer.
OBJECT_VERSIONS_KEY = "object_versions"


class ObjectSerializer(ovo_base.VersionedObjectSerializer):
    """Serialises nova-common objects, backporting to a peer's manifest.

    ``version_manifest`` (object name -> version) is what the peer can read.
    On the client it comes from the host's DriverInfo; on the server from the
    request context, so results reach an older caller at versions it knows.
    """

    OBJ_BASE_CLASS = obj_base.NovaObject

    def __init__(self, version_manifest: dict[str, str] | None = None) -> None:
        super().__init__()
        self.version_manifest = version_manifest

    def serialize_entity(self, context: Any, entity: Any) -> Any:
        manifest = self.version_manifest
        if isinstance(context, dict) and context.get(OBJECT_VERSIONS_KEY):
            manifest = context[OBJECT_VERSIONS_KEY]
        if manifest and isinstance(entity, obj_base.NovaObject):
            return entity.obj_to_primitive(
                target_version=manifest.get(entity.obj_name()), version_manifest=manifest
            )
        return super().serialize_entity(context, entity)
