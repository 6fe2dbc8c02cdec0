"""The upgrade harness: a deployment of recorded releases, as processes, upgraded in place.

    envs = ReleaseEnvs(root, work_dir)
    with Deployment(envs, records, core=core_100, workdir=tmp, transport_url=url) as cloud:
        cloud.start_core()                          # nova-common db sync, conductor, api
        cloud.add_compute(fake_100)                 # nova-compute-fake from its own venv
        server = cloud.create_server("web-1")       # through the REST API (the release's own CLI)
        cloud.upgrade_core(core_110)                # stop api + conductor, new venv, db sync, start
        cloud.upgrade_compute("fake-00", fake_110)  # one compute service at a time, same host

Each side runs from a virtualenv built from its release record
(:mod:`nova_tools.release_envs`): the core's holds nova-common[api] of the core
release; a compute service's holds the driver release and its base nova-common.
All of them talk over RabbitMQ on the vhost given (one of the run's own, see
:func:`nova_tools.broker.fresh_vhost`) and the core keeps its own database
(a SQLite file by default, or a PostgreSQL database of its own). The REST
client is the core release's ``nova-common`` command (``--format json``).
"""

from __future__ import annotations

import contextlib
import json
import pathlib
import re
import shutil
import signal
import sqlite3
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from types import TracebackType
from typing import Any

from nova_tools.compat_window import base_core
from nova_tools.release_envs import ReleaseEnvs, script
from nova_tools.release_records import Record

#: Seconds between the conductor's power syncs: short, so an instance a compute service lost
#: (vanished from its hypervisor) shows as ERROR within seconds (see settle()).
POWER_SYNC_INTERVAL = 2.0
#: The actions of the REST client, in an order where each is allowed after the one before.
LIFECYCLE = ["stop", "start", "reboot", "pause", "unpause", "suspend", "resume"]
#: How a declared refusal reads (OperationNotSupported, or NotSupported with the host's version).
NOT_SUPPORTED = re.compile(r"does not support|not ?supported", re.I)


class DeploymentError(Exception):
    """A process of the deployment did not do what it must; the message has its log."""


def _terminate_with_parent() -> list[str]:
    # the service gets SIGTERM when the harness dies, so a killed test leaves nothing running
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "TERM"] if setpriv else []


class ServiceProcess:
    """One process of the deployment, its output in ``log``; ``ready`` is the line it prints when up."""

    def __init__(self, name: str, command: list[str], log: pathlib.Path, ready: str) -> None:
        self.name, self.command, self.log, self.ready = name, command, log, ready
        self.lines: list[str] = []
        self.process: subprocess.Popen[str] | None = None
        self._ready = threading.Event()

    def start(self, timeout: float = 120) -> ServiceProcess:
        self.process = subprocess.Popen(
            [*_terminate_with_parent(), *self.command],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self._relay, args=(self.process,), daemon=True).start()
        if not self._ready.wait(timeout):
            status = self.stop()
            raise DeploymentError(
                f"{self.name} did not print {self.ready!r} within {timeout}s (exit {status}):\n{self.tail()}"
            )
        return self

    def _relay(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        with open(self.log, "a") as log:
            for line in process.stdout:
                self.lines.append(line)
                log.write(line)
                log.flush()
                if self.ready in line:
                    self._ready.set()

    def tail(self, lines: int = 30) -> str:
        return "".join(self.lines[-lines:])

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 60) -> int | None:
        if self.process is None:
            return None
        process, self.process = self.process, None
        self._ready.clear()
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        return process.returncode


class Compute:
    """A compute service of the deployment: its host, its release, its process."""

    def __init__(self, host: str, release: Record, process: ServiceProcess) -> None:
        self.host, self.release, self.process = host, release, process


