"""Command line of tools/review-policy."""

from __future__ import annotations

import argparse
import json
import pathlib
import sys

from nova_tools import owners as owners_mod
from nova_tools import review_policy

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="tools/review-policy",
        description="The driver-split review rule: any -2 blocks; a change inside one driver's directory "
        "needs one core +2 and a +1 from that driver's team (two different people); anything else needs "
        "two core +2.",
    )
    parser.add_argument(
        "--root", type=pathlib.Path, default=REPO_ROOT, help="repository with the OWNERS files"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    ev = sub.add_parser("evaluate", help="is a change (Gerrit REST JSON) submittable, and why")
    ev.add_argument("change", help="file with the change JSON, or - for stdin")
    ev.add_argument("--json", action="store_true", help="print the verdict as JSON")
    sub.add_parser("gerrit-config", help="print the equivalent Gerrit project.config submit requirements")
    co = sub.add_parser("codeowners", help="print a GitHub CODEOWNERS file")
    co.add_argument("--org", help="GitHub organisation: name teams @ORG/TEAM instead of listing people")
    sub.add_parser("owners", help="print the teams read from the OWNERS files")
    args = parser.parse_args(argv)

    try:
        owners = owners_mod.load(args.root)
    except owners_mod.OwnersError as error:
        print(f"review-policy: {error}", file=sys.stderr)
        return 2

    if args.command == "gerrit-config":
        sys.stdout.write(review_policy.gerrit_project_config(owners))
        return 0
    if args.command == "codeowners":
        sys.stdout.write(review_policy.codeowners(owners, args.org))
        return 0
    if args.command == "owners":
        for team in [owners.core, *owners.drivers.values()]:
            where = team.path or "everything (core)"
            print(f"{team.name:20s} {where:22s} approvers: {', '.join(sorted(team.approvers))}")
            if team.reviewers:
                print(f"{'':43s} reviewers: {', '.join(sorted(team.reviewers))}")
        return 0

    try:
        text = sys.stdin.read() if args.change == "-" else pathlib.Path(args.change).read_text()
        verdict = review_policy.evaluate(review_policy.parse_change(text), owners)
    except (OSError, review_policy.ChangeError) as error:
        print(f"review-policy: {error}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(verdict.as_dict(), indent=2))
    else:
        print(("SUBMITTABLE" if verdict.submittable else "NOT SUBMITTABLE") + f" ({verdict.area})")
        print(f"rule: {verdict.rule}")
        for reason in verdict.reasons:
            print(f"  - {reason}")
    return 0 if verdict.submittable else 1
