"""The compatibility matrix: the kit black-box for every (core, driver) release pair in the window.

    tools/compat-matrix                          # every pair in the window not yet in the results
    tools/compat-matrix --rerun                  # every pair again
    tools/compat-matrix --core 1.1.0 --driver nova-driver-fake

For each pair inside the support window (:mod:`nova_tools.compat_window`), from
the release records only (:mod:`nova_tools.release_envs`):

- the driver's virtualenv: the driver release and its base nova-common;
- the kit's virtualenv: the core release and the kit release paired with it;
- the driver's ``nova-compute-<name>`` started from the driver's virtualenv
  over RabbitMQ (a vhost of this run's own), the kit run black-box against it
  from the kit's virtualenv (:mod:`nova_tools.kit_pair`), its JSON report kept.

Results under ``--results`` (default ``tools/compat/``): ``matrix.json`` (what
can-i-deploy reads), ``matrix.md``, ``matrix.html`` (pairs as a grid, each
cell linking to its report) and ``reports/<core>--<driver>-<version>.json``.
A pair already in ``matrix.json`` with the same source commits is kept
unless ``--rerun``. Exit status 0 when every pair in the window passed.
"""

from __future__ import annotations

import argparse
import datetime
import html
import json
import pathlib
import subprocess
import sys
import tempfile
import time
import tomllib
from typing import Any

from nova_tools import broker
from nova_tools.compat_window import (
    DEFAULT_WINDOW,
    Window,
    WindowError,
    base_core,
    cores,
    drivers,
    kit_for,
    load_window,
    pairs_in_window,
)
from nova_tools.release_envs import DEFAULT_WORK_DIR, ReleaseEnvs, script
from nova_tools.release_records import CORE_DISTRIBUTION, Record, RecordError, load_records, repo_root

DEFAULT_RESULTS = pathlib.Path(__file__).resolve().parent.parent / "compat"
DEFAULT_DRIVER_CONFIG = DEFAULT_RESULTS / "drivers.toml"
KIT_PAIR = pathlib.Path(__file__).resolve().parent / "kit_pair.py"
PASSED, FAILED, ERROR = "passed", "failed", "error"


def cell_key(core: str, driver: str, driver_version: str) -> str:
    return f"{CORE_DISTRIBUTION}=={core}|{driver}=={driver_version}"


def report_name(core: str, driver: str, driver_version: str) -> str:
    return f"reports/{core}--{driver}-{driver_version}.json"


def sources(records: list[Record], core: Record, driver: Record) -> dict[str, str | None]:
    base, kit = base_core(records, driver), kit_for(records, core)
    return {
        "core": core.source_commit,
        "driver": driver.source_commit,
        "driver_base": base.source_commit if base else None,
        "kit": kit.source_commit if kit else None,
    }


