"""Review load by area, from any git history: the numbers behind the driver split.

Each non-merge commit is put in one area by the paths it touches:

* ``one-driver``: files of exactly one driver, nothing else;
* ``several-drivers``: files of two or more drivers, nothing else;
* ``driver+common``: files of one or more drivers and common code;
* ``common``: common code only.

A path is a driver's when an area map pattern with a ``driver`` group matches
it (and the captured name is not listed as ``not_drivers``); paths matching
an ``ignore`` pattern do not count; anything else is common code.

Each commit is dated (``date``) by when it *landed*: the committer date of
the first main-line commit (first parents from the tip) whose history holds
it, which for a Gerrit project is the change's "Merge ..." commit; or by its
own ``committer`` date (in Gerrit, its last upload) or ``author`` date. Days
are UTC days: ``since`` and ``until`` are midnight UTC at the start of the
date given, ``since`` counted and ``until`` not. Commits are counted per
month, quarter or year; a period the range does not cover entirely is marked
partial.

By team (:class:`Teams`, from the OWNERS files or a mapping file): each
team's commits (by author email) split into its own driver only, its own
driver with common code, common code only, and other drivers, per period.
That is the worry the split had to answer: whether driver teams still work on
the common code once their drivers live in their own repositories.

The history is read from one ``git log --name-only`` stream.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime
import pathlib
import re
import subprocess
from collections.abc import Iterable, Iterator
from typing import Any

from nova_tools import toml_file

AREAS = ("one-driver", "several-drivers", "driver+common", "common")
TEAM_AREAS = ("own-driver", "own-driver+common", "common", "other-drivers")
DATES = ("landed", "committer", "author")
PERIODS = ("month", "quarter", "year")
DAY = 86_400

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
        data = toml_file.load(path, AreaMapError)
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

    def touched(self, paths: Iterable[str]) -> tuple[frozenset[str], bool]:
        """(the drivers, whether common code) a commit's paths touch."""
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
        return frozenset(drivers), common

    def classify_commit(self, paths: Iterable[str]) -> str | None:
        drivers, common = self.touched(paths)
        return area_of(drivers, common)


def area_of(drivers: frozenset[str], common: bool) -> str | None:
    if drivers and common:
        return "driver+common"
    if len(drivers) > 1:
        return "several-drivers"
    if drivers:
        return "one-driver"
    return "common" if common else None


# -- teams ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Team:
    name: str
    driver: str | None  # the driver it owns; None for the core team (common code)
    members: frozenset[str]  # author emails, lower case


class Teams:
    """Who is in which team, by author email: from OWNERS files or a mapping file."""

    def __init__(self, teams: list[Team]) -> None:
        self.teams = teams
        self._by_member: dict[str, list[Team]] = collections.defaultdict(list)
        for team in teams:
            for member in team.members:
                self._by_member[member].append(team)

    def of(self, email: str) -> list[Team]:
        return self._by_member.get(email.lower(), [])

    @classmethod
    def from_owners(cls, root: str) -> Teams:
        """The core team's and each driver team's OWNERS file (nova_tools.owners) under ``root``."""
        from nova_tools import owners

        try:
            found = owners.load(pathlib.Path(root))
        except owners.OwnersError as error:
            raise AreaMapError(str(error)) from error
        teams = [Team(found.core.name, None, found.core.members)]
        teams += [Team(t.name, driver, t.members) for driver, t in sorted(found.drivers.items())]
        return cls(teams)

    @classmethod
    def load(cls, path: str) -> Teams:
        """A mapping file (TOML), for a project without OWNERS files::

        [[team]]
        name = "libvirt-core"
        driver = "libvirt"              # as the area map names it; leave out for the core team
        members = ["alice@example.org"]
        """
        data = toml_file.load(path, AreaMapError)
        entries = data.get("team")
        if not isinstance(entries, list) or not entries:
            raise AreaMapError(f"{path}: needs [[team]] tables (name, driver, members)")
        teams = []
        for n, entry in enumerate(entries):
            where = f"{path}: team[{n}]"
            unknown = set(entry) - {"name", "driver", "members"}
            if unknown:
                raise AreaMapError(f"{where}: unknown field(s) {sorted(unknown)}")
            name, driver, members = entry.get("name"), entry.get("driver"), entry.get("members")
            if not isinstance(name, str) or not name:
                raise AreaMapError(f"{where}: field 'name' must be a non-empty string, got {name!r}")
            if driver is not None and (not isinstance(driver, str) or not driver):
                raise AreaMapError(f"{where}: field 'driver' must be a driver name, got {driver!r}")
            if not isinstance(members, list) or not members or not all(isinstance(m, str) for m in members):
                raise AreaMapError(
                    f"{where}: field 'members' must be a non-empty list of emails, got {members!r}"
                )
            teams.append(Team(name, driver, frozenset(m.strip().lower() for m in members)))
        return cls(teams)


