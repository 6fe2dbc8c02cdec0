#!/usr/bin/env python3
"""Benchmark of tools/publish next to git subtree split and git filter-repo, same history, same run.

A synthetic history of 20,000 commits, half touching the package
(drivers/libvirt), with a merge every 50 commits, is built with one fast-import
stream. Timed, each as the whole command:

* tools/publish, full, into a fresh bare repository;
* tools/publish, incremental, after 10 new commits (5 touching the package);
* ``git subtree split --prefix=drivers/libvirt`` (git's own tool; no incremental
  mode without its cache, and no extra paths);
* ``git filter-repo --subdirectory-filter drivers/libvirt`` on a fresh clone
  (it rewrites the clone in place and has no incremental mode: the second
  number is a full rerun).

Targets: the full publish no slower than filter-repo; the incremental run
under 2 s. Writes tools/bench/results/publish.md and .json. ``--quick``: 2,000 commits.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import pathlib
import platform
import shutil
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import synthetic_history  # noqa: E402

TOOL = HERE.parent / "publish"
RESULTS = HERE / "results"
PACKAGE = "drivers/libvirt"


def timed(command: list[str], cwd: str | None = None, timeout: float = 1800) -> tuple[float, str]:
    started = time.perf_counter()
    out = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    elapsed = time.perf_counter() - started
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:4])} failed: {out.stderr[-2000:]}")
    return elapsed, out.stdout


def filter_repo_command() -> list[str] | None:
    exe = shutil.which("git-filter-repo") or os.path.join(os.path.dirname(sys.executable), "git-filter-repo")
    return [exe] if os.path.exists(exe) else None


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--commits", type=int)
    args = parser.parse_args()
    commits = args.commits or (2_000 if args.quick else 20_000)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-publish-") as tmp:
        source = os.path.join(tmp, "source")
        started = time.perf_counter()
        synthetic_history.build(source, commits, kinds=["package", "common"])
        build_s = time.perf_counter() - started
        rules = os.path.join(tmp, "rules.toml")
        pathlib.Path(rules).write_text(f'[[package]]\npath = "{PACKAGE}"\ntarget = "unused"\n')
        target = os.path.join(tmp, "published.git")
        publish = [
            sys.executable,
            str(TOOL),
            PACKAGE,
            "--rules",
            rules,
            "--source",
            source,
            "--target",
            target,
        ]

        full_s, out = timed([*publish, "--json", "--quiet"])
        full = json.loads(out)[0]
        rows.append(
            {
                "tool": "tools/publish",
                "run": "full",
                "seconds": round(full_s, 2),
                "commits_written": full["published"],
            }
        )

        synthetic_history.append(source, 10, kinds=["package", "common"])
        incr_s, out = timed([*publish, "--json", "--quiet"])
        incr = json.loads(out)[0]
        rows.append(
            {
                "tool": "tools/publish",
                "run": "incremental (+10 commits)",
                "seconds": round(incr_s, 2),
                "commits_written": incr["published"],
            }
        )

        # git subtree wants the prefix in the work tree (fast-import leaves it empty)
        subprocess.run(["git", "-C", source, "checkout", "-q", "-f", "main"], check=True)
        split_s, out = timed(["git", "subtree", "split", f"--prefix={PACKAGE}", "main"], cwd=source)
        split_count = subprocess.run(
            ["git", "-C", source, "rev-list", "--count", out.strip()], capture_output=True, text=True
        ).stdout.strip()
        rows.append(
            {
                "tool": "git subtree split",
                "run": "full",
                "seconds": round(split_s, 2),
                "commits_written": int(split_count),
            }
        )

        filter_repo = filter_repo_command()
        if filter_repo:
            for run in ("full", "rerun (no incremental mode)"):
                clone = os.path.join(tmp, f"filter-repo-{len(rows)}")
                subprocess.run(["git", "clone", "-q", "--no-local", source, clone], check=True)
                fr_s, _ = timed(
                    [*filter_repo, "--subdirectory-filter", PACKAGE, "--force", "--quiet"], cwd=clone
                )
                count = subprocess.run(
                    ["git", "-C", clone, "rev-list", "--count", "HEAD"], capture_output=True, text=True
                ).stdout
                rows.append(
                    {
                        "tool": "git filter-repo --subdirectory-filter",
                        "run": run,
                        "seconds": round(fr_s, 2),
                        "commits_written": int(count),
                    }
                )
        else:
            rows.append(
                {
                    "tool": "git filter-repo",
                    "run": "not installed (pip install git-filter-repo)",
                    "seconds": None,
                    "commits_written": None,
                }
            )
        for row in rows:
            print(json.dumps(row), flush=True)

    filter_full = next(
        (r["seconds"] for r in rows if r["tool"].startswith("git filter-repo") and r["run"] == "full"), None
    )
    verdict = {
        "full_no_slower_than_filter_repo": None if filter_full is None else full_s <= filter_full,
        "incremental_under_2s": incr_s < 2.0,
    }
    meta = {
        "when": datetime.datetime.now().isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "git": subprocess.run(["git", "--version"], capture_output=True, text=True).stdout.strip(),
        "history_commits": commits,
        "history_build_s": round(build_s, 1),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "publish.json").write_text(
        json.dumps({"meta": meta, "runs": rows, "targets": verdict}, indent=2) + "\n"
    )
    lines = [
        "# publish benchmark",
        "",
        f"{meta['when']}, {meta['cpus']} CPUs, Python {meta['python']}, {meta['git']}. Synthetic history of "
        f"{commits} commits (half touching `{PACKAGE}`, a merge every 50)"
        f" built in {meta['history_build_s']} s "
        "by bench_publish.py. Times are whole commands.",
        "",
        "| tool | run | seconds | commits written |",
        "|---|---|---|---|",
    ]
    lines += [f"| {r['tool']} | {r['run']} | {r['seconds']} | {r['commits_written']} |" for r in rows]
    lines += [
        "",
        f"Targets: full run no slower than filter-repo: **{verdict['full_no_slower_than_filter_repo']}**; "
        f"incremental under 2 s: **{verdict['incremental_under_2s']}**.",
    ]
    (RESULTS / "publish.md").write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
