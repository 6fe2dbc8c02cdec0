"""The support window and the release pairings the matrix and can-i-deploy share.

Policy (explained in tools/README.md, "Support window"; numbers in
``tools/compat/window.toml``):

- Releases are ordered by their source commit's date (then version). nova-common
  releases fall into series ``MAJOR.MINOR``; distances are counted in series.
- A driver release stands on its *base*: the newest release of the series of the
  newest nova-common recorded at or before it (what its compute nodes install
  with it: patch releases belong to their series, so a fix released later, such
  as 1.1.1's, is what a node installs with a driver released on 1.1.0).
- The kit paired with a nova-common release: the newest nova-contract-tests
  release recorded before the next nova-common release (the kit of that core's
  time), else the newest kit recorded before it.
- A pair (core, driver) is inside the window when, with ``d`` = series(core) -
  series(base): ``0 <= d <= older_drivers`` (the core is as new or newer), or
  ``0 < -d <= older_cores`` and the same major (the driver is newer); and, when
  the core's major is newer than the base's, by one major only and within the
  first ``old_major_series`` series of the core's major.
"""

from __future__ import annotations

import dataclasses
import pathlib
import tomllib

from nova_tools.release_records import CORE_DISTRIBUTION, KIT_DISTRIBUTION, Record, version_key

DEFAULT_WINDOW = pathlib.Path(__file__).resolve().parent.parent / "compat" / "window.toml"


class WindowError(Exception):
    """The window file is unusable; the message names the field."""


@dataclasses.dataclass(frozen=True)
class Window:
    older_drivers: int = 2
    older_cores: int = 1
    old_major_series: int = 1

    def as_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)


def load_window(path: pathlib.Path = DEFAULT_WINDOW) -> Window:
    try:
        data = tomllib.loads(pathlib.Path(path).read_text())
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise WindowError(f"window: cannot read {path}: {error}") from error
    section = data.get("window", {})
    known = {field.name for field in dataclasses.fields(Window)}
    unknown = set(section) - known
    if unknown:
        raise WindowError(f"window: {path}: unknown keys {sorted(unknown)} in [window]")
    for key, value in section.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise WindowError(f"window: {path}: [window] {key} = {value!r} is not a whole number >= 0")
    return Window(**section)


def series(version: str) -> tuple[int, int]:
    major, minor, _ = version_key(version)
    return major, minor


def cores(records: list[Record]) -> list[Record]:
    return [r for r in records if r.distribution == CORE_DISTRIBUTION]


def drivers(records: list[Record]) -> list[Record]:
    return [r for r in records if r.drivers and r.distribution not in (CORE_DISTRIBUTION, KIT_DISTRIBUTION)]


def base_core(records: list[Record], driver: Record) -> Record | None:
    """``driver``'s base: the newest release of the series of the newest
    nova-common recorded at or before it (see the module docstring)."""
    older = [r for r in cores(records) if r.order <= driver.order]
    if not older:
        return None
    same_series = [r for r in cores(records) if series(r.version) == series(older[-1].version)]
    return max(same_series, key=lambda r: version_key(r.version))


def kit_for(records: list[Record], core: Record) -> Record | None:
    """The kit release of ``core``'s time (see the module docstring)."""
    kits = [r for r in records if r.distribution == KIT_DISTRIBUTION]
    later = [r for r in cores(records) if r.order > core.order]
    before_next = [k for k in kits if not later or k.order < later[0].order]
    return before_next[-1] if before_next else None


def outside_window(records: list[Record], window: Window, core: Record, driver: Record) -> str | None:
    """Why the pair lies outside the support window, or None when it is inside."""
    base = base_core(records, driver)
    if base is None:
        return f"{driver.spec} has no base: no nova-common release is recorded at or before it"
    all_series = sorted({series(r.version) for r in cores(records)})
    core_series, base_series = series(core.version), series(base.version)
    distance = all_series.index(core_series) - all_series.index(base_series)
    pair = f"{CORE_DISTRIBUTION}=={core.version} with {driver.spec} (base {CORE_DISTRIBUTION} {base.version})"
    if distance > window.older_drivers:
        return (
            f"{pair}: the core is {distance} series newer than the driver's base; "
            f"the window keeps {window.older_drivers} (older_drivers)"
        )
    if -distance > window.older_cores:
        return (
            f"{pair}: the core is {-distance} series older than the driver's base; "
            f"the window keeps {window.older_cores} (older_cores)"
        )
    majors = core_series[0] - base_series[0]
    if majors < 0:
        return f"{pair}: the driver stands on a newer major ({base_series[0]}) than the core's"
    if majors > 1:
        return f"{pair}: the driver stands on major {base_series[0]}, retired two majors back"
    if majors == 1:
        of_major = [s for s in all_series if s[0] == core_series[0] and s <= core_series]
        if len(of_major) > window.old_major_series:
            return (
                f"{pair}: major {base_series[0]} is retired after the first {window.old_major_series} "
                f"series of major {core_series[0]} (old_major_series)"
            )
    return None


def pairs_in_window(records: list[Record], window: Window) -> tuple[list[tuple[Record, Record]], list[dict]]:
    """Every (core, driver) pair inside the window, and the ones outside with their reasons."""
    inside, outside = [], []
    for core in cores(records):
        for driver in drivers(records):
            reason = outside_window(records, window, core, driver)
            if reason is None:
                inside.append((core, driver))
            else:
                outside.append(
                    {
                        "core": core.version,
                        "driver": driver.distribution,
                        "driver_version": driver.version,
                        "reason": reason,
                    }
                )
    return inside, outside


def newest(records: list[Record], distribution: str) -> Record | None:
    mine = [r for r in records if r.distribution == distribution]
    return max(mine, key=lambda r: version_key(r.version), default=None)