def team_area(team: Team, drivers: frozenset[str], common: bool) -> str | None:
    """Where one of ``team``'s commits went, seen from that team."""
    own = team.driver is not None and team.driver in drivers
    others = bool(drivers - {team.driver})
    if own and not others:
        return "own-driver+common" if common else "own-driver"
    if not drivers:
        return "common" if common else None
    return "other-drivers"


# -- dates and periods -----------------------------------------------------------------


def parse_day(value: str, field: str) -> int:
    """Midnight UTC at the start of ``value`` (YYYY-MM-DD), as a timestamp."""
    try:
        day = datetime.date.fromisoformat(value)
    except ValueError:
        raise AreaMapError(f"{field}: {value!r} is not a date (YYYY-MM-DD, a UTC day)") from None
    return int(datetime.datetime(day.year, day.month, day.day, tzinfo=datetime.UTC).timestamp())


def period_of(timestamp: int, period: str) -> str:
    return period_key(datetime.datetime.fromtimestamp(timestamp, datetime.UTC).date(), period)


def period_key(day: datetime.date, period: str) -> str:
    if period == "year":
        return f"{day.year}"
    if period == "quarter":
        return f"{day.year}-Q{(day.month - 1) // 3 + 1}"
    if period == "month":
        return f"{day.year}-{day.month:02d}"
    raise ValueError(f"period: unknown value {period!r} (month, quarter or year)")


def period_bounds(timestamp: int, period: str) -> tuple[datetime.date, datetime.date]:
    """First day of the period holding ``timestamp``, and the first day after it."""
    day = datetime.datetime.fromtimestamp(timestamp, datetime.UTC).date()
    if period == "year":
        return datetime.date(day.year, 1, 1), datetime.date(day.year + 1, 1, 1)
    months = 3 if period == "quarter" else 1
    first = (day.month - 1) // months * months + 1
    start = datetime.date(day.year, first, 1)
    after = first + months
    end = datetime.date(day.year + (after > 12), (after - 1) % 12 + 1, 1)
    return start, end


def _day(timestamp: int) -> datetime.date:
    return datetime.datetime.fromtimestamp(timestamp, datetime.UTC).date()


# -- the history -----------------------------------------------------------------------


@dataclasses.dataclass
class Commit:
    sha: str
    parents: list[str]
    committer: int
    author: int
    email: str
    paths: list[str]


def git_log(repo: str, ref: str = "HEAD") -> Iterator[Commit]:
    """Every commit reachable from ``ref``, merges too (without paths), from one git log stream."""
    command = [
        "git",
        "-C",
        repo,
        "-c",
        "core.quotePath=false",
        "log",
        "--name-only",
        "--no-renames",
        f"--format={RECORD}%H %P{FIELD}%ct{FIELD}%at{FIELD}%ae",
        ref,
        "--",
    ]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, bufsize=1 << 20) as proc:
        assert proc.stdout is not None
        current: Commit | None = None
        for line in proc.stdout:
            if line.startswith(RECORD):
                if current is not None:
                    yield current
                ids, committer, author, email = line[1:].rstrip("\n").split(FIELD)
                sha, *parents = ids.split()
                current = Commit(sha, parents, int(committer), int(author), email, [])
            elif line != "\n" and current is not None:
                current.paths.append(line[:-1] if line.endswith("\n") else line)
        if current is not None:
            yield current
    if proc.returncode != 0:
        raise RuntimeError(f"git log failed in {repo} (exit {proc.returncode})")


def landed_dates(parents: dict[str, list[str]], committed: dict[str, int], tip: str) -> dict[str, int]:
    """Each commit's landing: the committer date of the oldest main-line commit (first
    parents from ``tip``) whose history holds it. One pass; each commit visited once."""
    main_line = []
    node: str | None = tip
    while node is not None:
        main_line.append(node)
        node = parents[node][0] if parents[node] else None
    landed: dict[str, int] = {}
    for commit in reversed(main_line):
        when = committed[commit]
        landed[commit] = when
        stack = [p for p in parents[commit][1:] if p not in landed]
        while stack:
            node = stack.pop()
            if node in landed:
                continue
            landed[node] = when
            stack.extend(p for p in parents[node] if p not in landed)
    return landed


