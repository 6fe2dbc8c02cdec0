#!/usr/bin/env python3
"""The core benchmark's boots/s of two commits, measured in one run (issue 17's
"within 10% of today's", and any later claim that a change costs no throughput).

Each commit is checked out into a worktree of its own (detached, removed at the
end) and its own tools/bench/bench_core.py runs with its own nova-common and
fake driver first on PYTHONPATH. Rounds alternate the order (base, head; head,
base; ...) so that a machine getting busier or quieter during the run weighs on
both alike; the verdict is on the ratio of the medians, not on one pair.

Writes tools/bench/results/core-compare.md and core-compare.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TREE = os.path.dirname(os.path.dirname(HERE))
RESULTS = os.path.join(HERE, "results")


def git(*args: str) -> str:
    return subprocess.run(
        ["git", "-C", TREE, *args], check=True, capture_output=True, text=True
    ).stdout.strip()


def run_bench(worktree: str, hosts: int, database: str) -> dict:
    env = dict(os.environ)
    paths = [os.path.join(worktree, "nova-common"), os.path.join(worktree, "drivers", "fake")]
    env["PYTHONPATH"] = os.pathsep.join(paths + [env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    # The bench must run the worktree's code, not whatever this interpreter has installed.
    where = subprocess.run(
        [sys.executable, "-c", "import nova_common; print(nova_common.__file__)"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    if not where.startswith(worktree):
        raise SystemExit(f"nova_common imports from {where}, not from the worktree {worktree}")
    command = [
        sys.executable,
        os.path.join(worktree, "tools", "bench", "bench_core.py"),
        "--transport",
        "memory",
        "--hosts",
        str(hosts),
        "--database",
        database,
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=worktree)
    if done.returncode:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-4000:]}")
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    return json.loads(lines[-1])


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--base", required=True, help="the commit to compare against")
    parser.add_argument("--head", default="HEAD", help="the commit under test (default: HEAD)")
    parser.add_argument("--rounds", type=int, default=4, help="runs of each commit (default: 4)")
    parser.add_argument("--hosts", type=int, default=1000, help="fake compute services (default: 1,000)")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument(
        "--tolerance", type=float, default=0.10, help="largest loss of boots/s accepted (default: 0.10)"
    )
    args = parser.parse_args()
    commits = {"base": git("rev-parse", args.base), "head": git("rev-parse", args.head)}
    work = tempfile.mkdtemp(prefix="compare-core-")
    trees = {}
    try:
        for name, commit in commits.items():
            trees[name] = os.path.join(work, name)
            git("worktree", "add", "--detach", trees[name], commit)
        runs: dict[str, list[dict]] = {"base": [], "head": []}
        for round_ in range(args.rounds):
            order = ("base", "head") if round_ % 2 == 0 else ("head", "base")
            for name in order:
                started = time.monotonic()
                result = run_bench(trees[name], args.hosts, args.database)
                result["wall_s"] = round(time.monotonic() - started, 1)
                runs[name].append(result)
                print(f"round {round_ + 1} {name}: {result['boots_per_s']} boots/s", flush=True)
    finally:
        for tree in trees.values():
            subprocess.run(["git", "-C", TREE, "worktree", "remove", "--force", tree], capture_output=True)
    medians = {name: round(statistics.median(r["boots_per_s"] for r in rs), 1) for name, rs in runs.items()}
    ratio = medians["head"] / medians["base"]
    verdict = "within" if ratio >= 1 - args.tolerance else "outside"
    summary = {
        "base": commits["base"],
        "head": commits["head"],
        "hosts": args.hosts,
        "database": args.database,
        "rounds": args.rounds,
        "boots_per_s": {name: [r["boots_per_s"] for r in rs] for name, rs in runs.items()},
        "median_boots_per_s": medians,
        "ratio": round(ratio, 3),
        "tolerance": args.tolerance,
        "verdict": verdict,
        "runs": runs,
    }
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, "core-compare.json"), "w") as out:
        json.dump(summary, out, indent=2)
    with open(os.path.join(RESULTS, "core-compare.md"), "w") as out:
        out.write("# Core benchmark: two commits in one run\n\n")
        out.write(
            f"`tools/bench/compare_core.py --base {args.base} --head {args.head}`: {os.cpu_count()} CPUs, "
            f"Python {sys.version.split()[0]}, {args.hosts} fake compute services over kombu+memory, "
            f"{args.database}, {args.rounds} runs of each commit in alternating order.\n\n"
        )
        out.write("| commit | boots/s, each run | median |\n|---|---|---|\n")
        for name in ("base", "head"):
            each = ", ".join(f"{r['boots_per_s']}" for r in runs[name])
            out.write(f"| {name} `{commits[name][:10]}` | {each} | {medians[name]} |\n")
        out.write(f"\nhead / base = {ratio:.3f}: {verdict} the {args.tolerance:.0%} the head may lose.\n")
    print(json.dumps({k: summary[k] for k in ("median_boots_per_s", "ratio", "verdict")}))
    return 0 if verdict == "within" else 1


if __name__ == "__main__":
    sys.exit(main())
