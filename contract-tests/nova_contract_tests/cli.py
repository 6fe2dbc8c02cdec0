"""``nova-contract-tests``: run the kit, render support matrices."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from nova_common import messaging
from nova_contract_tests.config import KitConfig

_SYMBOLS = {"passed": "PASS", "failed": "FAIL", "skipped": "SKIP"}


def _run(args: argparse.Namespace) -> int:
    from nova_contract_tests import matrix, report
    from nova_contract_tests.runner import run_kit

    config = KitConfig(
        driver=args.driver,
        config_files=args.config_file or [],
        transport_url=args.transport_url,
        host=args.host,
        rpc_timeout=args.rpc_timeout,
        operations=args.operation or [],
        report_topic=args.report_topic,
    )
    try:
        config.budgets = _budgets(args.budget or [])
        config.validate()
    except ValueError as error:
        print(f"nova-contract-tests: {error}", file=sys.stderr)
        return 2

    def progress(result) -> None:
        line = f"{_SYMBOLS[result.outcome]} {result.id}"
        if result.outcome != "passed" and result.message:
            line += f"  -- {result.message}"
        print(line, flush=True)

    kit_report = run_kit(config, progress=None if args.quiet else progress)
    summary = kit_report.summary
    driver = kit_report.driver
    print(
        f"\nnova-contract-tests {kit_report.kit_version} against {driver.get('name', '?')} "
        f"{driver.get('version', '')} ({kit_report.mode}) in {kit_report.duration_s:.2f}s"
    )
    for line in report.notes(kit_report):
        print(line)
    # A plain closing line CI readers understand.
    caused = summary["caused_by_earlier_failure"]
    print(
        f"{summary['passed']} passed, {summary['failed']} failed"
        + (f" (+{caused} caused by earlier failures)" if caused else "")
        + f", {summary['skipped']} skipped"
    )
    if args.json_report:
        report.write_json(kit_report, args.json_report)
    if args.junit:
        report.write_junit(kit_report, args.junit)
    if args.matrix:
        matrix.write_matrix([kit_report.to_dict()], args.matrix)
    if args.print_matrix:
        print()
        print(matrix.render_markdown([kit_report.to_dict()]))
    return 0 if kit_report.ok else 1


def _budgets(values: list[str]) -> dict[str, float]:
    """``["pause=30", ...]`` -> ``{"pause": 30.0}``; ValueError naming a bad value."""
    budgets: dict[str, float] = {}
    for value in values:
        name, sep, seconds = value.partition("=")
        try:
            if not sep:
                raise ValueError(value)
            budgets[name] = float(seconds)
        except ValueError:
            raise ValueError(f"--budget: {value!r} is not OPERATION=SECONDS") from None
    return budgets


def _matrix(args: argparse.Namespace) -> int:
    from nova_contract_tests import matrix

    try:
        reports = matrix.load_reports(args.reports)
        if args.output:
            matrix.write_matrix(reports, args.output)
        else:
            print(matrix.render_markdown(reports), end="")
    except (OSError, ValueError) as error:
        print(f"nova-contract-tests: {error}", file=sys.stderr)
        return 2
    return 0


def _list(args: argparse.Namespace) -> int:
    from nova_contract_tests.runner import SCENARIOS

    for scenario in SCENARIOS:
        gate = ",".join(scenario.capabilities) or "mandatory"
        if scenario.when_missing:
            gate = f"without {scenario.when_missing}"
        if scenario.hooks:
            gate += "; hook " + ",".join(scenario.hooks)
        print(f"{scenario.id:60} [{gate}] {scenario.doc}")
    return 0


def _vendor(args: argparse.Namespace) -> int:
    from nova_contract_tests import vendoring

    manifest = vendoring.vendor(args.dest)
    print(
        f"vendored nova-contract-tests {manifest['kit_version']} "
        f"(commit {manifest['source_commit'] or 'unknown'}, {len(manifest['files'])} files) "
        f"into {vendoring.vendor_dir(args.dest)}"
    )
    return 0


def _verify_vendored(args: argparse.Namespace) -> int:
    from nova_contract_tests import vendoring

    try:
        drift = vendoring.verify(args.dest)
    except FileNotFoundError as error:
        print(f"nova-contract-tests: {error}", file=sys.stderr)
        return 2
    for kind in ("added", "removed", "modified"):
        for name in getattr(drift, kind):
            print(f"{kind}: {name}")
    print(
        "vendored kit matches its manifest" if drift.clean else "vendored kit has drifted from its manifest"
    )
    return 0 if drift.clean else 1


def _guide(args: argparse.Namespace) -> int:
    from nova_contract_tests import guide

    if args.check:
        try:
            current = open(args.check).read()
        except OSError as error:
            print(f"nova-contract-tests: {error}", file=sys.stderr)
            return 2
        if current != guide.render():
            print(f"{args.check} is stale: run `{guide.REGENERATE}`", file=sys.stderr)
            return 1
        print(f"{args.check} is up to date")
        return 0
    if args.output:
        changed = guide.write(args.output)
        print(f"{'wrote' if changed else 'unchanged:'} {args.output}")
    else:
        print(guide.render(), end="")
    return 0


def _new_driver(args: argparse.Namespace) -> int:
    from nova_contract_tests import new_driver

    try:
        written = new_driver.generate(args.name, args.output, approvers=args.approver or None)
    except (ValueError, OSError) as error:
        print(f"nova-contract-tests: {error}", file=sys.stderr)
        return 2
    print(f"generated nova-driver-{new_driver.distribution_suffix(args.name)} in {args.output}:")
    for path in written:
        print(f"  {path}")
    print(f"next: pip install -e '{args.output}[test]' && pytest {args.output}/tests")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nova-contract-tests",
        description="Prove a virt driver honours the nova-common virt contract.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser(
        "run",
        help="run the kit in process (--driver) or black-box (--transport-url and --host)",
        description="Exit status 0 only when no test failed.",
    )
    where = run.add_argument_group("target")
    where.add_argument("--driver", help="in-process: entry-point name (fake, libvirt, ...) or module:Class")
    where.add_argument("--config-file", action="append", help="oslo.config file for the driver (repeatable)")
    where.add_argument("--transport-url", help="black-box: transport URL of a running compute service")
    where.add_argument("--host", help="black-box: the compute service's host name")
    where.add_argument(
        "--report-topic",
        help="black-box: the service's [compute] conductor_topic; the kit then plays the core on it "
        "and checks the report channel (no conductor may serve that topic)",
    )
    run.add_argument("--rpc-timeout", type=int, default=120, help="seconds to wait for one RPC answer")
    run.add_argument("--operation", action="append", help="only scenarios of this operation (repeatable)")
    run.add_argument(
        "--budget",
        action="append",
        metavar="OPERATION=SECONDS",
        help="replace the spec's time budget of an operation, for a slower hypervisor (repeatable; "
        "shown in the report)",
    )
    run.add_argument("--json-report", metavar="PATH", help="write the JSON report here")
    run.add_argument("--junit", metavar="PATH", help="write JUnit XML here")
    run.add_argument("--matrix", metavar="PATH", help="write the support matrix (.md or .html)")
    run.add_argument("--print-matrix", action="store_true", help="print the support matrix as Markdown")
    run.add_argument("-q", "--quiet", action="store_true", help="no per-test progress lines")
    run.set_defaults(func=_run)

    mat = sub.add_parser("matrix", help="render a support matrix from one or more JSON reports")
    mat.add_argument("reports", nargs="+", metavar="REPORT.json")
    mat.add_argument("-o", "--output", metavar="PATH", help=".md or .html (default: Markdown on stdout)")
    mat.set_defaults(func=_matrix)

    ven = sub.add_parser("vendor", help="copy the kit into DEST/_vendor/nova_contract_tests with a manifest")
    ven.add_argument("dest", metavar="DEST", help="the driver repository (or package directory)")
    ven.set_defaults(func=_vendor)

    ver = sub.add_parser("verify-vendored", help="report drift of a vendored kit; exit 1 on any")
    ver.add_argument("dest", metavar="DEST")
    ver.set_defaults(func=_verify_vendored)

    lst = sub.add_parser("list", help="list every scenario and what gates it")
    lst.set_defaults(func=_list)

    gui = sub.add_parser(
        "guide",
        help="write the driver author's guide (docs/driver-guide.md), generated from the spec and the kit",
    )
    gui.add_argument("-o", "--output", metavar="FILE", help="write it here (default: stdout)")
    gui.add_argument(
        "--check", metavar="FILE", help="exit 1 when FILE differs from the guide as generated now"
    )
    gui.set_defaults(func=_guide)

    new = sub.add_parser(
        "new-driver",
        help="generate a driver package that passes the kit's mandatory operations",
        description="NAME is a lower-case Python identifier: the entry-point name, the option group, "
        "package nova_driver_NAME and console script nova-compute-NAME.",
    )
    new.add_argument("name", metavar="NAME")
    new.add_argument("--output", required=True, metavar="DIR", help="a new or empty directory")
    new.add_argument(
        "--approver", action="append", metavar="ACCOUNT", help="an approver for OWNERS (repeatable)"
    )
    new.set_defaults(func=_new_driver)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # Before the commands import oslo.messaging (nova_common.messaging.process).
    messaging.init_process()
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