class Deployment:
    """nova-common conductor + api and N compute services, each from its recorded release."""

    def __init__(
        self,
        envs: ReleaseEnvs,
        records: list[Record],
        core: Record,
        workdir: pathlib.Path,
        transport_url: str,
        database_url: str | None = None,
        compute_config: str = "",
        core_extra_config: str = "",
    ) -> None:
        self.envs, self.records, self.core = envs, records, core
        self.workdir = pathlib.Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.transport_url = transport_url
        self.sqlite_path = None if database_url else self.workdir / "nova.sqlite"
        self.database_url = database_url or f"sqlite:///{self.sqlite_path}"
        self.compute_config = compute_config
        #: Appended to the core's nova.conf (e.g. ``[upgrade_levels] compute = auto``).
        self.core_extra_config = core_extra_config
        self.core_env: pathlib.Path | None = None
        self.conductor: ServiceProcess | None = None
        self.api: ServiceProcess | None = None
        self.endpoint: str | None = None
        self.computes: dict[str, Compute] = {}

    # -- the core ------------------------------------------------------------------------------

    def core_config(self) -> pathlib.Path:
        path = self.workdir / "nova.conf"
        path.write_text(
            f"[DEFAULT]\ntransport_url = {self.transport_url}\nstate_path = {self.workdir}\n"
            f"[database]\nconnection = {self.database_url}\n"
            "[api]\nlisten = 127.0.0.1\nport = 0\n"
            f"[conductor]\nsync_power_state_interval = {POWER_SYNC_INTERVAL}\n{self.core_extra_config}"
        )
        return path

    def nova_common(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        assert self.core_env is not None, "start_core() first"
        return subprocess.run(
            [str(script(self.core_env, "nova-common")), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def db_sync(self) -> str:
        result = self.nova_common("db", "sync", "--config-file", str(self.core_config()))
        if result.returncode != 0:
            raise DeploymentError(
                f"nova-common {self.core.version} db sync failed:\n{result.stdout}{result.stderr}"
            )
        return result.stdout.strip()

    def start_core(self) -> None:
        """The core release's venv (nova-common[api]), ``db sync``, the conductor, then the API."""
        self.core_env = self.envs.env([self.core], extras={self.core.distribution: "api"})
        self.db_sync()
        config = str(self.core_config())
        name = f"conductor-{self.core.version}"
        self.conductor = ServiceProcess(
            name,
            [str(script(self.core_env, "nova-common")), "conductor", "--config-file", config],
            self.workdir / f"{name}.log",
            "nova-common conductor: serving",
        ).start()
        name = f"api-{self.core.version}"
        self.api = ServiceProcess(
            name,
            [str(script(self.core_env, "nova-common")), "api", "--config-file", config],
            self.workdir / f"{name}.log",
            "compute API at",
        ).start()
        match = re.search(r"compute API at (\S+)", self.api.tail(200))
        if not match:
            raise DeploymentError(f"the API printed no endpoint:\n{self.api.tail()}")
        self.endpoint = match.group(1)

    def stop_core(self) -> None:
        for service in (self.api, self.conductor):
            if service is not None:
                status = service.stop()
                if status not in (0, None):
                    raise DeploymentError(f"{service.name} exited {status}:\n{service.tail()}")
        self.api = self.conductor = None

    def upgrade_core(self, release: Record) -> None:
        """Stop the API and the conductor, install ``release``, ``db sync``, start both again."""
        self.stop_core()
        self.core = release
        self.start_core()

    # -- compute services ----------------------------------------------------------------------

    def compute_env(self, driver: Record, scaffold: Record | None = None) -> pathlib.Path:
        """``driver`` on ``scaffold`` (a nova-common release; default: the driver's base, the
        newest nova-common recorded at or before it)."""
        base = scaffold or base_core(self.records, driver)
        if base is None:
            raise DeploymentError(f"{driver.spec}: no nova-common release recorded at or before it")
        return self.envs.env([base, driver])

    def add_compute(self, driver: Record, host: str | None = None, scaffold: Record | None = None) -> Compute:
        """A compute service of ``driver`` on ``scaffold`` (see :meth:`compute_env`)."""
        host = host or f"{driver.drivers[0]}-{len(self.computes):02d}"
        venv = self.compute_env(driver, scaffold)
        config = self.workdir / f"{host}.conf"
        config.write_text(
            f"[DEFAULT]\nhost = {host}\ntransport_url = {self.transport_url}\n"
            f"[compute]\nheartbeat_interval = 1\nresource_report_interval = 2\n{self.compute_config}"
        )
        name = f"{host}-{driver.version}"
        process = ServiceProcess(
            name,
            [str(script(venv, f"nova-compute-{driver.drivers[0]}")), f"--config-file={config}"],
            self.workdir / f"{name}.log",
            "serving host",
        ).start()
        self.computes[host] = Compute(host, driver, process)
        return self.computes[host]

    def stop_compute(self, host: str) -> None:
        compute = self.computes.pop(host)
        status = compute.process.stop()
        if status not in (0, None):
            raise DeploymentError(f"{compute.process.name} exited {status}:\n{compute.process.tail()}")

    def upgrade_compute(self, host: str, release: Record, scaffold: Record | None = None) -> Compute:
        """Stop ``host``'s compute service and start it again, same host, from ``release``."""
        self.stop_compute(host)
        return self.add_compute(release, host=host, scaffold=scaffold)

    # -- the REST API, through the core release's own client ---------------------------------

    def cli(self, *args: str, timeout: float = 300) -> Any:
        assert self.endpoint is not None, "start_core() first"
        result = self.nova_common(
            "--os-compute-url", self.endpoint, "--format", "json", *args, timeout=timeout
        )
        if result.returncode != 0:
            raise DeploymentError(
                f"nova-common {' '.join(args)} failed ({result.returncode}): {result.stderr.strip()}"
            )
        return json.loads(result.stdout) if result.stdout.strip() else None

    def wait_for_hosts(self, count: int, timeout: float = 60) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while True:
            services = [s for s in self.cli("service", "list") if s.get("state") == "up"]
            if len(services) >= count or time.monotonic() > deadline:
                return services
            time.sleep(0.5)

    def settle(self) -> None:
        """Wait for two power syncs, so that the API shows what the hypervisors hold."""
        time.sleep(2 * POWER_SYNC_INTERVAL + 1)

    def create_server(self, name: str | None = None, flavor: str = "m1.tiny") -> dict[str, Any]:
        return self.cli("server", "create", name or f"srv-{uuid.uuid4().hex[:6]}", "--flavor", flavor)

    def servers(self) -> list[dict[str, Any]]:
        return self.cli("server", "list")

    def server_actions(self) -> list[str]:
        """The server actions the core release's client offers (its ``server --help``)."""
        usage = self.nova_common("server", "--help").stdout
        groups = [set(group.split(",")) for group in re.findall(r"\{([a-z_,-]+)\}", usage)]
        known = next((group for group in groups if {"list", "create"} <= group), set())
        return sorted(known - {"list", "show", "create", "delete"})

    def exercise(self, server_id: str) -> dict[str, str]:
        """Every server action of the core's client on ``server_id``, in an order that keeps each
        one allowed; each outcome "ok" or "not supported: <message>". Any other failure raises."""
        ordered = [a for a in LIFECYCLE if a in self.server_actions()]
        extra = [a for a in self.server_actions() if a not in LIFECYCLE]
        outcomes = {}
        for action in ordered + extra:
            try:
                self.cli("server", action, server_id, "--timeout", "120")
                outcomes[action] = "ok"
            except DeploymentError as error:
                if not NOT_SUPPORTED.search(str(error)):
                    raise
                outcomes[action] = f"not supported: {error}"
        return outcomes

    # -- the database ----------------------------------------------------------------------------

    def database_rows(self) -> dict[str, set[tuple]]:
        """Every table's primary keys (SQLite only): what must never be lost
        (alembic's revision row is left out: an upgrade is meant to move it)."""
        if self.sqlite_path is None:
            raise DeploymentError(
                "database_rows reads the SQLite file; this deployment uses " + self.database_url
            )
        with sqlite3.connect(self.sqlite_path) as db:
            tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
            rows = {}
            for table in tables:
                if table == "alembic_version":
                    continue
                keys = [c[1] for c in db.execute(f'PRAGMA table_info("{table}")') if c[5]] or ["rowid"]
                cols = ", ".join(f'"{k}"' if k != "rowid" else k for k in keys)
                rows[table] = set(db.execute(f'SELECT {cols} FROM "{table}"'))
        return rows

    def logs(self) -> str:
        return "\n".join(f"== {p.name}\n{p.read_text()[-3000:]}" for p in sorted(self.workdir.glob("*.log")))

    # -- lifetime --------------------------------------------------------------------------------

    def stop(self) -> None:
        for host in list(self.computes):
            self.computes.pop(host).process.stop()
        for service in (self.api, self.conductor):
            if service is not None:
                service.stop()
        self.api = self.conductor = None

    def __enter__(self) -> Deployment:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


@contextlib.contextmanager
def postgresql_database(core_env: pathlib.Path) -> Iterator[str]:
    """A PostgreSQL database of the run's own at 127.0.0.1:5432, dropped afterwards
    (created with the core venv's psycopg2; the server is shared, so only ours is dropped)."""
    name = f"nova_upgrade_{uuid.uuid4().hex[:10]}"
    code = (
        "import psycopg2, sys; c = psycopg2.connect(host='127.0.0.1', user='postgres', dbname='postgres'); "
        "c.autocommit = True; cur = c.cursor(); name = sys.argv[2]\n"
        "if sys.argv[1] == 'drop': cur.execute("
        "'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s', (name,))\n"
        "cur.execute(('CREATE' if sys.argv[1] == 'create' else 'DROP') + ' DATABASE \"%s\"' % name)"
    )

    def admin(action: str) -> subprocess.CompletedProcess[str]:
        python = str(core_env / "bin" / "python")
        return subprocess.run([python, "-c", code, action, name], capture_output=True, text=True)

    created = admin("create")
    if created.returncode != 0:
        raise DeploymentError(f"cannot create PostgreSQL database {name}: {created.stderr.strip()}")
    try:
        yield f"postgresql+psycopg2://postgres@127.0.0.1:5432/{name}"
    finally:
        admin("drop")