def run_pair(
    records: list[Record],
    envs: ReleaseEnvs,
    core: Record,
    driver: Record,
    transport_url: str,
    results: pathlib.Path,
    driver_config: str = "",
) -> dict[str, Any]:
    """Run the kit of ``core``'s time against ``driver`` (its service's config plus
    ``driver_config``); the matrix cell."""
    base, kit = base_core(records, driver), kit_for(records, core)
    cell: dict[str, Any] = {
        "core": core.version,
        "driver": driver.distribution,
        "driver_name": driver.drivers[0],
        "driver_version": driver.version,
        "driver_base": base.version if base else None,
        "kit": kit.version if kit else None,
        "sources": sources(records, core, driver),
        "ran_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }
    if kit is None:
        return {**cell, "status": ERROR, "reason": f"no nova-contract-tests release recorded for {core.spec}"}
    assert base is not None  # pairs_in_window keeps only drivers with a base
    started = time.monotonic()
    report_path = results / report_name(core.version, driver.distribution, driver.version)
    report_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        driver_env = envs.env([base, driver])
        kit_env = envs.env([core, kit])
        compute = script(driver_env, f"nova-compute-{driver.drivers[0]}")
    except RecordError as error:
        return {**cell, "status": ERROR, "reason": str(error)}
    with tempfile.TemporaryDirectory(prefix="compat-pair-") as workdir:
        extra = pathlib.Path(workdir, "driver.conf")
        extra.write_text(driver_config)
        command = [
            str(kit_env / "bin" / "python"),
            str(KIT_PAIR),
            "--driver-script",
            str(compute),
            "--transport-url",
            transport_url,
            "--workdir",
            workdir,
            "--json-report",
            str(report_path),
            "--extra-config",
            str(extra),
        ]
        result = subprocess.run(command, capture_output=True, text=True, timeout=1800)
        log = pathlib.Path(workdir, "compute.log")
        compute_log = log.read_text() if log.exists() else ""
    cell["duration_s"] = round(time.monotonic() - started, 1)
    if not report_path.exists():
        tail = (result.stdout + result.stderr)[-1500:] + compute_log[-1500:]
        return {
            **cell,
            "status": ERROR,
            "reason": f"the kit wrote no report (exit {result.returncode}): {tail}",
        }
    report = json.loads(report_path.read_text())
    failed = [
        {"id": test["id"], "message": test.get("message") or ""}
        for test in report.get("tests", [])
        if test.get("outcome") == FAILED
    ]
    cell.update(
        status=PASSED if result.returncode == 0 and not failed and report.get("tests") else FAILED,
        summary=report.get("summary"),
        failed_checks=failed,
        report=report_name(core.version, driver.distribution, driver.version),
        kit_reported={
            "kit_version": report.get("kit_version"),
            "driver": report.get("driver", {}).get("version"),
        },
    )
    if cell["status"] == FAILED and not failed:
        cell["reason"] = f"the kit exited {result.returncode} with no failed check: {result.stderr[-800:]}"
    return cell


def load_matrix(results: pathlib.Path) -> dict[str, Any]:
    path = results / "matrix.json"
    if not path.exists():
        return {"cells": [], "outside_window": []}
    try:
        return json.loads(path.read_text())
    except ValueError as error:
        raise RecordError(f"matrix: {path} is not JSON: {error}") from error


def write_matrix(results: pathlib.Path, matrix: dict[str, Any]) -> None:
    results.mkdir(parents=True, exist_ok=True)
    (results / "matrix.json").write_text(json.dumps(matrix, indent=2, sort_keys=True) + "\n")
    (results / "matrix.md").write_text(render_markdown(matrix))
    (results / "matrix.html").write_text(render_html(matrix))


def _columns(matrix: dict[str, Any]) -> list[tuple[str, str]]:
    seen = {(c["driver"], c["driver_version"]) for c in matrix["cells"]}
    seen |= {(c["driver"], c["driver_version"]) for c in matrix.get("outside_window", [])}
    return sorted(seen, key=lambda dv: (dv[0], tuple(int(p) for p in dv[1].split("."))))


def _rows(matrix: dict[str, Any]) -> list[str]:
    cores = {c["core"] for c in matrix["cells"]} | {c["core"] for c in matrix.get("outside_window", [])}
    return sorted(cores, key=lambda v: tuple(int(p) for p in v.split(".")), reverse=True)


def _lookup(matrix: dict[str, Any]) -> dict[tuple[str, str, str], dict[str, Any]]:
    found = {
        (c["core"], c["driver"], c["driver_version"]): {"status": "outside", **c}
        for c in matrix.get("outside_window", [])
    }
    found.update({(c["core"], c["driver"], c["driver_version"]): c for c in matrix["cells"]})
    return found


SYMBOL = {PASSED: "pass", FAILED: "FAIL", ERROR: "ERROR", "outside": "outside window"}


def render_markdown(matrix: dict[str, Any]) -> str:
    columns, cells = _columns(matrix), _lookup(matrix)
    lines = [
        "# Compatibility matrix",
        "",
        f"Generated {matrix.get('generated', '?')} by `tools/compat-matrix`; support window "
        f"{json.dumps(matrix.get('window', {}))} (tools/compat/window.toml). Rows: nova-common; "
        "columns: driver releases; each cell: the kit black-box, the kit of the core's time.",
        "",
        "| nova-common | " + " | ".join(f"{d} {v}" for d, v in columns) + " |",
        "|---|" + "---|" * len(columns),
    ]
    for core in _rows(matrix):
        row = []
        for driver, version in columns:
            cell = cells.get((core, driver, version))
            if cell is None:
                row.append("not tested")
            elif cell.get("report"):
                row.append(f"[{SYMBOL[cell['status']]}]({cell['report']})")
            else:
                row.append(SYMBOL[cell["status"]])
        lines.append(f"| {core} | " + " | ".join(row) + " |")
    failing = [c for c in matrix["cells"] if c["status"] != PASSED]
    if failing:
        lines += ["", "## Not passing", ""]
        for cell in failing:
            checks = ", ".join(check["id"] for check in cell.get("failed_checks", [])) or cell.get(
                "reason", ""
            )
            lines.append(
                f"- nova-common {cell['core']} x {cell['driver']} {cell['driver_version']}: {checks}"
            )
    return "\n".join(lines) + "\n"


def render_html(matrix: dict[str, Any]) -> str:
    columns, cells = _columns(matrix), _lookup(matrix)
    colour = {PASSED: "#c8efc8", FAILED: "#f6c4c4", ERROR: "#f6dcaa", "outside": "#e4e4e4"}
    head = "".join(f"<th>{html.escape(d)}<br>{html.escape(v)}</th>" for d, v in columns)
    body = []
    for core in _rows(matrix):
        tds = []
        for driver, version in columns:
            cell = cells.get((core, driver, version))
            if cell is None:
                tds.append('<td title="never tested">not tested</td>')
                continue
            label = html.escape(SYMBOL[cell["status"]])
            title = html.escape(
                "; ".join(check["id"] for check in cell.get("failed_checks", [])) or cell.get("reason", "")
            )
            if cell.get("report"):
                label = f'<a href="{html.escape(cell["report"])}">{label}</a>'
            tds.append(f'<td style="background:{colour[cell["status"]]}" title="{title}">{label}</td>')
        body.append(f"<tr><th>nova-common {html.escape(core)}</th>{''.join(tds)}</tr>")
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>Compatibility matrix</title>'
        "<style>table{border-collapse:collapse}td,th{border:1px solid #999;padding:4px 8px;"
        "text-align:center}</style></head><body>\n<h1>Compatibility matrix</h1>\n"
        f"<p>Generated {html.escape(matrix.get('generated', '?'))}; support window "
        f"{html.escape(json.dumps(matrix.get('window', {})))}. Each cell links to its kit report.</p>\n"
        f"<table><tr><th></th>{head}</tr>\n" + "\n".join(body) + "\n</table></body></html>\n"
    )


