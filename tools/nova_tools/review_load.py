"""Review load by area, from any git history: the numbers behind the driver split.

Each non-merge commit is put in one area by the paths it touches:

* ``one-driver``: files of exactly one driver, nothing else;
* ``several-drivers``: files of two or more drivers, nothing else;
* ``driver+common``: files of one or more drivers and common code;
* ``common``: common code only.

A path is a driver's when an area map pattern with a ``driver`` group matches
it (and the captured name is not listed as ``not_drivers``); paths matching
an ``ignore`` pattern do not count; anything else is common code. Commits are
dated by their committer date (when they landed: the review load), and
counted per month, quarter or year.

The history is read from one ``git log --name-only`` stream.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime
import re
import subprocess
import tomllib
from collections.abc import Iterable, Iterator
from typing import Any

AREAS = ("one-driver", "several-drivers", "driver+common", "common")

#: Built-in area maps: this repository's layout and Nova's.
LAYOUTS: dict[str, dict[str, Any]] = {
    "this": {
        "drivers": [r"^drivers/(?P<driver>[^/]+)/"],
        "not_drivers": [],
        "ignore": [],
    },
    "nova": {
        "drivers": [
            r"^nova/virt/(?P<driver>[^/]+)/",
            r"^nova/tests/(?:.*/)?virt/(?P<driver>[^/]+)/",
        ],
        # Shared helpers under nova/virt/ that belong to no single driver.
        "not_drivers": ["disk", "image", "vfs"],
        "ignore": [],
    },
}

RECORD = "\x1e"
FIELD = "\x1f"


class AreaMapError(ValueError):
    """An area map that cannot be used; the message names the field and value."""


@dataclasses.dataclass
class AreaMap:
    drivers: list[re.Pattern[str]]
    not_drivers: frozenset[str]
    ignore: list[re.Pattern[str]]

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "area map") -> AreaMap:
        unknown = set(data) - {"drivers", "not_drivers", "ignore"}
        if unknown:
            raise AreaMapError(f"{source}: unknown field(s) {sorted(unknown)}")

        def patterns(field: str, need_driver_group: bool) -> list[re.Pattern[str]]:
            values = data.get(field, [])
            if not isinstance(values, list):
                raise AreaMapError(f"{source}: field {field!r} must be a list of regular expressions")
            compiled = []
            for value in values:
                try:
                    pattern = re.compile(value)
                except (re.error, TypeError) as error:
                    raise AreaMapError(f"{source}: {field}: invalid pattern {value!r}: {error}") from error
                if need_driver_group and "driver" not in pattern.groupindex:
                    raise AreaMapError(f"{source}: {field}: pattern {value!r} has no (?P<driver>...) group")
                compiled.append(pattern)
            return compiled

        not_drivers = data.get("not_drivers", [])
        if not isinstance(not_drivers, list):
            raise AreaMapError(f"{source}: field 'not_drivers' must be a list of names, got {not_drivers!r}")
        return cls(patterns("drivers", True), frozenset(not_drivers), patterns("ignore", False))

    @classmethod
    def load(cls, path: str) -> AreaMap:
        with open(path, "rb") as source:
            try:
                data = tomllib.load(source)
            except tomllib.TOMLDecodeError as error:
                raise AreaMapError(f"{path}: not valid TOML: {error}") from error
        return cls.from_dict(data, path)

    def __post_init__(self) -> None:
        self._cache: dict[str, str | None] = {}

    def classify_path(self, path: str) -> str | None:
        """The driver owning ``path``; "" for common code; None when ignored."""
        cached = self._cache.get(path, False)
        if cached is not False:
            return cached  # type: ignore[return-value]
        result: str | None = ""
        if any(p.search(path) for p in self.ignore):
            result = None
        else:
            for pattern in self.drivers:
                match = pattern.search(path)
                if match and match.group("driver") not in self.not_drivers:
                    result = match.group("driver")
                    break
        self._cache[path] = result
        return result

    def classify_commit(self, paths: Iterable[str]) -> str | None:
        drivers = set()
        common = False
        for path in paths:
            owner = self.classify_path(path)
            if owner is None:
                continue
            if owner:
                drivers.add(owner)
            else:
                common = True
        if drivers and common:
            return "driver+common"
        if len(drivers) > 1:
            return "several-drivers"
        if drivers:
            return "one-driver"
        return "common" if common else None


def period_of(timestamp: int, period: str) -> str:
    day = datetime.datetime.fromtimestamp(timestamp, datetime.UTC)
    if period == "year":
        return f"{day.year}"
    if period == "quarter":
        return f"{day.year}-Q{(day.month - 1) // 3 + 1}"
    if period == "month":
        return f"{day.year}-{day.month:02d}"
    raise ValueError(f"period: unknown value {period!r} (month, quarter or year)")


def git_log(
    repo: str, since: str | None, until: str | None, ref: str = "HEAD"
) -> Iterator[tuple[int, list[str]]]:
    """(committer timestamp, paths) of every non-merge commit, from one git log stream."""
    command = [
        "git",
        "-C",
        repo,
        "-c",
        "core.quotePath=false",
        "log",
        "--no-merges",
        "--name-only",
        "--no-renames",
        f"--format={RECORD}%ct",
    ]
    if since:
        command.append(f"--since={since}")
    if until:
        command.append(f"--until={until}")
    command += [ref, "--"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, bufsize=1 << 20) as proc:
        assert proc.stdout is not None
        stamp: int | None = None
        paths: list[str] = []
        for line in proc.stdout:
            if line.startswith(RECORD):
                if stamp is not None:
                    yield stamp, paths
                stamp, paths = int(line[1:]), []
            elif line != "\n":
                paths.append(line[:-1] if line.endswith("\n") else line)
        if stamp is not None:
            yield stamp, paths
    if proc.returncode != 0:
        raise RuntimeError(f"git log failed in {repo} (exit {proc.returncode})")


@dataclasses.dataclass
class Report:
    period: str
    rows: dict[str, collections.Counter[str]]  # period -> area -> commits
    skipped: int  # commits with no counted path (empty, or only ignored paths)

    def totals(self) -> collections.Counter[str]:
        total: collections.Counter[str] = collections.Counter()
        for counts in self.rows.values():
            total.update(counts)
        return total

    def as_dict(self) -> dict[str, Any]:
        def row(counts: collections.Counter[str]) -> dict[str, Any]:
            n = sum(counts.values())
            return {
                "commits": n,
                **{area: counts.get(area, 0) for area in AREAS},
                "share": {area: round(counts.get(area, 0) / n, 4) if n else 0.0 for area in AREAS},
            }

        return {
            "period": self.period,
            "areas": list(AREAS),
            "periods": {key: row(self.rows[key]) for key in sorted(self.rows)},
            "total": row(self.totals()),
            "skipped_commits": self.skipped,
        }

    def table(self) -> str:
        header = f"{self.period:>9} {'commits':>8} " + " ".join(f"{a:>17}" for a in AREAS)
        lines = [header, "-" * len(header)]

        def fmt(key: str, counts: collections.Counter[str]) -> str:
            n = sum(counts.values())
            cells = []
            for area in AREAS:
                c = counts.get(area, 0)
                cells.append(f"{c:>8} ({100 * c / n if n else 0:5.1f}%)")
            return f"{key:>9} {n:>8} " + " ".join(cells)

        for key in sorted(self.rows):
            lines.append(fmt(key, self.rows[key]))
        lines.append("-" * len(header))
        lines.append(fmt("total", self.totals()))
        return "\n".join(lines)


def review_load(
    repo: str, areas: AreaMap, period: str = "quarter", since: str | None = None, until: str | None = None
) -> Report:
    period_of(0, period)  # validate early, naming the field
    rows: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    skipped = 0
    for stamp, paths in git_log(repo, since, until):
        area = areas.classify_commit(paths)
        if area is None:
            skipped += 1
            continue
        rows[period_of(stamp, period)][area] += 1
    return Report(period, dict(rows), skipped)


def write_png(report: Report, path: str, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = sorted(report.rows)
    fig, ax = plt.subplots(figsize=(max(6, len(keys) * 0.5), 4.5))
    bottom = [0.0] * len(keys)
    for area in AREAS:
        shares = []
        for key in keys:
            n = sum(report.rows[key].values())
            shares.append(100 * report.rows[key].get(area, 0) / n if n else 0)
        ax.bar(keys, shares, bottom=bottom, label=area)
        bottom = [b + s for b, s in zip(bottom, shares, strict=True)]
    ax.set_ylabel("% of non-merge commits")
    ax.set_title(title)
    ax.legend(loc="upper left", bbox_to_anchor=(1, 1))
    ax.tick_params(axis="x", labelrotation=60)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
