"""A driver's compute service in its own process, for black-box runs of the kit.

The fixture every driver package's tests use (and ``tools/kit-blackbox``)::

    with ComputeServiceProcess("nova-compute-foo", RABBIT_URL, tmp_path, extra_config=FOO_CONF) as service:
        report = run_kit(service.kit_config())

It writes a config giving the service a fresh host name, the transport, and a
report topic of its own (where the kit plays the core, so the report channel
is checked too), starts the console script, waits until it serves, keeps its
output, and stops it with SIGTERM (SIGKILL if it does not stop in time). The
child also gets SIGTERM if the test process dies (Linux).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import uuid
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlparse

from nova_contract_tests.config import KitConfig


def console_script(name: str) -> str | None:
    """The path of console script ``name`` (next to this Python first), or None."""
    return shutil.which(name, path=os.path.dirname(sys.executable)) or shutil.which(name)


def broker_unavailable(url: str) -> str | None:
    """Why the broker of transport ``url`` does not answer here, or None
    (always None for the embedded ``kombu+memory`` transport)."""
    parsed = urlparse(url)
    if parsed.scheme.startswith("kombu+memory"):
        return None
    host, port = parsed.hostname or "127.0.0.1", parsed.port or 5672
    try:
        with socket.create_connection((host, port), timeout=1):
            return None
    except OSError as error:
        return f"no broker at {host}:{port} ({error})"


def _terminate_with_parent() -> list[str]:
    # util-linux setpriv: the child gets SIGTERM when the test process dies, so a
    # killed test run leaves no compute service behind. (Not a preexec_fn: that
    # forces fork(), which eventlet, imported by oslo.messaging, warns about.)
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "TERM"] if setpriv and sys.platform.startswith("linux") else []


class ComputeServiceProcess:
    """One ``nova-compute-<driver>`` process serving a fresh host."""

    def __init__(
        self,
        script: str,
        transport_url: str,
        workdir: str | os.PathLike[str],
        extra_config: str = "",
        host: str | None = None,
        heartbeat_interval: float = 0.5,
        report_interval: float = 1.0,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.script = script
        self.transport_url = transport_url
        self.host = host or f"kit-{uuid.uuid4().hex[:8]}"
        self.report_topic = f"kit-report-{uuid.uuid4().hex[:8]}"
        self.config = Path(workdir) / f"{self.host}.conf"
        self.config.write_text(
            f"[DEFAULT]\nhost = {self.host}\ntransport_url = {transport_url}\n"
            f"[compute]\nconductor_topic = {self.report_topic}\nheartbeat_interval = {heartbeat_interval}\n"
            f"resource_report_interval = {report_interval}\nregistration_timeout = 2\n"
            f"hypervisor_retry_interval = 1\n{extra_config}"
        )
        self.extra_args = extra_args
        self.output: list[str] = []
        self.process: subprocess.Popen[str] | None = None

    def start(self, timeout: float = 60) -> ComputeServiceProcess:
        """Start the service and wait until it serves its host."""
        path = console_script(self.script) if os.sep not in self.script else self.script
        if path is None:
            raise FileNotFoundError(f"script: {self.script!r} is not installed")
        self.process = subprocess.Popen(
            [*_terminate_with_parent(), path, f"--config-file={self.config}", *self.extra_args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        serving = threading.Event()

        def relay() -> None:  # keep reading so the child never blocks on a full pipe
            assert self.process is not None and self.process.stdout is not None
            for line in self.process.stdout:
                self.output.append(line)
                if "serving host" in line:
                    serving.set()

        threading.Thread(target=relay, daemon=True).start()
        if not serving.wait(timeout=timeout):
            self.stop()
            raise RuntimeError(f"{self.script} did not start: {''.join(self.output[-20:])}")
        return self

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 30) -> int | None:
        """SIGTERM, then SIGKILL after ``timeout``; returns the exit status."""
        if self.process is None:
            return None
        process, self.process = self.process, None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        return process.returncode

    def kit_config(self, **overrides: Any) -> KitConfig:
        """A black-box KitConfig for this service, report channel included."""
        values: dict[str, Any] = dict(
            transport_url=self.transport_url, host=self.host, report_topic=self.report_topic, rpc_timeout=60
        )
        values.update(overrides)
        return KitConfig(**values)

    def __enter__(self) -> ComputeServiceProcess:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
