"""A RabbitMQ node of our own, for fault tests that stop and start the broker.

The machine's shared broker (127.0.0.1:5672) is never stopped or restarted by a
test: other runs depend on it. This starts a second node of the same
``rabbitmq-server`` on another port, with its own node name, database and logs
under ``workdir``, and a config file of its own (the system one pins the
listener to 5672). ``stop_app``/``start_app`` give an outage with the node kept
(connections dropped, the port closed); ``stop`` ends it.

    with PrivateRabbit() as broker:
        url = broker.url            # rabbit://guest:guest@127.0.0.1:5681/
        broker.outage(30)           # the broker away for 30 s, under whatever load runs
"""

from __future__ import annotations

import os
import pathlib
import shutil
import socket
import subprocess
import tempfile
import time
import uuid

#: The server script Debian's ``rabbitmq-server`` wrapper runs as the rabbitmq user.
_SERVER_SCRIPT = "/usr/lib/rabbitmq/bin/rabbitmq-server"


def unavailable() -> str | None:
    """Why a private node cannot be started here, or None."""
    for tool in ("rabbitmq-server", "rabbitmqctl"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (apt-get install rabbitmq-server)"
    return None


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PrivateRabbit:
    """A ``rabbitmq-server`` node on ``port`` (default: a free one), everything in a temporary directory."""

    def __init__(self, port: int | None = None, max_files: int | None = None) -> None:
        """``max_files``: the node's file descriptor limit (each connection is one;
        1,000 compute services need well over 1,024)."""
        self.max_files = max_files
        self.port = port or free_port()
        self.dist_port = free_port()
        self.node = f"fault{uuid.uuid4().hex[:6]}@localhost"
        # Directly under /tmp: the rabbitmq user must reach it (pytest's basetemp is 0700 root).
        self.workdir = pathlib.Path(tempfile.mkdtemp(prefix=f"nova-rabbit-{self.port}-"))
        self.url = f"rabbit://guest:guest@127.0.0.1:{self.port}/"

    def _env(self) -> dict[str, str]:
        base = self.workdir
        return {
            **os.environ,
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_CONFIG_FILE": str(base / "rabbitmq.conf"),
            "RABBITMQ_MNESIA_BASE": str(base / "mnesia"),
            "RABBITMQ_LOG_BASE": str(base / "log"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(base / "enabled_plugins"),
            "RABBITMQ_PID_FILE": str(base / "pid"),
        }

    def _ctl(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["rabbitmqctl", "-n", self.node, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=self._env(),
        )

    def start(self, timeout: float = 90) -> PrivateRabbit:
        self.workdir.mkdir(parents=True, exist_ok=True)
        # guest may connect over loopback only, which is all we use.
        (self.workdir / "rabbitmq.conf").write_text(f"listeners.tcp.local = 127.0.0.1:{self.port}\n")
        if os.geteuid() == 0:
            # Debian's rabbitmq-server drops to the rabbitmq user, which must own its directories.
            shutil.chown(self.workdir, "rabbitmq", "rabbitmq")
            for path in self.workdir.iterdir():
                shutil.chown(path, "rabbitmq", "rabbitmq")
        command = ["rabbitmq-server", "-detached"]
        if self.max_files and os.geteuid() == 0 and os.path.exists(_SERVER_SCRIPT):
            # Debian's wrapper switches to the rabbitmq user through su, whose
            # session limits put the file limit back to 1,024: switch with
            # setpriv instead, which keeps the limit we raise.
            command = [
                "setpriv",
                "--reuid",
                "rabbitmq",
                "--regid",
                "rabbitmq",
                "--init-groups",
                "env",
                "HOME=/var/lib/rabbitmq",
                _SERVER_SCRIPT,
                "-detached",
            ]
        subprocess.run(
            command,
            env=self._env(),
            check=True,
            timeout=60,
            cwd=self.workdir,
            preexec_fn=self._raise_file_limit if self.max_files else None,
        )
        self._wait(True, timeout)
        return self

    def _raise_file_limit(self) -> None:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        wanted = self.max_files or soft
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, max(hard, wanted)))

    def _wait(self, up: bool, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while _listening(self.port) != up:
            if time.monotonic() > deadline:
                log = sorted((self.workdir / "log").glob("*.log"))
                tail = log[0].read_text()[-3000:] if log else "(no log)"
                raise RuntimeError(f"RabbitMQ node {self.node} did not {'start' if up else 'stop'}:\n{tail}")
            time.sleep(0.2)

    def outage(self, seconds: float) -> None:
        """Stop the broker application for ``seconds`` (the node stays), then start it again."""
        self._ctl("stop_app")
        self._wait(False, 60)
        time.sleep(seconds)
        self._ctl("start_app")
        self._wait(True, 60)

    def stop(self) -> None:
        self._ctl("stop")
        try:
            self._wait(False, 30)
        finally:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> PrivateRabbit:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
