"""One pairing of the compatibility matrix, run by the kit's own virtualenv.

    <kit venv>/bin/python kit_pair.py --driver-script <driver venv>/bin/nova-compute-fake \
        --transport-url rabbit://... --workdir DIR --json-report report.json

Runs with nothing but the installed kit (and the nova-common it was installed
with), never nova_tools: the compute service comes from the driver's
virtualenv, the kit from the core's. Where the installed kit ships the
black-box fixture (``nova_contract_tests.blackbox.ComputeServiceProcess``,
with a report topic of its own) it is used; an older kit gets the service
started here and runs without the report-channel checks. Exit status: the kit's;
2 when the service did not start.
"""

from __future__ import annotations

import argparse
import dataclasses
import pathlib
import subprocess
import sys
import threading
import uuid


def kit_knows_report_topic() -> bool:
    from nova_contract_tests.config import KitConfig

    return "report_topic" in {field.name for field in dataclasses.fields(KitConfig)}


def run_kit(transport_url: str, host: str, report_topic: str | None, json_report: str) -> int:
    from nova_contract_tests.cli import main as kit_main

    argv = ["run", "-q", "--transport-url", transport_url, "--host", host, "--json-report", json_report]
    if report_topic and kit_knows_report_topic():
        argv += ["--report-topic", report_topic]
    return kit_main(argv)


def extra_config(args: argparse.Namespace) -> str:
    return pathlib.Path(args.extra_config).read_text() if args.extra_config else ""


def with_fixture(args: argparse.Namespace) -> int:
    from nova_contract_tests.blackbox import ComputeServiceProcess

    service = ComputeServiceProcess(
        args.driver_script, args.transport_url, args.workdir, extra_config=extra_config(args)
    )
    try:
        service.start(timeout=120)
    except (RuntimeError, FileNotFoundError) as error:
        print(f"kit_pair: {error}", file=sys.stderr)
        return 2
    try:
        return run_kit(args.transport_url, service.host, service.report_topic, args.json_report)
    finally:
        service.stop()
        pathlib.Path(args.workdir, "compute.log").write_text("".join(service.output))


def without_fixture(args: argparse.Namespace) -> int:
    host = f"kit-{uuid.uuid4().hex[:8]}"
    config = pathlib.Path(args.workdir) / f"{host}.conf"
    config.write_text(f"[DEFAULT]\nhost = {host}\ntransport_url = {args.transport_url}\n{extra_config(args)}")
    log = open(pathlib.Path(args.workdir) / "compute.log", "w")  # noqa: SIM115 (closed below)
    process = subprocess.Popen(
        [args.driver_script, f"--config-file={config}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    serving = threading.Event()

    def relay() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            log.write(line)
            if "serving host" in line:
                serving.set()

    threading.Thread(target=relay, daemon=True).start()
    try:
        if not serving.wait(120):
            print(f"kit_pair: {args.driver_script} did not start (exit {process.poll()})", file=sys.stderr)
            return 2
        return run_kit(args.transport_url, host, None, args.json_report)
    finally:
        process.terminate()
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--driver-script", required=True)
    parser.add_argument("--transport-url", required=True)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--json-report", required=True)
    parser.add_argument("--extra-config", help="a file whose text is appended to the service's config")
    args = parser.parse_args()
    try:
        import nova_contract_tests.blackbox  # noqa: F401
    except ImportError:
        return without_fixture(args)
    return with_fixture(args)


if __name__ == "__main__":
    sys.exit(main())
