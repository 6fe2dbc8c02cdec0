#!/usr/bin/env python3
"""Runs every benchmark in tools/bench (``bench_*.py``) one after another.

Each benchmark is a standalone script that writes its results as Markdown
and JSON under ``tools/bench/results/``. ``--quick`` asks each for a short
run; ``--only NAME`` runs one (``--only contract`` for bench_contract.py).
A benchmark whose backend is not installed says so and is skipped.
"""

from __future__ import annotations

import argparse
import pathlib
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="short runs (smoke-test the harness)")
    parser.add_argument("--only", action="append", default=[], help="run only bench_<NAME>.py (repeatable)")
    args = parser.parse_args()
    scripts = sorted(HERE.glob("bench_*.py"))
    if args.only:
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") in args.only]
    failed = []
    for script in scripts:
        print(f"== {script.name}", flush=True)
        command = [sys.executable, str(script)] + (["--quick"] if args.quick else [])
        if subprocess.run(command).returncode != 0:
            failed.append(script.name)
    if failed:
        print(f"failed: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
