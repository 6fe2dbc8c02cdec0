"""Base classes for every object that crosses the core/driver boundary.

All objects live in the ``nova_common`` namespace and in one registry, so a
receiver can refuse anything that is not ours. Field errors name the object,
the field and the offending value: a driver team debugging a payload should
never have to guess which of forty fields was wrong.
"""

from __future__ import annotations

from typing import Any

from oslo_versionedobjects import base as ovo_base
from oslo_versionedobjects import fields as ovo_fields

OBJ_NAMESPACE = "nova_common"


class ObjectFieldError(ValueError):
    """A value that does not fit a field of a versioned object."""

    def __init__(self, obj_name: str, field: str, value: Any, reason: str) -> None:
        self.obj_name = obj_name
        self.field = field
        self.value = value
        self.reason = reason
        super().__init__(f"{obj_name}.{field}: invalid value {value!r}: {reason}")


# (object name, version) -> class; cleared whenever a class registers.
_CLASS_CACHE: dict[tuple[str, str], Any] = {}


class NovaObjectRegistry(ovo_base.VersionedObjectRegistry):
    """The one registry of nova-common objects."""

    def registration_hook(self, cls: type[ovo_base.VersionedObject], index: int) -> None:
        _CLASS_CACHE.clear()
        if issubclass(cls, NovaObject):
            _name_field_errors(cls)
            cls._defaults = tuple(
                (name, field.default)
                for name, field in cls.fields.items()
                if field.default is not ovo_fields.UnspecifiedDefault
            )
            cls._object_fields = tuple(
                name
                for name, field in cls.fields.items()
                if isinstance(field, (ovo_fields.ObjectField, ovo_fields.ListOfObjectsField))
            )


def _name_field_errors(cls: type[NovaObject]) -> None:
    """Wrap each field's property setter so a bad value raises ObjectFieldError.

    Wrapping the setters (rather than overriding __setattr__) keeps the cost
    off every internal attribute write: objects are built on every RPC call.
    """
    for name in cls.fields:
        prop = cls.__dict__.get(name)
        if not isinstance(prop, property) or getattr(prop.fset, "_names_errors", False):
            continue

        def setter(self: NovaObject, value: Any, _name: str = name, _fset: Any = prop.fset) -> None:
            try:
                _fset(self, value)
            except ObjectFieldError:
                raise
            except (ValueError, TypeError) as exc:
                raise ObjectFieldError(self.obj_name(), _name, value, str(exc)) from exc

        setter._names_errors = True  # type: ignore[attr-defined]
        setattr(cls, name, property(prop.fget, setter))


