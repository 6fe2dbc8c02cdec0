"""JSON schemas of the request bodies (Draft 7; additionalProperties false
everywhere), with Nova's parameter types (nova.api.validation.parameter_types)."""

from __future__ import annotations

import copy
from typing import Any

#: Nova's ``name``: printable, no leading or trailing whitespace (format checked
#: in nova_common.api.common).
_NAME = {"type": "string", "format": "name", "minLength": 1, "maxLength": 255}
#: Nova's flavor names: printable, at least one character that is not a space.
_NAME_WITH_SPACES = {
    "type": "string",
    "format": "name_with_leading_trailing_spaces",
    "minLength": 1,
    "maxLength": 255,
}
_DESCRIPTION = {"type": ["string", "null"], "format": "printable", "minLength": 0, "maxLength": 255}
_REF = {"type": ["string", "integer"], "minLength": 1, "maxLength": 1024}
METADATA_KEY = "^[a-zA-Z0-9-_:. ]{1,255}$"
_METADATA_VALUE = {"type": "string", "maxLength": 255, "format": "no_nul"}
_METADATA = {
    "type": "object",
    "patternProperties": {METADATA_KEY: _METADATA_VALUE},
    "additionalProperties": False,
}
_TAG = {"type": "string", "pattern": "^[^,/]*$", "minLength": 1, "maxLength": 60}
_UUID = {"type": "string", "format": "uuid", "pattern": "^[0-9a-fA-F-]{36}$"}
_NULL_OR_EMPTY = {"type": ["null", "object"], "maxProperties": 0}


def _body(key: str, inner: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {key: inner},
        "required": [key],
        "additionalProperties": False,
    }


SERVER_CREATE = _body(
    "server",
    {
        "type": "object",
        "properties": {
            "name": _NAME,
            "imageRef": _REF,
            "flavorRef": _REF,
            "metadata": _METADATA,
            # Accepted for compatibility and ignored: there is one network,
            # no security groups and no availability zones but "nova".
            "networks": {"oneOf": [{"type": "string", "enum": ["auto", "none"]}, {"type": "array"}]},
            "availability_zone": {"type": "string", "enum": ["nova"]},
            "security_groups": {"type": "array"},
            "min_count": {"type": ["integer", "string"], "pattern": "^1$", "minimum": 1, "maximum": 1},
            "max_count": {"type": ["integer", "string"], "pattern": "^1$", "minimum": 1, "maximum": 1},
            "OS-DCF:diskConfig": {"type": "string", "enum": ["AUTO", "MANUAL"]},
        },
        "required": ["name", "imageRef", "flavorRef"],
        "additionalProperties": False,
    },
)

_NETWORK = {
    "type": "object",
    "properties": {
        "fixed_ip": {"type": "string", "format": "ipv4"},
        "port": {"type": ["string", "null"], "format": "uuid"},
        "uuid": {"type": "string"},
    },
    "additionalProperties": False,
}


def server_create(version: tuple[int, int]) -> dict[str, Any]:
    """Nova's ``POST /servers`` body at ``version``: 2.19 description, 2.32
    network tags, 2.37 networks required ("auto", "none" or a list with UUIDs)."""
    schema = copy.deepcopy(SERVER_CREATE)
    server = schema["properties"]["server"]
    server["properties"]["key_name"] = {"type": "string", "minLength": 1, "maxLength": 255}
    server["properties"]["networks"] = {"type": "array", "items": copy.deepcopy(_NETWORK)}
    network = server["properties"]["networks"]["items"]
    if version >= (2, 19):
        server["properties"]["description"] = _DESCRIPTION
    if version >= (2, 32):
        network["properties"]["tag"] = {"type": "string", "pattern": "^[^,/]*$", "maxLength": 60}
    if version >= (2, 37):
        network["properties"]["uuid"] = {"type": "string", "format": "uuid"}
        server["properties"]["networks"] = {
            "oneOf": [server["properties"]["networks"], {"type": "string", "enum": ["none", "auto"]}]
        }
        server["required"] = [*server["required"], "networks"]
    return schema


