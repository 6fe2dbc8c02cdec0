"""OWNERS files: who approves and who reviews each part of the repository.

An OWNERS file is YAML::

    # drivers/libvirt/OWNERS
    team: libvirt-core          # the Gerrit group / GitHub team of these people
    approvers: [alice@example.org, bob]
    reviewers: [carol@example.org]

Entries are Gerrit account emails, usernames or numeric account ids. The core
team's file is ``nova-common/OWNERS``: the repository root is fixed by design
(only the packages, tools, tox.ini, README.md, .ci, bindep.txt and docs live
there), and the core team owns nova-common. Each driver team's file is
``drivers/<name>/OWNERS`` and covers that directory.
"""

from __future__ import annotations

import dataclasses
import pathlib

import yaml

CORE_OWNERS = "nova-common/OWNERS"
DRIVERS_DIR = "drivers"


class OwnersError(ValueError):
    """An OWNERS file that cannot be used; the message names the file and field."""


@dataclasses.dataclass(frozen=True)
class Team:
    name: str  # the Gerrit group / GitHub team
    path: str  # the directory the team owns ("" for the core team: everything)
    approvers: frozenset[str]
    reviewers: frozenset[str]

    @property
    def members(self) -> frozenset[str]:
        return self.approvers | self.reviewers


@dataclasses.dataclass(frozen=True)
class Owners:
    core: Team
    drivers: dict[str, Team]  # driver name -> team

    def driver_of(self, path: str) -> str | None:
        """The driver whose directory holds ``path``, if any."""
        parts = path.split("/")
        if len(parts) > 2 and parts[0] == DRIVERS_DIR and parts[1] in self.drivers:
            return parts[1]
        return None


def _accounts(data: dict, field: str, source: str) -> frozenset[str]:
    value = data.get(field, [])
    if value is None:
        return frozenset()
    if not isinstance(value, list) or not all(isinstance(v, (str, int)) for v in value):
        raise OwnersError(f"{source}: field {field!r} must be a list of accounts, got {value!r}")
    return frozenset(str(v).strip().lower() for v in value)


def load_team(path: pathlib.Path, owned: str, default_name: str) -> Team:
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise OwnersError(f"{path}: not valid YAML: {error}") from error
    if not isinstance(data, dict):
        raise OwnersError(f"{path}: must be a mapping with approvers and reviewers, got {data!r}")
    unknown = set(data) - {"team", "approvers", "reviewers"}
    if unknown:
        raise OwnersError(f"{path}: unknown field(s) {sorted(unknown)}")
    name = data.get("team", default_name)
    if not isinstance(name, str) or not name:
        raise OwnersError(f"{path}: field 'team' must be a non-empty string, got {name!r}")
    approvers = _accounts(data, "approvers", str(path))
    if not approvers:
        raise OwnersError(f"{path}: field 'approvers' must name at least one account")
    return Team(name, owned, approvers, _accounts(data, "reviewers", str(path)))


def load(root: pathlib.Path) -> Owners:
    """Read the core team's and every driver team's OWNERS under ``root``."""
    core_file = root / CORE_OWNERS
    if not core_file.is_file():
        raise OwnersError(f"{core_file}: the core team's OWNERS file is missing")
    core = load_team(core_file, "", "nova-core")
    drivers = {}
    for owners_file in sorted((root / DRIVERS_DIR).glob("*/OWNERS")):
        name = owners_file.parent.name
        drivers[name] = load_team(owners_file, f"{DRIVERS_DIR}/{name}/", f"{name}-core")
    return Owners(core, drivers)