def load_driver_configs(path: pathlib.Path, overrides: list[str] | None = None) -> dict[str, str]:
    """Driver entry-point name -> config text, from ``drivers.toml`` and NAME=FILE overrides."""
    configs: dict[str, str] = {}
    if path.exists():
        try:
            data = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as error:
            raise RecordError(f"driver config: {path}: {error}") from error
        for name, section in data.items():
            if not isinstance(section, dict) or not isinstance(section.get("config", ""), str):
                raise RecordError(f"driver config: {path}: [{name}] config must be a string")
            configs[name] = section.get("config", "")
    for override in overrides or []:
        name, sep, file = override.partition("=")
        if not sep or not name:
            raise RecordError(f"--driver-config: {override!r} is not NAME=FILE")
        try:
            configs[name] = pathlib.Path(file).read_text()
        except OSError as error:
            raise RecordError(f"--driver-config: {name}: cannot read {file}: {error}") from error
    return configs


def build_matrix(
    root: pathlib.Path,
    window: Window,
    results: pathlib.Path,
    work_dir: pathlib.Path,
    transport_url: str,
    rerun: bool = False,
    only_cores: list[str] | None = None,
    only_drivers: list[str] | None = None,
    driver_configs: dict[str, str] | None = None,
    progress=print,
) -> dict[str, Any]:
    records = load_records(root)
    for distribution, found in ((CORE_DISTRIBUTION, cores(records)), ("any driver", drivers(records))):
        if not found:
            raise RecordError(f"no recorded releases of {distribution} (record them with tools/release)")
    inside, outside = pairs_in_window(records, window)
    previous = {
        cell_key(c["core"], c["driver"], c["driver_version"]): c for c in load_matrix(results)["cells"]
    }
    envs = ReleaseEnvs(root, work_dir)
    cells = []
    todo = []
    for core, driver in inside:
        key = cell_key(core.version, driver.distribution, driver.version)
        wanted = (not only_cores or core.version in only_cores) and (
            not only_drivers or driver.distribution in only_drivers
        )
        kept = previous.get(key)
        if kept and kept.get("sources") == sources(records, core, driver) and not (rerun and wanted):
            cells.append(kept)
        elif wanted:
            todo.append((core, driver))
    if todo:
        with broker.fresh_vhost(transport_url, "compat") as url:
            for core, driver in todo:
                progress(f"compat-matrix: nova-common {core.version} x {driver.spec} ...")
                config = (driver_configs or {}).get(driver.drivers[0], "")
                cell = run_pair(records, envs, core, driver, url, results, config)
                progress(
                    f"compat-matrix:   {cell['status']}"
                    + (f" ({cell['reason'][:300]})" if cell.get("reason") else "")
                )
                cells.append(cell)
    matrix = {
        "generated": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "window": window.as_dict(),
        "cells": sorted(cells, key=lambda c: cell_key(c["core"], c["driver"], c["driver_version"])),
        "outside_window": outside,
    }
    write_matrix(results, matrix)
    return matrix


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="tools/compat-matrix", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--results", type=pathlib.Path, default=DEFAULT_RESULTS, help="default: tools/compat/"
    )
    parser.add_argument(
        "--window", type=pathlib.Path, default=DEFAULT_WINDOW, help="default: tools/compat/window.toml"
    )
    parser.add_argument(
        "--work-dir", type=pathlib.Path, default=DEFAULT_WORK_DIR, help="wheel and venv cache"
    )
    parser.add_argument("--transport-url", default=broker.DEFAULT_URL, help=f"default: {broker.DEFAULT_URL}")
    parser.add_argument(
        "--rerun", action="store_true", help="run the selected pairs again even when recorded"
    )
    parser.add_argument("--core", action="append", help="only this nova-common version (repeatable)")
    parser.add_argument("--driver", action="append", help="only this driver distribution (repeatable)")
    parser.add_argument(
        "--driver-config",
        action="append",
        metavar="NAME=FILE",
        help="config for driver NAME's compute service (default: tools/compat/drivers.toml)",
    )
    args = parser.parse_args(argv)
    try:
        matrix = build_matrix(
            repo_root(),
            load_window(args.window),
            args.results,
            args.work_dir,
            args.transport_url,
            rerun=args.rerun,
            only_cores=args.core,
            only_drivers=args.driver,
            driver_configs=load_driver_configs(DEFAULT_DRIVER_CONFIG, args.driver_config),
        )
    except (RecordError, WindowError, broker.BrokerError) as error:
        print(f"compat-matrix: {error}", file=sys.stderr)
        return 2
    bad = [c for c in matrix["cells"] if c["status"] != PASSED]
    print(
        f"compat-matrix: {len(matrix['cells'])} pair(s) in the window, {len(bad)} not passing, "
        f"{len(matrix['outside_window'])} outside; {args.results / 'matrix.html'}"
    )
    return 1 if bad else 0
