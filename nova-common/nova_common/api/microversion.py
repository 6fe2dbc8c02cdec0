"""Compute API microversions: the range honoured and the one a request asks for.

Every change Nova made up to :data:`MAX_VERSION` to a route this API serves is
implemented (``doc/api.md`` lists them); routes it does not serve are absent
at every version.
"""

from __future__ import annotations

import re
from typing import Any

MIN_VERSION = (2, 1)
MAX_VERSION = (2, 47)
VERSION_HEADERS = ("OpenStack-API-Version", "X-OpenStack-Nova-API-Version")


class VersionError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def text(version: tuple[int, int]) -> str:
    return f"{version[0]}.{version[1]}"


def parse(value: str) -> tuple[int, int]:
    value = value.strip()
    if value == "latest":
        return MAX_VERSION
    match = re.fullmatch(r"(\d+)\.(\d+)", value)
    if not match:
        raise VersionError(
            400, f"API Version String {value} is of invalid format. Must be of format MajorNum.MinorNum."
        )
    return int(match.group(1)), int(match.group(2))


def requested(headers: Any) -> tuple[int, int]:
    """The version asked for by ``OpenStack-API-Version: compute X.Y`` (or the
    legacy header); 2.1 when none; VersionError 406 outside the range."""
    value = headers.get("OpenStack-API-Version")
    asked = None
    if value is not None:
        for item in value.split(","):
            service, _, version = item.strip().partition(" ")
            if service.lower() == "compute":
                asked = version
    if asked is None:
        asked = headers.get("X-OpenStack-Nova-API-Version")
    if asked is None:
        return MIN_VERSION
    version = parse(asked)
    if not MIN_VERSION <= version <= MAX_VERSION:
        raise VersionError(
            406,
            f"Version {text(version)} is not supported by the API. Minimum is "
            f"{text(MIN_VERSION)} and maximum is {text(MAX_VERSION)}.",
        )
    return version
