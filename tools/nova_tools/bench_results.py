"""What the tool benchmarks share: the machine they ran on, and their results files.

Each benchmark writes ``tools/bench/results/<name>.json`` (meta, rows, anything
extra) and ``<name>.md`` (a description, the rows as a table, a verdict). A
hand-written ``## Reading it`` section at the end of an earlier ``.md`` is kept.
"""

from __future__ import annotations

import datetime
import json
import os
import pathlib
import platform
import subprocess
from typing import Any

RESULTS = pathlib.Path(__file__).resolve().parents[1] / "bench" / "results"
NOTES = "\n## Reading it"


def machine() -> dict[str, Any]:
    return {
        "when": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "git": subprocess.run(["git", "--version"], capture_output=True, text=True).stdout.strip(),
    }


def kept_notes(path: pathlib.Path) -> str:
    """The hand-written "Reading it" section of an earlier results file."""
    try:
        text = path.read_text()
    except OSError:
        return ""
    index = text.find(NOTES)
    return text[index:] if index >= 0 else ""


def table(rows: list[dict[str, Any]]) -> list[str]:
    keys = list(dict.fromkeys(key for entry in rows for key in entry))
    lines = ["| " + " | ".join(k.replace("_", " ") for k in keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join("" if r.get(k) is None else str(r[k]) for k in keys) + " |" for r in rows]
    return lines


def write(
    name: str,
    meta: dict[str, Any],
    rows: list[dict[str, Any]],
    description: str,
    verdict: str = "",
    extra: dict[str, Any] | None = None,
    title: str | None = None,
) -> pathlib.Path:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(
        json.dumps({"meta": meta, "runs": rows, **(extra or {})}, indent=2) + "\n"
    )
    markdown = RESULTS / f"{name}.md"
    notes = kept_notes(markdown)
    header = f"{meta['when']}, {meta['cpus']} CPUs, Python {meta['python']}, {meta['git']}."
    lines = [f"# {title or name.replace('_', '-') + ' benchmark'}", "", f"{header} {description}", ""]
    lines += table(rows)
    if verdict:
        lines += ["", verdict]
    markdown.write_text("\n".join(lines) + "\n" + notes)
    return markdown
