#!/usr/bin/env python3
"""Benchmark of tools/review-load: a synthetic history of 60,000 commits (Nova's 2014 area mix).

The history is built once with one git fast-import stream (nova_tools.synthetic_history),
then ``tools/review-load`` runs on it as an operator would (a subprocess, the
whole command timed), per quarter and per month. Target: under 30 s.

Writes tools/bench/results/review_load.md and .json. ``--quick``: 6,000 commits.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import pathlib
import platform
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from nova_tools import synthetic_history  # noqa: E402

TOOL = HERE.parent / "review-load"
RESULTS = HERE / "results"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--commits", type=int)
    args = parser.parse_args()
    commits = args.commits or (6_000 if args.quick else 60_000)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-review-load-") as tmp:
        repo = os.path.join(tmp, "history")
        started = time.perf_counter()
        synthetic_history.build(repo, commits)
        build_s = time.perf_counter() - started
        for period in ("quarter", "month"):
            out_json = os.path.join(tmp, f"{period}.json")
            started = time.perf_counter()
            result = subprocess.run(
                [sys.executable, str(TOOL), "--repo", repo, "--period", period, "--json", out_json],
                capture_output=True,
                text=True,
                check=True,
            )
            elapsed = time.perf_counter() - started
            total = json.load(open(out_json))["total"]
            rows.append(
                {
                    "commits_in_history": commits,
                    "period": period,
                    "seconds": round(elapsed, 2),
                    "non_merge_commits_counted": total["commits"],
                    "commits_per_s": round(total["commits"] / elapsed),
                    "one_driver_share": total["share"]["one-driver"],
                    "driver_common_share": total["share"]["driver+common"],
                    "target_s": 30,
                    "met": elapsed < 30,
                }
            )
            print(json.dumps(rows[-1]), flush=True)
            del result
    RESULTS.mkdir(exist_ok=True)
    meta = {
        "when": datetime.datetime.now().isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "git": subprocess.run(["git", "--version"], capture_output=True, text=True).stdout.strip(),
        "history_build_s": round(build_s, 1),
    }
    (RESULTS / "review_load.json").write_text(json.dumps({"meta": meta, "runs": rows}, indent=2) + "\n")
    keys = list(rows[0])
    lines = [
        "# review-load benchmark",
        "",
        f"{meta['when']}, {meta['cpus']} CPUs, Python {meta['python']}, {meta['git']}. "
        f"Synthetic history built by fast-import in {meta['history_build_s']} s "
        "(bench_review_load.py). Times are the whole `tools/review-load` command.",
        "",
        "| " + " | ".join(keys) + " |",
        "|" + "---|" * len(keys),
    ]
    lines += ["| " + " | ".join(str(r[k]) for k in keys) + " |" for r in rows]
    (RESULTS / "review_load.md").write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
