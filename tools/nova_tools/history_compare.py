"""Comparing a published history with what git filter-repo makes of the same source.

Commit ids differ (tools/publish adds a trailer), so a history is compared as a graph
of subjects: each commit's subject with its parents' subjects. The tests and the
publish benchmark share these.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys


def graph_by_subject(repo: str, ref: str = "main") -> list[tuple[str, tuple[str, ...]]]:
    """Each commit as (subject, its parents' subjects), sorted."""
    out = subprocess.check_output(["git", "-C", str(repo), "log", "--format=%H %P%x00%s", ref], text=True)
    subject, rows = {}, []
    for line in out.splitlines():
        ids, text = line.split("\x00")
        sha, *parents = ids.split()
        subject[sha] = text
        rows.append((sha, parents))
    return sorted((subject[sha], tuple(subject[p] for p in parents)) for sha, parents in rows)


def commit_counts(repo: str, ref: str = "main") -> tuple[int, int]:
    """(non-merge commits, merge commits) reachable from ``ref``."""
    total = int(subprocess.check_output(["git", "-C", str(repo), "rev-list", "--count", ref]))
    merges = int(subprocess.check_output(["git", "-C", str(repo), "rev-list", "--count", "--merges", ref]))
    return total - merges, merges


def filter_repo_command() -> list[str] | None:
    """git-filter-repo (PyPI) on the PATH or next to this Python; None when not installed."""
    exe = shutil.which("git-filter-repo") or os.path.join(os.path.dirname(sys.executable), "git-filter-repo")
    return [exe] if os.path.exists(exe) else None


def filter_repo(source: str, clone: str, path: str) -> None:
    """``git filter-repo --subdirectory-filter path`` on a fresh clone of ``source``."""
    command = filter_repo_command()
    if command is None:
        raise FileNotFoundError("git-filter-repo is not installed (pip install git-filter-repo)")
    subprocess.run(["git", "clone", "-q", "--no-local", str(source), str(clone)], check=True)
    subprocess.run(
        [*command, "--subdirectory-filter", path, "--force", "--quiet"],
        cwd=clone,
        check=True,
        capture_output=True,
    )