# -- the report ------------------------------------------------------------------------


@dataclasses.dataclass
class Report:
    period: str
    rows: dict[str, collections.Counter[str]]  # period -> area -> commits
    skipped: int  # commits with no counted path (empty, or only ignored paths)
    date: str = "landed"
    first_day: datetime.date | None = None  # the range counted: [first_day, end_day)
    end_day: datetime.date | None = None
    partial: frozenset[str] = frozenset()  # periods the range covers only in part
    teams: dict[str, dict[str, collections.Counter[str]]] | None = None  # team -> period -> area

    def totals(self) -> collections.Counter[str]:
        total: collections.Counter[str] = collections.Counter()
        for counts in self.rows.values():
            total.update(counts)
        return total

    def range_text(self) -> str:
        if self.first_day is None or self.end_day is None:
            return "no commits"
        last = self.end_day - datetime.timedelta(days=1)
        return f"{self.first_day.isoformat()} to {last.isoformat()} (UTC days, by {self.date} date)"

    def as_dict(self) -> dict[str, Any]:
        def row(counts: collections.Counter[str], areas: tuple[str, ...] = AREAS) -> dict[str, Any]:
            n = sum(counts.values())
            return {
                "commits": n,
                **{area: counts.get(area, 0) for area in areas},
                "share": {area: round(counts.get(area, 0) / n, 4) if n else 0.0 for area in areas},
            }

        data: dict[str, Any] = {
            "period": self.period,
            "date": self.date,
            "first_day": self.first_day.isoformat() if self.first_day else None,
            "last_day": (self.end_day - datetime.timedelta(days=1)).isoformat() if self.end_day else None,
            "areas": list(AREAS),
            "periods": {
                key: {**row(self.rows[key]), "partial": key in self.partial} for key in sorted(self.rows)
            },
            "total": row(self.totals()),
            "skipped_commits": self.skipped,
        }
        if self.teams is not None:
            data["team_areas"] = list(TEAM_AREAS)
            data["teams"] = {
                name: {
                    key: {**row(periods[key], TEAM_AREAS), "partial": key in self.partial}
                    for key in sorted(periods)
                }
                for name, periods in self.teams.items()
            }
        return data

    def _lines(
        self, rows: dict[str, collections.Counter[str]], areas: tuple[str, ...], label: str
    ) -> list[str]:
        width = max(17, *(len(a) + 10 for a in areas))
        header = f"{label:>10} {'commits':>8} " + " ".join(f"{a:>{width}}" for a in areas)
        lines = [header, "-" * len(header)]

        def fmt(key: str, counts: collections.Counter[str]) -> str:
            n = sum(counts.values())
            cells = [
                f"{counts.get(a, 0):>{width - 9}} ({100 * counts.get(a, 0) / n if n else 0:5.1f}%)"
                for a in areas
            ]
            return f"{key:>10} {n:>8} " + " ".join(cells)

        for key in sorted(rows):
            lines.append(fmt(key + ("*" if key in self.partial else ""), rows[key]))
        total: collections.Counter[str] = collections.Counter()
        for counts in rows.values():
            total.update(counts)
        lines.append("-" * len(header))
        lines.append(fmt("total", total))
        return lines

    def table(self) -> str:
        lines = self._lines(self.rows, AREAS, self.period)
        notes = [self.range_text()]
        if self.partial:
            notes.append("* partial period: the range covers only part of it")
        return "\n".join(lines + [""] + notes)

    def team_table(self) -> str:
        blocks = []
        for name, periods in (self.teams or {}).items():
            blocks.append(f"team {name}")
            blocks.extend(self._lines(periods, TEAM_AREAS, self.period))
            blocks.append("")
        return "\n".join(blocks).rstrip("\n")


