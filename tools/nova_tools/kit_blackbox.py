"""Start a compute service, run the contract kit against it black-box, stop it.

The main job of the repository on the embedded default:

    tools/kit-blackbox                       # fake driver, kombu+memory, one process
    tools/kit-blackbox --driver libvirt --config-file libvirt.conf
    tools/kit-blackbox --transport-url rabbit://guest:guest@127.0.0.1:5672/

On ``kombu+memory://`` (kombu's in-process broker) the service runs in this
process; on any other transport it runs as its own ``nova-compute-<driver>``
process, started and stopped here. Either way the kit reaches it only over
RPC, by transport URL and host name. Extra arguments after ``--`` go to
``nova-contract-tests run`` (``-- --json-report r.json --matrix m.html``).
Exit status: the kit's.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import uuid


def run_in_process(args: argparse.Namespace, host: str, kit_args: list[str]) -> int:
    import nova_common  # noqa: F401  (threading backend before oslo.messaging)
    from nova_common.scaffold.cmd import build_service
    from nova_contract_tests.cli import main as kit_main

    argv = [f"--config-file={path}" for path in args.config_file]
    service = build_service(argv, driver=args.driver, prog="kit-blackbox")
    service.conf.set_override("host", host)
    service.host = host
    service.start()
    try:
        return kit_main(["run", "--transport-url", args.transport_url, "--host", host, *kit_args])
    finally:
        service.stop()


def run_as_process(args: argparse.Namespace, host: str, kit_args: list[str]) -> int:
    from nova_contract_tests.cli import main as kit_main

    script = shutil.which(f"nova-compute-{args.driver}") or shutil.which(
        f"nova-compute-{args.driver}", path=os.path.dirname(sys.executable)
    )
    if script is None:
        print(f"kit-blackbox: nova-compute-{args.driver} is not installed", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        config = os.path.join(tmp, "compute.conf")
        with open(config, "w") as handle:
            handle.write(f"[DEFAULT]\nhost = {host}\ntransport_url = {args.transport_url}\n")
        command = [script, *[f"--config-file={p}" for p in args.config_file], f"--config-file={config}"]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        serving = threading.Event()

        def relay() -> None:
            for line in process.stdout:
                if "serving host" in line:
                    serving.set()
                if args.verbose:
                    sys.stderr.write(f"[compute] {line}")

        threading.Thread(target=relay, daemon=True).start()
        try:
            if not serving.wait(timeout=120):
                print(f"kit-blackbox: {script} did not start (exit {process.poll()})", file=sys.stderr)
                return 2
            return kit_main(["run", "--transport-url", args.transport_url, "--host", host, *kit_args])
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--driver", default="fake", help="driver entry-point name (default: fake)")
    parser.add_argument("--config-file", action="append", default=[], help="driver config file (repeatable)")
    parser.add_argument("--transport-url", default="kombu+memory:////", help="default: kombu+memory:////")
    parser.add_argument("--host", default=None, help="compute host name (default: a fresh one)")
    parser.add_argument("-v", "--verbose", action="store_true", help="show the compute service's log")
    args, rest = parser.parse_known_args(argv)
    kit_args = [a for a in rest if a != "--"] or ["--print-matrix"]
    host = args.host or f"kit-{args.driver}-{uuid.uuid4().hex[:6]}"
    if args.transport_url.startswith("kombu+memory"):
        return run_in_process(args, host, kit_args)
    return run_as_process(args, host, kit_args)
