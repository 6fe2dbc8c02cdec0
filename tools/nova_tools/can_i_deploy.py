"""can-i-deploy: may these releases run together? Answered from the recorded matrix.

    tools/can-i-deploy nova-common==1.1.0 --with nova-driver-fake==1.0.0 --with nova-driver-libvirt==1.1.0
    tools/can-i-deploy nova-driver-fake==1.1.0            # against the newest nova-common
    tools/can-i-deploy nova-common==1.1.0                 # against the newest release of every driver

Every (nova-common, driver) pair among the named releases is checked; a side
not named is the newest recorded release of it (every driver, for a core
alone). A pair is a yes only when it lies inside the support window
(tools/compat/window.toml) and ``tools/compat/matrix.json`` holds a passed
kit run of exactly those recorded releases (same source commits). Otherwise
no, with the reason of each failing check: outside the window, never tested,
tested from other commits, could not be tested, or failed (naming the kit's
failed checks). Exit status 0 yes, 1 no, 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
from typing import Any

from nova_tools.compat_matrix import DEFAULT_RESULTS, PASSED, cell_key, load_matrix, sources
from nova_tools.compat_window import DEFAULT_WINDOW, WindowError, drivers, load_window, newest, outside_window
from nova_tools.release_records import (
    CORE_DISTRIBUTION,
    KIT_DISTRIBUTION,
    Record,
    RecordError,
    find_record,
    load_records,
    repo_root,
)


def check_pair(
    records: list[Record], window, matrix: dict[str, Any], core: Record, driver: Record
) -> dict[str, Any]:
    pair = f"{core.spec} with {driver.spec}"
    reason = outside_window(records, window, core, driver)
    if reason:
        return {
            "pair": pair,
            "ok": False,
            "check": "support-window",
            "reason": f"outside the support window: {reason}",
        }
    cells = {cell_key(c["core"], c["driver"], c["driver_version"]): c for c in matrix["cells"]}
    cell = cells.get(cell_key(core.version, driver.distribution, driver.version))
    if cell is None:
        return {
            "pair": pair,
            "ok": False,
            "check": "tested",
            "reason": "never tested: not in the matrix (run tools/compat-matrix)",
        }
    if cell.get("sources") != sources(records, core, driver):
        return {
            "pair": pair,
            "ok": False,
            "check": "tested",
            "reason": "tested from other source commits than the records name now (run tools/compat-matrix)",
        }
    if cell["status"] != PASSED:
        if cell.get("failed_checks"):
            failed = "; ".join(
                f"{c['id']}: {c['message']}" if c["message"] else c["id"] for c in cell["failed_checks"]
            )
            reason = f"failed the kit {cell.get('kit')}: {failed}"
        else:
            reason = f"could not be tested ({cell['status']}): {cell.get('reason', '')}"
        return {"pair": pair, "ok": False, "check": "kit", "reason": reason, "report": cell.get("report")}
    return {
        "pair": pair,
        "ok": True,
        "check": "kit",
        "reason": f"passed the kit {cell.get('kit')}",
        "report": cell.get("report"),
    }


def decide(records: list[Record], window, matrix: dict[str, Any], specs: list[str]) -> list[dict[str, Any]]:
    named = [find_record(records, spec) for spec in specs]
    if any(r.distribution == KIT_DISTRIBUTION for r in named):
        raise RecordError(f"release: {KIT_DISTRIBUTION} is the contract kit, not something deployed")
    named_cores = [r for r in named if r.distribution == CORE_DISTRIBUTION]
    named_drivers = [r for r in named if r.distribution != CORE_DISTRIBUTION]
    if any(not r.drivers for r in named_drivers):
        odd = [r.spec for r in named_drivers if not r.drivers]
        raise RecordError(f"release: {', '.join(odd)} is neither nova-common nor a driver")
    if not named_cores:
        core = newest(records, CORE_DISTRIBUTION)
        if core is None:
            raise RecordError("release: no nova-common release is recorded")
        named_cores = [core]
    if not named_drivers:
        names = sorted({r.distribution for r in drivers(records)})
        named_drivers = [d for d in (newest(records, name) for name in names) if d is not None]
    return [
        check_pair(records, window, matrix, core, driver) for core in named_cores for driver in named_drivers
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="tools/can-i-deploy", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("release", help="DIST==VERSION")
    parser.add_argument("--with", dest="others", action="append", default=[], metavar="DIST==VERSION")
    parser.add_argument(
        "--results", type=pathlib.Path, default=DEFAULT_RESULTS, help="default: tools/compat/"
    )
    parser.add_argument("--window", type=pathlib.Path, default=DEFAULT_WINDOW)
    parser.add_argument("--json", action="store_true", help="the checks as JSON")
    args = parser.parse_args(argv)
    try:
        records = load_records(repo_root())
        checks = decide(
            records, load_window(args.window), load_matrix(args.results), [args.release, *args.others]
        )
    except (RecordError, WindowError) as error:
        print(f"can-i-deploy: {error}", file=sys.stderr)
        return 2
    ok = bool(checks) and all(check["ok"] for check in checks)
    if args.json:
        print(json.dumps({"deploy": ok, "checks": checks}, indent=2))
    else:
        print("yes" if ok else "no")
        for check in checks:
            if not ok and check["ok"]:
                continue
            print(f"  {'ok' if check['ok'] else 'NO'}  {check['pair']}: {check['reason']}")
    return 0 if ok else 1