class NovaObject(ovo_base.VersionedObject, ovo_base.ComparableVersionedObject):
    """Base of every nova-common object.

    Subclasses declare ``VERSION`` and ``fields``; a field added after 1.0 must
    come with a backport in ``obj_make_compatible`` (a test enforces the
    fingerprint manifest).
    """

    OBJ_SERIAL_NAMESPACE = "nova_object"
    OBJ_PROJECT_NAMESPACE = OBJ_NAMESPACE

    # Filled per class at registration (see NovaObjectRegistry.registration_hook).
    _defaults: tuple[tuple[str, Any], ...] = ()
    _object_fields: tuple[str, ...] = ()

    def __init__(self, context: Any = None, **kwargs: Any) -> None:
        # Fields with a default are always set: a receiver never has to guess
        # whether an absent field means "default" or "forgot". Defaults are
        # valid by construction, so they skip coercion (this runs for every
        # object deserialised off the wire).
        for name, default in self._defaults:
            if name not in kwargs:
                value = default.copy() if isinstance(default, (dict, list)) else default
                object.__setattr__(self, "_obj_" + name, value)
        super().__init__(context, **kwargs)

    # -- the wire path: same results as ovo's, a third of the work ----------
    # Every RPC call builds and reads a handful of objects, so these skip
    # ovo's generic layers (property setters, per-field attribute checks,
    # version parsing per class lookup) while keeping every field coerced.

    @classmethod
    def _obj_from_primitive(cls, context: Any, objver: str, primitive: dict[str, Any]) -> NovaObject:
        self = cls.__new__(cls)
        self._context = context
        self.VERSION = objver
        objdata = primitive["nova_object.data"]
        store = self.__dict__
        for name, field in cls.fields.items():
            if name in objdata:
                raw = objdata[name]
                try:
                    store["_obj_" + name] = field.coerce(self, name, field.from_primitive(self, name, raw))
                except ObjectFieldError:
                    raise
                except (ValueError, TypeError) as exc:
                    raise ObjectFieldError(cls.obj_name(), name, raw, str(exc)) from exc
        for name, default in cls._defaults:
            if "_obj_" + name not in store:
                store["_obj_" + name] = default.copy() if isinstance(default, (dict, list)) else default
        changes = primitive.get("nova_object.changes")
        self._changed_fields = {x for x in changes if x in cls.fields} if changes else set()
        return self

    def obj_to_primitive(
        self, target_version: str | None = None, version_manifest: dict[str, str] | None = None
    ) -> dict[str, Any]:
        if version_manifest:
            return self._primitive_for(version_manifest, target_version)
        if target_version is not None and target_version != self.VERSION:
            return super().obj_to_primitive(target_version, None)  # ovo's walk, by obj_relationships
        store = self.__dict__
        data = {}
        for name, field in self.fields.items():
            key = "_obj_" + name
            if key in store:
                data[name] = field.to_primitive(self, name, store[key])
        return self._wrap(data, self.VERSION)

    def _primitive_for(self, manifest: dict[str, str], target_version: str | None = None) -> dict[str, Any]:
        """The primitive a peer whose object versions are ``manifest`` reads.

        Same result as ovo's manifest backport, without its generic walk
        (version parsing and a relationship lookup per field per call): every
        object inside is sent at the manifest's version of it, and this
        object's own newer fields are dropped by :meth:`_backport_fields`. A
        version the manifest names newer than ours is sent as ours (the peer
        reads older versions).
        """
        target = target_version or manifest.get(self.obj_name(), self.VERSION)
        if target != self.VERSION and _version(target) > _version(self.VERSION):
            target = self.VERSION
        store = self.__dict__
        data: dict[str, Any] = {}
        for name, field in self.fields.items():
            key = "_obj_" + name
            if key not in store:
                continue
            value = store[key]
            if name in self._object_fields and value is not None:
                if isinstance(value, list):
                    data[name] = [item._primitive_for(manifest) for item in value]
                else:
                    data[name] = value._primitive_for(manifest)
            else:
                data[name] = field.to_primitive(self, name, value)
        if target != self.VERSION:
            self._backport_fields(data, target)
        return self._wrap(data, target)

    def _wrap(self, data: dict[str, Any], version: str) -> dict[str, Any]:
        primitive = {
            "nova_object.name": self.obj_name(),
            "nova_object.namespace": OBJ_NAMESPACE,
            "nova_object.version": version,
            "nova_object.data": data,
        }
        changes = self.obj_what_changed()
        if changes:
            # As ovo does: a backport drops the changes of fields it dropped.
            primitive["nova_object.changes"] = sorted(change for change in changes if change in data)
        return primitive

    def _backport_fields(self, data: dict[str, Any], target_version: str) -> None:
        """Drop or convert this object's own fields that ``target_version``
        does not have (the objects inside are backported separately). Every
        object that adds a field after 1.0 overrides this."""

    def obj_make_compatible(self, primitive: dict[str, Any], target_version: str) -> None:
        super().obj_make_compatible(primitive, target_version)
        self._backport_fields(primitive, target_version)

    @classmethod
    def obj_class_from_name(cls, objname: str, objver: str) -> type[NovaObject]:
        key = (objname, objver)
        found = _CLASS_CACHE.get(key)
        if found is None:
            found = super().obj_class_from_name(objname, objver)
            _CLASS_CACHE[key] = found
        return found

    def obj_attr_is_set(self, attrname: str) -> bool:
        # Same contract as ovo's, without rebuilding the field list per call.
        if attrname not in self.fields:
            raise AttributeError(f"{self.obj_name()} object has no attribute {attrname!r}")
        return hasattr(self, "_obj_" + attrname)

    def obj_what_changed(self) -> set[str]:
        # ovo's version reads every field; only object-valued ones can hide changes.
        changes = set(self._changed_fields)
        for name in self._object_fields:
            value = getattr(self, "_obj_" + name, None)
            if value is None:
                continue
            items = value if isinstance(value, list) else [value]
            if any(item.obj_what_changed() for item in items):
                changes.add(name)
        return changes

    def _set_values(self) -> dict[str, Any]:
        return {name: getattr(self, "_obj_" + name) for name in self.fields if hasattr(self, "_obj_" + name)}

    def __eq__(self, other: object) -> bool:
        # Equal when the same object holds the same values; which fields were
        # "changed" (ovo's primitive comparison) is bookkeeping, not identity.
        if not isinstance(other, NovaObject) or other.obj_name() != self.obj_name():
            return NotImplemented
        return self._set_values() == other._set_values()

    __hash__ = None  # type: ignore[assignment]  (mutable)

    def get(self, name: str, default: Any = None) -> Any:
        """Return a field's value, or ``default`` when it is not set."""
        if name not in self.fields:
            raise AttributeError(f"{self.obj_name()} has no field {name!r}")
        return getattr(self, name) if self.obj_attr_is_set(name) else default

    def obj_load_attr(self, attrname: str) -> None:
        # Objects crossing the wire are complete; lazy loading would mean a
        # hidden RPC from a driver back to the core, which the contract forbids.
        raise ObjectFieldError(self.obj_name(), attrname, None, "field is not set")


class NovaObjectListBase(ovo_base.ObjectListBase):
    """Mixin for list objects (``objects`` field holding one object type)."""


def _version(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def registered_classes() -> dict[str, list[type[NovaObject]]]:
    """Every registered object class, by object name, newest version first."""
    return {
        name: list(classes)
        for name, classes in NovaObjectRegistry.obj_classes().items()
        if classes[0].OBJ_PROJECT_NAMESPACE == OBJ_NAMESPACE
    }


def object_manifest() -> dict[str, str]:
    """The version this process knows of every registered object."""
    return {name: classes[0].VERSION for name, classes in registered_classes().items()}