def server_update(version: tuple[int, int]) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "name": _NAME,
        "accessIPv4": {"type": "string", "format": "ipv4"},
        "accessIPv6": {"type": "string", "format": "ipv6"},
        "OS-DCF:diskConfig": {"type": "string", "enum": ["AUTO", "MANUAL"]},
    }
    if version >= (2, 19):
        properties["description"] = _DESCRIPTION
    return _body("server", {"type": "object", "properties": properties, "additionalProperties": False})


METADATA_SET = _body("metadata", _METADATA)
METADATA_ITEM = _body(
    "meta",
    {
        "type": "object",
        "patternProperties": {METADATA_KEY: _METADATA_VALUE},
        "additionalProperties": False,
        "minProperties": 1,
        "maxProperties": 1,
    },
)
TAGS_SET = _body("tags", {"type": "array", "items": _TAG, "maxItems": 50})
TAG = _TAG

_KEYPAIR_NAME = {
    "allOf": [_NAME, {"type": "string", "pattern": r"^[_\- a-zA-Z0-9]+$", "minLength": 1, "maxLength": 255}]
}


def keypair_create(version: tuple[int, int]) -> dict[str, Any]:
    """2.2: ``type`` (ssh, x509); 2.10: ``user_id`` (an admin's for another user)."""
    properties: dict[str, Any] = {"name": _KEYPAIR_NAME, "public_key": {"type": "string"}}
    if version >= (2, 2):
        properties["type"] = {"type": "string", "enum": ["ssh", "x509"]}
    if version >= (2, 10):
        properties["user_id"] = {"type": "string"}
    return _body(
        "keypair",
        {"type": "object", "properties": properties, "required": ["name"], "additionalProperties": False},
    )


REBOOT = _body(
    "reboot",
    {
        "type": "object",
        "properties": {"type": {"type": "string", "enum": ["HARD", "Hard", "hard", "SOFT", "Soft", "soft"]}},
        "required": ["type"],
        "additionalProperties": False,
    },
)

CREATE_IMAGE = _body(
    "createImage",
    {
        "type": "object",
        "properties": {"name": _NAME, "metadata": _METADATA},
        "required": ["name"],
        "additionalProperties": False,
    },
)


def no_args(action: str) -> dict[str, Any]:
    return _body(action, _NULL_OR_EMPTY)


ACTIONS_WITHOUT_ARGS = {
    "os-stop": "stop",
    "os-start": "start",
    "pause": "pause",
    "unpause": "unpause",
    "suspend": "suspend",
    "resume": "resume",
}

ACTION_SCHEMAS: dict[str, dict[str, Any]] = {
    "reboot": REBOOT,
    "createImage": CREATE_IMAGE,
    **{name: no_args(name) for name in ACTIONS_WITHOUT_ARGS},
}

VOLUME_ATTACH = _body(
    "volumeAttachment",
    {
        "type": "object",
        "properties": {
            "volumeId": _UUID,
            "device": {"type": ["string", "null"], "pattern": "^/dev/[a-z0-9]{1,32}$"},
        },
        "required": ["volumeId"],
        "additionalProperties": False,
    },
)

_INT = {"type": ["integer", "string"], "pattern": "^[0-9]+$", "minimum": 0, "maximum": 2**31 - 1}
_POSITIVE = {
    "type": ["integer", "string"],
    "pattern": "^[0-9]*[1-9][0-9]*$",
    "minimum": 1,
    "maximum": 2**31 - 1,
}

FLAVOR_CREATE = _body(
    "flavor",
    {
        "type": "object",
        "properties": {
            "name": _NAME_WITH_SPACES,
            "id": {"type": ["string", "null"], "minLength": 1, "maxLength": 255, "pattern": r"^[\w\.\- ]*$"},
            "ram": _POSITIVE,
            "vcpus": _POSITIVE,
            "disk": _INT,
            "OS-FLV-EXT-DATA:ephemeral": _INT,
            "swap": _INT,
            "rxtx_factor": {"type": ["number", "string"], "minimum": 0},
            "os-flavor-access:is_public": {"type": "boolean"},
        },
        "required": ["name", "ram", "vcpus", "disk"],
        "additionalProperties": False,
    },
)

#: Nova's default metadata_items quota: more is 403.
MAX_METADATA_ITEMS = 128
MAX_TAGS = 50
