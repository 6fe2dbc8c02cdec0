"""The fields of a server that its owner sets after create (name, description,
metadata, tags), checked before they are stored."""

from __future__ import annotations

import re
from typing import Any

from nova_common.compute import exceptions as core_exc

_PRINTABLE = re.compile(r"[^\x00-\x1f\x7f]*")
MAX_TAGS = 50
MAX_METADATA_ITEMS = 128


def _text(field: str, value: Any, minimum: int, nullable: bool = False) -> Any:
    if value is None and nullable:
        return None
    if not isinstance(value, str) or not minimum <= len(value) <= 255 or not _PRINTABLE.fullmatch(value):
        raise core_exc.Invalid(
            field=field, value=value, reason=f"must be {minimum}-255 characters without control characters"
        )
    return value


def check(values: Any) -> dict[str, Any]:
    if not isinstance(values, dict) or not values:
        raise core_exc.Invalid(field="values", value=values, reason="must be a non-empty mapping")
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key == "name":
            out["name"] = _text("name", value, 1)
            if not value.strip():
                raise core_exc.Invalid(field="name", value=value, reason="must not be blank")
        elif key == "description":
            out["description"] = _text("description", value, 0, nullable=True)
        elif key == "metadata":
            if not isinstance(value, dict) or len(value) > MAX_METADATA_ITEMS:
                raise core_exc.Invalid(
                    field="metadata", value=value, reason=f"must map at most {MAX_METADATA_ITEMS} keys"
                )
            for item, text in value.items():
                _text(f"metadata key {item!r}", item, 1)
                _text(f"metadata[{item!r}]", text, 0)
            out["instance_metadata"] = dict(value)
        elif key == "tags":
            if not isinstance(value, list) or len(value) > MAX_TAGS:
                raise core_exc.Invalid(field="tags", value=value, reason=f"must list at most {MAX_TAGS} tags")
            for tag in value:
                if not isinstance(tag, str) or not 1 <= len(tag) <= 60 or "," in tag or "/" in tag:
                    raise core_exc.Invalid(field="tag", value=tag, reason="1-60 characters, no ',' or '/'")
            out["tags"] = list(dict.fromkeys(value))
        else:
            raise core_exc.Invalid(field=key, value=value, reason="not a field that can be updated")
    return out
