"""JSON schemas of the request bodies (Draft 7; additionalProperties false everywhere)."""

from __future__ import annotations

from typing import Any

_NAME = {
    "type": "string",
    "minLength": 1,
    "maxLength": 255,
    "pattern": r"^[^\x00-\x1f\x7f]*\S[^\x00-\x1f\x7f]*$",
}
_REF = {"type": ["string", "integer"], "minLength": 1, "maxLength": 1024}
_METADATA = {
    "type": "object",
    "patternProperties": {"^.{1,255}$": {"type": "string", "maxLength": 255}},
    "additionalProperties": False,
}
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
            # Accepted for compatibility and ignored: there is no networking,
            # no key pairs, security groups or availability zones but "nova".
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

SERVER_UPDATE = _body(
    "server",
    {"type": "object", "properties": {}, "additionalProperties": False},
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
            "name": _NAME,
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
