"""Starting and stopping vcsim (tools/vcsim/run) for the tests."""

from __future__ import annotations

import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from urllib.parse import urlparse

from nova_contract_tests.blackbox import ComputeServiceProcess

REPO_ROOT = pathlib.Path(__file__).resolve().parents[3]
RUN = os.environ.get("VCSIM_RUN", str(REPO_ROOT / "tools" / "vcsim" / "run"))


def unavailable() -> str | None:
    """Why vcsim cannot run here, or None."""
    if not os.path.exists(RUN):
        return f"vcsim runner not found at {RUN} (set VCSIM_RUN, or run from the monorepo)"
    binary = pathlib.Path(RUN).parent / "bin" / "vcsim"
    if not binary.exists():
        if shutil.which("go") is None:
            return "go is not installed (apt-get install golang-go)"
        if not os.path.isdir("/usr/share/gocode/src/github.com/vmware/govmomi/simulator"):
            return "govmomi is not installed (apt-get install golang-github-vmware-govmomi-dev)"
    return None


class Vcsim:
    """One vcsim process on 127.0.0.1; restartable on the same port."""

    def __init__(self, vms: int = 1) -> None:
        self.vms = vms
        self.port = 0
        self.url = ""
        self.process: subprocess.Popen[str] | None = None
        self.tmpdir: str | None = None

    def start(self) -> Vcsim:
        # vcsim keeps its datastores in $TMPDIR/govcsim-*; a killed vcsim cannot remove
        # them, so each run gets its own TMPDIR, removed when it stops or is killed.
        self.tmpdir = tempfile.mkdtemp(prefix="nova-vcsim-")
        # stderr to a file, not a pipe nobody drains (a full pipe would block vcsim).
        stderr_path = os.path.join(self.tmpdir, "vcsim.stderr")
        with open(stderr_path, "w") as stderr:
            # -exit-on-stdin-eof: vcsim stops when this process dies (its stdin pipe closes).
            self.process = subprocess.Popen(
                [RUN, "-port", str(self.port), "-vm", str(self.vms), "-exit-on-stdin-eof"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
                env={**os.environ, "TMPDIR": self.tmpdir},
            )
        assert self.process.stdout is not None
        line = self.process.stdout.readline().strip()  # the first start builds it (~20 s)
        if not line.startswith("https://"):
            self.process.kill()
            self.process.wait()
            with open(stderr_path) as stderr:
                why = stderr.read()[-2000:]
            self.kill()
            raise RuntimeError(f"vcsim did not start: {line!r} {why}")
        self.url = line
        self.port = urlparse(line).port or 0
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return self
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._close_pipes()
        self.process = None
        self._remove_tmpdir()

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self._close_pipes()
            self.process = None
        self._remove_tmpdir()

    def _close_pipes(self) -> None:
        if self.process is not None:
            for pipe in (self.process.stdin, self.process.stdout):
                if pipe is not None:
                    pipe.close()

    def _remove_tmpdir(self) -> None:
        if self.tmpdir is not None:
            shutil.rmtree(self.tmpdir, ignore_errors=True)
            self.tmpdir = None

    def config(self, password: str | None = None) -> str:
        parsed = urlparse(self.url)
        return (
            "[vmware]\n"
            f"host_ip = {parsed.hostname}\nhost_port = {parsed.port}\n"
            f"host_username = {parsed.username}\nhost_password = {password or parsed.password}\n"
            "insecure = true\ntask_poll_interval = 0.02\nreconnect_interval = 0\n"
        )


RABBIT_URL = os.environ.get("RABBIT_URL", "rabbit://guest:guest@127.0.0.1:5672/")


def rabbit_unavailable(url: str = RABBIT_URL) -> str | None:
    """Why the RabbitMQ of ``url`` cannot be used here, or None."""
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 5672), timeout=1):
            return None
    except OSError as error:
        return f"no RabbitMQ at {parsed.hostname}:{parsed.port or 5672} ({error})"


def compute_script() -> str | None:
    return shutil.which("nova-compute-vmware") or shutil.which(
        "nova-compute-vmware", path=os.path.dirname(sys.executable)
    )


class ComputeProcess(ComputeServiceProcess):
    """A ``nova-compute-vmware`` process against a vcsim, serving a unique host over RabbitMQ,
    built on the kit's black-box fixture (its report topic is the kit's to serve).

    Its output (stdout and stderr, every log line) is kept in :attr:`output`."""

    def __init__(self, sim: Vcsim, workdir: pathlib.Path, debug: bool = False, password: str | None = None):
        self.sim = sim
        super().__init__(
            "nova-compute-vmware",
            RABBIT_URL,
            workdir,
            extra_config=f"[DEFAULT]\ndebug = {str(debug).lower()}\n" + sim.config(password=password),
            host=f"vmware-kit-{uuid.uuid4().hex[:8]}",
            heartbeat_interval=5,
            report_interval=5,
        )