def review_load(
    repo: str,
    areas: AreaMap,
    period: str = "quarter",
    since: str | None = None,
    until: str | None = None,
    date: str = "landed",
    teams: Teams | None = None,
    ref: str = "HEAD",
) -> Report:
    if period not in PERIODS:
        raise AreaMapError(f"period: unknown value {period!r} (month, quarter or year)")
    if date not in DATES:
        raise AreaMapError(f"date: unknown value {date!r} (landed, committer or author)")
    start = parse_day(since, "since") if since else None
    end = parse_day(until, "until") if until else None
    if start is not None and end is not None and end <= start:
        raise AreaMapError(f"until: {until!r} is not after since {since!r}")

    parents: dict[str, list[str]] = {}
    committed: dict[str, int] = {}
    counted: list[tuple[Commit, frozenset[str], bool]] = []
    tip = None
    for commit in git_log(repo, ref):
        tip = tip or commit.sha
        parents[commit.sha] = commit.parents
        committed[commit.sha] = commit.committer
        if len(commit.parents) < 2:
            drivers, common = areas.touched(commit.paths)
            counted.append((commit, drivers, common))
            commit.paths = []
    landed = landed_dates(parents, committed, tip) if tip and date == "landed" else {}

    rows: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    by_team: dict[str, dict[str, collections.Counter[str]]] = {}
    if teams is not None:
        by_team = {t.name: collections.defaultdict(collections.Counter) for t in teams.teams}
    skipped = 0
    stamps = []
    for commit, drivers, common in counted:
        stamp = (
            landed[commit.sha]
            if date == "landed"
            else commit.committer
            if date == "committer"
            else commit.author
        )
        if (start is not None and stamp < start) or (end is not None and stamp >= end):
            continue
        area = area_of(drivers, common)
        if area is None:
            skipped += 1
            continue
        key = period_of(stamp, period)
        rows[key][area] += 1
        stamps.append(stamp)
        if teams is not None:
            for team in teams.of(commit.email):
                where = team_area(team, drivers, common)
                if where:
                    by_team[team.name][key][where] += 1

    first_day = end_day = None
    partial: set[str] = set()
    if stamps:
        first_day = _day(start) if start is not None else _day(min(stamps))
        end_day = _day(end) if end is not None else _day(max(stamps)) + datetime.timedelta(days=1)
        for key, stamp in ((period_of(s, period), s) for s in (min(stamps), max(stamps))):
            bounds = period_bounds(stamp, period)
            if bounds[0] < first_day or bounds[1] > end_day:
                partial.add(key)
    return Report(
        period,
        dict(rows),
        skipped,
        date,
        first_day,
        end_day,
        frozenset(partial),
        {name: dict(periods) for name, periods in by_team.items()} if teams is not None else None,
    )


def write_png(report: Report, path: str, title: str) -> None:
    """Two panels over the periods: commits by area (counts), and each area's share;
    a partial period is hatched and starred."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = sorted(report.rows)
    labels = [k + ("*" if k in report.partial else "") for k in keys]
    fig, (counts_ax, shares_ax) = plt.subplots(2, 1, sharex=True, figsize=(max(8, len(keys) * 0.55), 7))
    count_bottom = [0.0] * len(keys)
    share_bottom = [0.0] * len(keys)
    hatches = ["//" if k in report.partial else "" for k in keys]
    for area in AREAS:
        counts = [report.rows[k].get(area, 0) for k in keys]
        totals = [sum(report.rows[k].values()) for k in keys]
        shares = [100 * c / n if n else 0 for c, n in zip(counts, totals, strict=True)]
        bars = counts_ax.bar(labels, counts, bottom=count_bottom, label=area)
        color = bars.patches[0].get_facecolor() if bars.patches else None
        share_bars = shares_ax.bar(labels, shares, bottom=share_bottom, color=color)
        for bar, share_bar, hatch in zip(bars.patches, share_bars.patches, hatches, strict=True):
            bar.set_hatch(hatch)
            share_bar.set_hatch(hatch)
        count_bottom = [b + c for b, c in zip(count_bottom, counts, strict=True)]
        share_bottom = [b + s for b, s in zip(share_bottom, shares, strict=True)]
    for x, total in enumerate(count_bottom):
        counts_ax.annotate(f"{int(total)}", (x, total), ha="center", va="bottom", fontsize=7)
    counts_ax.set_ylabel("non-merge commits")
    shares_ax.set_ylabel("% of the period's commits")
    subtitle = report.range_text() + ("; * partial period" if report.partial else "")
    counts_ax.set_title(f"{title}\n{subtitle}", fontsize=10)
    counts_ax.legend(loc="upper left", bbox_to_anchor=(1, 1))
    shares_ax.tick_params(axis="x", labelrotation=60)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
