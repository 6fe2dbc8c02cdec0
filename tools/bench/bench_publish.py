#!/usr/bin/env python3
"""Benchmark of tools/publish next to git filter-repo and git subtree split, same history, same run.

A Gerrit-shaped synthetic history (nova_tools.synthetic_history.gerrit): 30,500
changes, each a change commit plus a "Merge ..." commit on the main line
(61,001 commits), files over many directories, 15% of the changes touching
the package (drivers/libvirt), some of them common code or another driver at
once. Timed, each as the whole command:

* tools/publish, full, into a fresh bare repository;
* tools/publish, incremental, after 10 new commits (5 changes and their merges);
* ``git filter-repo --subdirectory-filter drivers/libvirt`` on a fresh clone
  (it rewrites the clone in place and has no incremental mode);
* ``git subtree split --prefix=drivers/libvirt`` (git's own tool), with a time limit.

Compared: non-merge and merge commits written, and whether the published graph is
filter-repo's (each commit's subject and its parents' subjects). Targets: the
full publish no slower than filter-repo, the same non-merge commits, no more
merges, the incremental run under 1 s. Writes tools/bench/results/publish.md and
.json. ``--quick``: 3,000 changes.
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
from nova_tools.history_compare import commit_counts as counts  # noqa: E402
from nova_tools.history_compare import filter_repo_command  # noqa: E402
from nova_tools.history_compare import graph_by_subject as shape  # noqa: E402

TOOL = HERE.parent / "publish"
PACKAGE = "drivers/libvirt"
SUBTREE_LIMIT_S = 1200


def timed(command: list[str], cwd: str | None = None, timeout: float = 1800) -> tuple[float, str]:
    started = time.perf_counter()
    out = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    elapsed = time.perf_counter() - started
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:4])} failed: {out.stderr[-2000:]}")
    return elapsed, out.stdout


def row(tool: str, run: str, seconds: float | None, written: tuple[int, int] | None, **extra) -> dict:
    return {
        "tool": tool,
        "run": run,
        "seconds": None if seconds is None else round(seconds, 2),
        "non_merge_commits": written[0] if written else None,
        "merges": written[1] if written else None,
        **extra,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--changes", type=int)
    parser.add_argument("--no-subtree", action="store_true", help="skip git subtree split (slow)")
    args = parser.parse_args()
    changes = args.changes or (3_000 if args.quick else 30_500)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-publish-") as tmp:
        source = os.path.join(tmp, "source")
        started = time.perf_counter()
        synthetic_history.gerrit(source, changes, package=PACKAGE)
        build_s = time.perf_counter() - started
        history = counts(source, "main")
        rules = os.path.join(tmp, "rules.toml")
        pathlib.Path(rules).write_text(f'[[package]]\npath = "{PACKAGE}"\ntarget = "unused"\n')
        target = os.path.join(tmp, "published.git")
        publish = [sys.executable, str(TOOL), PACKAGE, "--rules", rules, "--source", source]
        publish += ["--target", target, "--json", "--quiet"]

        # filter-repo first: it gets a warm page cache no worse than ours
        filter_repo = filter_repo_command()
        clone = os.path.join(tmp, "filter-repo")
        fr_s = None
        if filter_repo:
            subprocess.run(["git", "clone", "-q", "--no-local", source, clone], check=True)
            fr_s, _ = timed([*filter_repo, "--subdirectory-filter", PACKAGE, "--force", "--quiet"], cwd=clone)

        full_s, out = timed(publish)
        full = json.loads(out)[0]
        rows.append(
            row(
                "tools/publish",
                "full",
                full_s,
                counts(target, "main"),
                blobs_sent=full["blobs"],
                ancestry_walk_nodes=full["ancestry_walked"],
            )
        )
        same_as_filter_repo = None
        if filter_repo:
            rows.append(row("git filter-repo --subdirectory-filter", "full", fr_s, counts(clone, "HEAD")))
            same_as_filter_repo = shape(target, "main") == shape(clone, "HEAD")
        else:
            rows.append(row("git filter-repo", "not installed (pip install git-filter-repo)", None, None))

        synthetic_history.gerrit(source, 5, package=PACKAGE, seed=2, start=2_000_000_000, first=False)
        incr_s, out = timed(publish)
        incr = json.loads(out)[0]
        rows.append(
            row(
                "tools/publish",
                "incremental (+10 commits)",
                incr_s,
                (incr["published"] - incr["merges"], incr["merges"]),
            )
        )

        if not args.no_subtree:
            # git subtree wants the prefix in the work tree (fast-import leaves it empty)
            subprocess.run(["git", "-C", source, "checkout", "-q", "-f", "main"], check=True)
            try:
                split_s, out = timed(
                    ["git", "subtree", "split", f"--prefix={PACKAGE}", "main"],
                    cwd=source,
                    timeout=SUBTREE_LIMIT_S,
                )
                rows.append(
                    row("git subtree split", "full (+10 commits)", split_s, counts(source, out.strip()))
                )
            except subprocess.TimeoutExpired:
                rows.append(row("git subtree split", f"not finished after {SUBTREE_LIMIT_S} s", None, None))
        for entry in rows:
            print(json.dumps(entry), flush=True)

    fr_row = next((r for r in rows if r["tool"].startswith("git filter-repo") and r["seconds"]), None)
    ours = rows[0]
    targets = {
        "full_no_slower_than_filter_repo": None if fr_row is None else full_s <= fr_s,
        "same_non_merge_commits": None
        if fr_row is None
        else ours["non_merge_commits"] == fr_row["non_merge_commits"],
        "no_more_merges": None if fr_row is None else ours["merges"] <= fr_row["merges"],
        "same_graph_as_filter_repo": same_as_filter_repo,
        "incremental_under_1s": incr_s < 1.0,
    }
    meta = {
        **bench_results.machine(),
        "history_commits": sum(history),
        "history_merges": history[1],
        "history_build_s": round(build_s, 1),
    }
    description = (
        f"Gerrit-shaped synthetic history of {sum(history)} commits ({history[1]} merges: a change commit"
        f' and a "Merge ..." commit per change; 15% of the changes touch `{PACKAGE}`), built in'
        f" {meta['history_build_s']} s by nova_tools.synthetic_history.gerrit. Times are whole commands;"
        " filter-repo's excludes the clone it rewrites."
    )
    verdict = (
        "Targets: "
        + "; ".join(f"{name.replace('_', ' ')}: **{value}**" for name, value in targets.items())
        + "."
    )
    bench_results.write("publish", meta, rows, description, verdict, extra={"targets": targets})
    return 0


if __name__ == "__main__":
    sys.exit(main())
