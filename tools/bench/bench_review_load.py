#!/usr/bin/env python3
"""Benchmark of tools/review-load on a Gerrit-shaped synthetic history of 61,001 commits.

The history (nova_tools.synthetic_history.gerrit: 30,500 changes, each a change
commit and a "Merge ..." commit) is built once with one git fast-import stream,
then ``tools/review-load`` runs on it as an operator would (a subprocess, the
whole command timed): per quarter and per month by landed date, per quarter by
committer date, and per quarter by team (a mapping file of the synthetic
authors). Target: under 30 s each.

Writes tools/bench/results/review_load.md and .json. ``--quick``: 3,000 changes.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from nova_tools import bench_results, synthetic_history  # noqa: E402

TOOL = HERE.parent / "review-load"
TARGET_S = 30


def teams_file(path: str) -> None:
    """The synthetic authors dev0..dev49: ten in the libvirt team, ten in the core team."""

    def members(first: int) -> str:
        return ", ".join(f'"dev{n}@example.org"' for n in range(first, first + 10))

    pathlib.Path(path).write_text(
        f'[[team]]\nname = "libvirt-core"\ndriver = "libvirt"\nmembers = [{members(0)}]\n\n'
        f'[[team]]\nname = "nova-core"\nmembers = [{members(10)}]\n'
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--changes", type=int)
    args = parser.parse_args()
    changes = args.changes or (3_000 if args.quick else 30_500)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-review-load-") as tmp:
        repo = os.path.join(tmp, "history")
        started = time.perf_counter()
        synthetic_history.gerrit(repo, changes)
        build_s = time.perf_counter() - started
        commits = int(subprocess.check_output(["git", "-C", repo, "rev-list", "--count", "main"]))
        teams = os.path.join(tmp, "teams.toml")
        teams_file(teams)
        runs = [
            ("quarter", "landed", []),
            ("month", "landed", []),
            ("quarter", "committer", []),
            ("quarter", "landed", ["--teams", teams]),
        ]
        for period, date, extra in runs:
            out_json = os.path.join(tmp, "load.json")
            command = [sys.executable, str(TOOL), "--repo", repo, "--ref", "main", "--period", period]
            command += ["--date", date, "--json", out_json, *extra]
            started = time.perf_counter()
            subprocess.run(command, capture_output=True, text=True, check=True)
            elapsed = time.perf_counter() - started
            total = json.loads(pathlib.Path(out_json).read_text())["total"]
            rows.append(
                {
                    "commits_in_history": commits,
                    "period": period,
                    "date": date,
                    "by_team": bool(extra),
                    "seconds": round(elapsed, 2),
                    "non_merge_commits_counted": total["commits"],
                    "commits_per_s": round(commits / elapsed),
                    "one_driver_share": total["share"]["one-driver"],
                    "driver_common_share": total["share"]["driver+common"],
                    "met": elapsed < TARGET_S,
                }
            )
            print(json.dumps(rows[-1]), flush=True)
    meta = {**bench_results.machine(), "history_build_s": round(build_s, 1)}
    bench_results.write(
        "review_load",
        meta,
        rows,
        f"Gerrit-shaped synthetic history built by fast-import in {meta['history_build_s']} s"
        " (nova_tools.synthetic_history.gerrit). Times are the whole `tools/review-load` command;"
        f" target under {TARGET_S} s each.",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
