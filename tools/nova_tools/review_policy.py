"""The review rule of the driver split, evaluated on a Gerrit change.

The rule (the short-term cure the split proposal asked for):

1. Any -2 on Code-Review blocks the change.
2. A change whose files all lie in one driver's directory needs one +2 from
   a core approver plus a +1 or +2 from a member of that driver's team, and
   the two votes must come from two different people: a driver-team member
   who is also core cannot approve a change alone.
3. Anything else (common code, several drivers, a driver plus common code)
   needs +2 from two different core approvers.

The change is the JSON Gerrit's REST API returns for
``GET /changes/{id}?o=CURRENT_REVISION&o=CURRENT_FILES&o=DETAILED_LABELS&o=DETAILED_ACCOUNTS``
(with or without the ``)]}'`` prefix): the current revision's ``files``, and
``labels["Code-Review"]["all"]`` with each account's vote.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from nova_tools.owners import Owners, Team

XSSI_PREFIX = ")]}'"
#: Gerrit's pseudo files: not part of the tree, never decide the area.
MAGIC_FILES = frozenset({"/COMMIT_MSG", "/MERGE_LIST", "/PATCHSET_LEVEL"})
LABEL = "Code-Review"


class ChangeError(ValueError):
    """Change JSON this tool cannot evaluate; the message names the field."""


@dataclasses.dataclass(frozen=True)
class Vote:
    value: int
    identities: frozenset[str]  # email, username, account id (lower case)
    display: str

    def is_in(self, team: Team, approvers_only: bool = False) -> bool:
        people = team.approvers if approvers_only else team.members
        return bool(self.identities & people)


@dataclasses.dataclass(frozen=True)
class Verdict:
    submittable: bool
    area: str  # "driver:<name>" or "common"
    rule: str
    reasons: list[str]
    files: list[str]

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def parse_change(text: str) -> dict[str, Any]:
    text = text.lstrip()
    if text.startswith(XSSI_PREFIX):
        text = text[len(XSSI_PREFIX) :]
    try:
        change = json.loads(text)
    except json.JSONDecodeError as error:
        raise ChangeError(f"change: not JSON: {error}") from error
    if not isinstance(change, dict):
        raise ChangeError(f"change: expected a JSON object, got {type(change).__name__}")
    return change


def change_files(change: dict[str, Any]) -> list[str]:
    current = change.get("current_revision")
    revisions = change.get("revisions")
    if not isinstance(revisions, dict) or not revisions:
        raise ChangeError("revisions: missing; query with o=CURRENT_REVISION&o=CURRENT_FILES")
    if current is None:
        if len(revisions) != 1:
            raise ChangeError("current_revision: missing and the change has several revisions")
        current = next(iter(revisions))
    revision = revisions.get(current)
    if not isinstance(revision, dict) or not isinstance(revision.get("files"), dict):
        raise ChangeError(f"revisions[{current!r}].files: missing; query with o=CURRENT_FILES")
    return sorted(path for path in revision["files"] if path not in MAGIC_FILES)


def change_votes(change: dict[str, Any]) -> list[Vote]:
    label = (change.get("labels") or {}).get(LABEL)
    if label is None:
        return []
    entries = label.get("all")
    if entries is None:
        raise ChangeError(f"labels[{LABEL!r}].all: missing; query with o=DETAILED_LABELS")
    votes = []
    for n, entry in enumerate(entries):
        value = entry.get("value", 0)
        if not isinstance(value, int):
            raise ChangeError(f"labels[{LABEL!r}].all[{n}].value: not an integer: {value!r}")
        if value == 0:
            continue
        identities = {
            str(entry[key]).strip().lower()
            for key in ("email", "username", "_account_id")
            if entry.get(key) not in (None, "")
        }
        if not identities:
            raise ChangeError(f"labels[{LABEL!r}].all[{n}]: no email, username or _account_id")
        display = str(entry.get("email") or entry.get("username") or entry.get("_account_id"))
        votes.append(Vote(value, frozenset(identities), display))
    return votes


def area_of(files: list[str], owners: Owners) -> str:
    drivers = {owners.driver_of(path) for path in files}
    if len(drivers) == 1 and None not in drivers:
        return f"driver:{drivers.pop()}"
    return "common"


def _distinct_pair(first: list[Vote], second: list[Vote]) -> tuple[Vote, Vote] | None:
    for a in first:
        for b in second:
            if not (a.identities & b.identities):
                return a, b
    return None


def evaluate(change: dict[str, Any], owners: Owners) -> Verdict:
    files = change_files(change)
    votes = change_votes(change)
    area = area_of(files, owners)
    vetoes = [v for v in votes if v.value <= -2]
    if vetoes:
        names = ", ".join(v.display for v in vetoes)
        return Verdict(False, area, "any -2 blocks", [f"-2 from {names}"], files)
    core_plus2 = [v for v in votes if v.value >= 2 and v.is_in(owners.core, approvers_only=True)]

    if area.startswith("driver:"):
        driver = area.split(":", 1)[1]
        team = owners.drivers[driver]
        rule = f"one core +2 and a +1 from the {driver} team ({team.name}), two different people"
        team_votes = [v for v in votes if v.value >= 1 and v.is_in(team)]
        pair = _distinct_pair(core_plus2, team_votes)
        if pair is not None:
            core_vote, team_vote = pair
            return Verdict(
                True,
                area,
                rule,
                [
                    f"core +2 from {core_vote.display}",
                    f"{driver} team +{team_vote.value} from {team_vote.display}",
                ],
                files,
            )
        reasons = []
        if not core_plus2:
            reasons.append("no +2 from a core approver")
        if not team_votes:
            reasons.append(f"no +1 or +2 from the {driver} team")
        if core_plus2 and team_votes:
            reasons.append(
                f"the core +2 and the {driver} team vote come from the same person "
                f"({core_plus2[0].display}); a second person must vote"
            )
        return Verdict(False, area, rule, reasons, files)

    rule = "two +2 from different core approvers"
    people: list[Vote] = []
    for vote in core_plus2:
        if all(not (vote.identities & seen.identities) for seen in people):
            people.append(vote)
    if len(people) >= 2:
        return Verdict(True, area, rule, [f"core +2 from {v.display}" for v in people[:2]], files)
    touched = {d for d in (owners.driver_of(f) for f in files) if d}
    common = any(owners.driver_of(f) is None for f in files)
    if len(touched) > 1:
        why = "several drivers" + (" and common code" if common else "")
    elif touched:
        why = "driver code and common code"
    else:
        why = "common code"
    return Verdict(
        False,
        area,
        rule,
        [f"the change touches {why}; it has {len(people)} core +2 of the 2 needed"],
        files,
    )


# -- what Gerrit and GitHub should enforce -------------------------------------------


def gerrit_project_config(owners: Owners) -> str:
    """The submit requirements of the rule, for refs/meta/config:project.config.

    Gerrit's query language cannot say "two different people" across groups,
    and ``count`` cannot be combined with ``group``. So +2 on Code-Review is
    granted to the core group only (the access section), which makes
    ``label:Code-Review=+2,count>=2`` mean "two core +2". For a driver-only
    change one core +2 plus a vote of the driver's group is required; this
    tool's ``evaluate`` additionally checks the two votes come from
    different people, which Gerrit cannot express.
    """
    core = owners.core.name
    lines = [
        "# Generated by tools/review-policy gerrit-config from the OWNERS files.",
        "# Requires Gerrit 3.6 or newer (submit requirements).",
        "",
        '[access "refs/heads/*"]',
        f"\tlabel-Code-Review = -2..+2 group {core}",
    ]
    for team in owners.drivers.values():
        lines.append(f"\tlabel-Code-Review = -1..+1 group {team.name}")
    lines += [
        "\tlabel-Code-Review = -1..+1 group Registered Users",
        "",
        '[label "Code-Review"]',
        "\tfunction = NoBlock",
        "",
        '[submit-requirement "Code-Review-Veto"]',
        "\tdescription = Any -2 on Code-Review blocks the change.",
        "\tsubmittableIf = -label:Code-Review=MIN",
        "\tcanOverrideInChildProjects = false",
        "",
    ]
    only = {}
    for name in owners.drivers:
        prefix = f"drivers/{name}/"
        # every file under the driver: some file inside, no file outside
        # (dk.brics regex: ~(...) is the complement).
        only[name] = f'file:"^{prefix}.*" -file:"^~({prefix}.*)"'
    not_single_driver = " ".join(f"-({expr})" for expr in only.values()) or "is:true"
    lines += [
        '[submit-requirement "Core-Review"]',
        "\tdescription = A change outside a single driver's directory needs two +2 from the core team.",
        f"\tapplicableIf = {not_single_driver}",
        "\tsubmittableIf = label:Code-Review=+2,count>=2",
        "\tcanOverrideInChildProjects = false",
        "",
    ]
    for name, team in owners.drivers.items():
        lines += [
            f'[submit-requirement "Driver-Review-{name}"]',
            f"\tdescription = A change inside drivers/{name}/ only needs one core +2"
            f" and a +1 from {team.name}.",
            f"\tapplicableIf = {only[name]}",
            f"\tsubmittableIf = label:Code-Review=+2 label:Code-Review>=1,group={team.name}",
            "\tcanOverrideInChildProjects = false",
            "",
        ]
    lines += [
        "# Gerrit groups to create (their UUIDs go in the project's groups file):",
        f"#   {core}: {', '.join(sorted(owners.core.approvers))}",
    ]
    for team in owners.drivers.values():
        lines.append(f"#   {team.name}: {', '.join(sorted(team.members))}")
    return "\n".join(lines) + "\n"


def _github_handle(account: str) -> str:
    return account if "@" in account else f"@{account}"


def codeowners(owners: Owners, org: str | None = None) -> str:
    """A GitHub CODEOWNERS file: the core team everywhere, each driver team on its directory.

    With ``org``, teams are named ``@org/team``; otherwise the approvers are listed.
    GitHub's rule is "one owner of each matching line approves", the nearest
    equivalent of the rule; branch protection should require two approvals.
    """

    def who(team: Team, also: Team | None = None) -> str:
        if org:
            names = [f"@{org}/{team.name}"] + ([f"@{org}/{also.name}"] if also else [])
        else:
            people = sorted(team.approvers) + (sorted(also.approvers) if also else [])
            names = [_github_handle(p) for p in dict.fromkeys(people)]
        return " ".join(names)

    lines = ["# Generated by tools/review-policy codeowners from the OWNERS files.", f"* {who(owners.core)}"]
    for team in owners.drivers.values():
        lines.append(f"/{team.path} {who(team, owners.core)}")
    return "\n".join(lines) + "\n"
