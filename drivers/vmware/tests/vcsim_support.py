"""Starting and stopping vcsim (tools/vcsim/run) for the tests."""

from __future__ import annotations

import os
import pathlib
import shutil
import signal
import socket
import subprocess
import time
from urllib.parse import urlparse

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

    def start(self) -> Vcsim:
        self.process = subprocess.Popen(
            [RUN, "-port", str(self.port), "-vm", str(self.vms)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline().strip()  # the first start builds it (~20 s)
        if not line.startswith("https://"):
            self.process.kill()
            raise RuntimeError(f"vcsim did not start: {line!r} {self.process.stderr.read()[-2000:]}")
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
        self.process = None

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def config(self, password: str | None = None) -> str:
        parsed = urlparse(self.url)
        return (
            "[vmware]\n"
            f"host_ip = {parsed.hostname}\nhost_port = {parsed.port}\n"
            f"host_username = {parsed.username}\nhost_password = {password or parsed.password}\n"
            "insecure = true\ntask_poll_interval = 0.02\nreconnect_interval = 0\n"
        )
