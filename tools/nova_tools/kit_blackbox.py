"""Start a compute service, run the contract kit against it black-box, stop it.

The main job of the repository on the embedded default:

    tools/kit-blackbox                       # fake driver, kombu+memory, one process
    tools/kit-blackbox --driver libvirt --config-file libvirt.conf
    tools/kit-blackbox --transport-url rabbit://guest:guest@127.0.0.1:5672/

On ``kombu+memory://`` (kombu's in-process broker) the service runs in this
process; on any other transport it runs as its own ``nova-compute-<driver>``
process (the kit's black-box fixture, nova_contract_tests.blackbox), started
and stopped here. Either way the kit reaches it only over RPC, by transport
URL and host name, and plays the core on a report topic of the service's own,
so the report channel is checked too. The service serves the driver's test
hooks (``[compute] enable_test_hooks``), so the kit also tests the crashed
state, power-state drift, lifecycle events and leaks; ``--no-test-hooks`` runs
it as in production. Extra arguments after ``--`` go to
``nova-contract-tests run`` (``-- --json-report r.json --matrix m.html``).
Exit status: the kit's.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import uuid

#: Short intervals, so the kit's report checks take seconds.
HEARTBEAT_INTERVAL, REPORT_INTERVAL = 0.5, 1.0


def kit_command(args: argparse.Namespace, host: str, report_topic: str, kit_args: list[str]) -> list[str]:
    target = ["--transport-url", args.transport_url, "--host", host, "--report-topic", report_topic]
    return ["run", *target, *kit_args]


def run_in_process(args: argparse.Namespace, host: str, kit_args: list[str]) -> int:
    from nova_common import messaging

    messaging.init_process()  # before oslo.messaging is imported
    from nova_common.scaffold.cmd import build_service
    from nova_contract_tests.cli import main as kit_main

    report_topic = f"kit-report-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as tmp:
        config = os.path.join(tmp, "compute.conf")
        with open(config, "w") as handle:
            handle.write(
                f"[DEFAULT]\nhost = {host}\ntransport_url = {args.transport_url}\n"
                f"[compute]\nconductor_topic = {report_topic}\nheartbeat_interval = {HEARTBEAT_INTERVAL}\n"
                f"resource_report_interval = {REPORT_INTERVAL}\nregistration_timeout = 2\n"
                f"enable_test_hooks = {args.test_hooks}\n"
            )
        argv = [*[f"--config-file={path}" for path in args.config_file], f"--config-file={config}"]
        service = build_service(argv, driver=args.driver, prog="kit-blackbox")
        service.start()
        try:
            return kit_main(kit_command(args, host, report_topic, kit_args))
        finally:
            service.stop()


def run_as_process(args: argparse.Namespace, host: str, kit_args: list[str]) -> int:
    from nova_contract_tests.blackbox import ComputeServiceProcess
    from nova_contract_tests.cli import main as kit_main

    with tempfile.TemporaryDirectory() as tmp:
        service = ComputeServiceProcess(
            f"nova-compute-{args.driver}",
            args.transport_url,
            tmp,
            host=host,
            heartbeat_interval=HEARTBEAT_INTERVAL,
            report_interval=REPORT_INTERVAL,
            extra_config=f"[compute]\nenable_test_hooks = {args.test_hooks}\n",
            extra_args=tuple(f"--config-file={path}" for path in args.config_file),
        )
        try:
            service.start(timeout=120)
        except (FileNotFoundError, RuntimeError) as error:
            print(f"kit-blackbox: {error}", file=sys.stderr)
            return 2
        try:
            return kit_main(kit_command(args, host, service.report_topic, kit_args))
        finally:
            if args.verbose:
                sys.stderr.write("".join(f"[compute] {line}" for line in service.output))
            service.stop(timeout=60)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--driver", default="fake", help="driver entry-point name (default: fake)")
    parser.add_argument("--config-file", action="append", default=[], help="driver config file (repeatable)")
    parser.add_argument("--transport-url", default="kombu+memory:////", help="default: kombu+memory:////")
    parser.add_argument("--host", default=None, help="compute host name (default: a fresh one)")
    parser.add_argument("-v", "--verbose", action="store_true", help="show the compute service's log")
    parser.add_argument(
        "--no-test-hooks",
        dest="test_hooks",
        action="store_false",
        help="do not serve the driver's test hooks (run the service as in production)",
    )
    args, rest = parser.parse_known_args(argv)
    kit_args = [a for a in rest if a != "--"] or ["--print-matrix"]
    host = args.host or f"kit-{args.driver}-{uuid.uuid4().hex[:6]}"
    if args.transport_url.startswith("kombu+memory"):
        return run_in_process(args, host, kit_args)
    return run_as_process(args, host, kit_args)
