"""Command line of tools/review-load."""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys
import time

from nova_tools import review_load

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="tools/review-load",
        description="Count non-merge commits by area (one driver only, several drivers, driver plus "
        "common code, common only) per period, from one git log stream; with --by-team, each team's "
        "commits split between its own driver and the common code.",
    )
    parser.add_argument("--repo", default=str(REPO_ROOT), help="git repository (default: this one)")
    parser.add_argument("--ref", default="HEAD", help="the main line's tip (default: HEAD)")
    parser.add_argument("--since", help="first UTC day counted, from its midnight (2014-01-01)")
    parser.add_argument("--until", help="first UTC day not counted (2015-01-01 ends the count with 2014)")
    parser.add_argument("--period", choices=review_load.PERIODS, default="quarter")
    parser.add_argument(
        "--date",
        choices=review_load.DATES,
        default="landed",
        help="landed: when the change reached the main line (its first-parent merge; default); "
        "committer: the commit's committer date (in Gerrit, its last upload); author",
    )
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--layout", choices=sorted(review_load.LAYOUTS), default="this", help="built-in area map"
    )
    group.add_argument("--areas", help="area map file (TOML): drivers, not_drivers, ignore")
    parser.add_argument(
        "--by-team",
        action="store_true",
        help="per team (author email): own driver, own driver + common, common, other drivers",
    )
    parser.add_argument(
        "--teams",
        metavar="FILE",
        help="teams mapping file (TOML [[team]]: name, driver, members) instead of the OWNERS files",
    )
    parser.add_argument("--json", metavar="PATH", help="write the counts as JSON")
    parser.add_argument("--png", metavar="PATH", help="write the chart: counts and shares (needs matplotlib)")
    args = parser.parse_args(argv)

    if not os.path.isdir(args.repo):
        print(f"review-load: --repo: no such directory: {args.repo}", file=sys.stderr)
        return 2
    try:
        areas = (
            review_load.AreaMap.load(args.areas)
            if args.areas
            else review_load.AreaMap.from_dict(review_load.LAYOUTS[args.layout], f"layout {args.layout}")
        )
        teams = None
        if args.by_team or args.teams:
            teams = (
                review_load.Teams.load(args.teams) if args.teams else review_load.Teams.from_owners(args.repo)
            )
        started = time.perf_counter()
        report = review_load.review_load(
            args.repo, areas, args.period, args.since, args.until, args.date, teams, args.ref
        )
    except (OSError, review_load.AreaMapError, RuntimeError) as error:
        print(f"review-load: {error}", file=sys.stderr)
        return 2
    print(report.table())
    if teams is not None:
        print()
        print(report.team_table())
    total = sum(report.totals().values())
    print(
        f"\n{total} commits counted, {report.skipped} without counted paths,"
        f" in {time.perf_counter() - started:.2f} s"
    )
    if args.json:
        with open(args.json, "w") as out:
            json.dump(report.as_dict(), out, indent=2)
    if args.png:
        try:
            review_load.write_png(
                report, args.png, f"Review load by area ({os.path.basename(os.path.abspath(args.repo))})"
            )
        except ImportError:
            print("review-load: --png needs matplotlib (pip install matplotlib)", file=sys.stderr)
            return 2
    return 0
