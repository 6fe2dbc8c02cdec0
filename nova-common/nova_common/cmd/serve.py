"""``nova-common serve``: the all-in-one, and ``nova-common api``: the API alone.

All-in-one, embedded (the default): the API on 127.0.0.1, the conductor and
compute services (three fake ones unless ``--driver`` says otherwise) in this
process, over ``kombu+memory:////``, with SQLite in ``--state-dir``.

With ``--transport-url rabbit://...`` (and usually ``--database-connection
postgresql://...``) the API and the conductor run here and each compute
service in its own process (``nova-compute --config-file <state-dir>/<host>.conf``).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any

from oslo_config import cfg
from oslo_log import log as logging

from nova_common import messaging
from nova_common.api.conf import api_opts
from nova_common.conductor import conf as core_conf
from nova_common.messaging import conf as messaging_conf
from nova_common.messaging.transport import DEFAULT_TRANSPORT_URL, reserve_connections
from nova_common.redact import redact_url, write_private
from nova_common.virt import rpcapi

LOG = logging.getLogger(__name__)

DEFAULT_STATE_DIR = ".nova-common"
DEFAULT_IMAGE_ID = "155d900f-4e14-4e4c-a73d-069cbf4541e6"  # "cirros", seeded by the first migration

#: Options given to in-process compute services of each driver (embedded mode).
DRIVER_DEFAULTS: dict[str, dict[str, dict[str, Any]]] = {
    "libvirt": {"libvirt": {"connection_uri": "test:///default"}},
}


@dataclasses.dataclass
class DriverSpec:
    name: str
    count: int = 1

    @classmethod
    def parse(cls, text: str) -> DriverSpec:
        name, sep, count = text.replace(":", "=").partition("=")
        if not name or (sep and not (count.isascii() and count.isdigit())):
            raise argparse.ArgumentTypeError(f"--driver {text!r}: expected NAME or NAME=COUNT")
        return cls(name, int(count) if sep else 1)


def base_conf(argv: Sequence[str] = (), prog: str = "nova-common", overrides: dict[str, Any] | None = None):
    conf = cfg.ConfigOpts()
    core_conf.register_opts(conf)
    messaging_conf.register_opts(conf)
    rpcapi.register_opts(conf)
    conf.register_opts(api_opts(), group="api")
    logging.register_options(conf)
    conf(list(argv), project="nova", prog=prog, default_config_files=[] if not argv else None)
    for key, value in (overrides or {}).items():
        group, _, name = key.rpartition(".")
        conf.set_override(name, value, group=group or None)
    return conf


class AllInOne:
    """API + conductor + compute services; ``start()``/``stop()``."""

    def __init__(
        self,
        state_dir: str,
        drivers: Sequence[DriverSpec] = (DriverSpec("fake", 3),),
        port: int = 0,
        listen: str = "127.0.0.1",
        transport_url: str | None = None,
        database_connection: str | None = None,
        auth_token: str | None = None,
        config_files: Sequence[str] = (),
        heartbeat_interval: float = 2.0,
        host_prefix: str = "",
        conf_overrides: dict[str, Any] | None = None,
        compute_overrides: dict[str, Any] | None = None,
        conductors: int = 1,
    ) -> None:
        if conductors < 1:
            raise ValueError(f"conductors {conductors!r}: at least 1")
        self.conductor_count = conductors
        self.state_dir = os.path.abspath(state_dir)
        os.makedirs(self.state_dir, exist_ok=True)
        self.drivers = list(drivers)
        self.transport_url = transport_url or DEFAULT_TRANSPORT_URL
        self.embedded = self.transport_url.startswith("kombu+memory")
        self.config_files = list(config_files)
        self.heartbeat_interval = heartbeat_interval
        self.host_prefix = host_prefix
        self.compute_overrides = dict(compute_overrides or {})  # "group.name" -> value, in-process only
        argv = [a for f in self.config_files for a in ("--config-file", f)]
        overrides = {
            "state_path": self.state_dir,
            "transport_url": self.transport_url,
            "conductor.service_down_time": max(6 * heartbeat_interval, 10.0),
            "conductor.heartbeat_flush_interval": 1.0,
            **(conf_overrides or {}),
        }
        if database_connection:
            overrides["database.connection"] = database_connection
        self.conf = base_conf(argv, overrides=overrides)
        self.listen = listen
        self.port = port
        self.auth_token = auth_token
        self.transport = None
        self.conductor = None  # the first of self.conductors
        self.conductors: list[Any] = []
        self.computes: list[Any] = []
        self.processes: list[subprocess.Popen] = []
        self.api = None
        self.compute_api = None
        self.hosts: list[tuple[str, str]] = []  # (host, driver)

    # -- lifecycle -------------------------------------------------------------

    def start(self, wait_for_hosts: float = 60.0) -> None:
        from nova_common.api.server import APIServer, PortInUse
        from nova_common.api.wsgi import make_app
        from nova_common.compute.api import ComputeAPI
        from nova_common.conductor.rpcapi import get_core_transport
        from nova_common.conductor.service import ConductorService, conductor_publishers
        from nova_common.db import migration
        from nova_common.db.api import Database

        # One transport for the conductor, the API and the compute services in
        # this process; each service publishes from a few threads (its ticker,
        # lifecycle events, replies).
        hosts = sum(spec.count for spec in self.drivers)
        # The patches measured with the conductor and many compute services in
        # one process (nova_common.messaging.patches).
        messaging.setup(self.conf, role="conductor")
        reserve_connections(self.conf, self.conductor_count * conductor_publishers(self.conf) + 4 * hosts)
        self.transport = get_core_transport(self.conf)
        self.compute_api = ComputeAPI(self.conf, self.transport, timeout=self.conf.conductor.api_timeout)
        # The port first: a taken one stops the start before anything runs.
        try:
            self.api = APIServer(
                make_app(self.compute_api, self.auth_token, conf=self.conf),
                self.listen,
                self.port,
                self.auth_token,
                threads=self.conf.api.threads,
                read_timeout=self.conf.api.client_socket_timeout,
            )
        except PortInUse as error:
            raise PortInUse(f"{error} (choose another with --port, or --port 0 for a free one)") from None
        db = Database(core_conf.database_connection(self.conf))
        migration.db_sync(db.engine)
        self._own_db = db
        # Several conductors share the topic (any may take any message) and
        # the database, each under a name of its own.
        server = self.conf.conductor.server
        names = (
            [server] if self.conductor_count == 1 else [f"{server}-{i}" for i in range(self.conductor_count)]
        )
        for name in names:
            conductor = ConductorService(self.conf, self.transport, db, server=name)
            conductor.start()
            self.conductors.append(conductor)
        self.conductor = self.conductors[0]
        index = 0
        for spec in self.drivers:
            for _ in range(spec.count):
                host = f"{self.host_prefix}{spec.name}-{index:02d}"
                index += 1
                if self.embedded:
                    self._start_in_process(host, spec.name)
                else:
                    self._start_process(host, spec.name)
                self.hosts.append((host, spec.name))
        self.api.start()
        if wait_for_hosts:
            self.wait_for_hosts(wait_for_hosts)

    def wait_for_hosts(self, timeout: float) -> None:
        """Until every compute service registered and reported its resources."""
        deadline = time.monotonic() + timeout
        wanted = {h for h, _ in self.hosts}
        while time.monotonic() < deadline:
            ready = {s["host"] for s in self.compute_api.services() if s["vcpus"] > 0 and s["state"] == "up"}
            if wanted <= ready:
                return
            for process in self.processes:
                if process.poll() is not None:
                    raise RuntimeError(f"compute service {process.args} exited with {process.returncode}")
            time.sleep(0.05)
        raise RuntimeError(f"compute services {sorted(wanted - ready)} did not report within {timeout}s")

    def _compute_conf(self, host: str, driver_cls: Any, driver: str) -> cfg.ConfigOpts:
        from nova_common.scaffold import conf as scaffold_conf

        conf = cfg.ConfigOpts()
        scaffold_conf.register_opts(conf)
        messaging_conf.register_opts(conf)
        driver_cls.register_opts(conf)
        conf(
            [a for f in self.config_files for a in ("--config-file", f)],
            project="nova",
            default_config_files=[],
        )
        conf.set_override("host", host)
        conf.set_override("control_exchange", self.conf.control_exchange)
        conf.set_override("heartbeat_interval", self.heartbeat_interval, group="compute")
        conf.set_override("resource_report_interval", max(self.heartbeat_interval, 5.0), group="compute")
        conf.set_override("conductor_topic", self.conf.conductor.topic, group="compute")
        for group, values in DRIVER_DEFAULTS.get(driver, {}).items():
            for name, value in values.items():
                conf.set_default(name, value, group=group)  # a --config-file still wins
        for key, value in self.compute_overrides.items():
            group, _, name = key.rpartition(".")
            if group and not hasattr(conf, group):
                continue  # another driver's option
            conf.set_override(name, value, group=group or None)
        return conf

    def _start_in_process(self, host: str, driver: str) -> None:
        from nova_common.scaffold.loader import load_driver_class
        from nova_common.scaffold.service import ComputeService

        driver_cls = load_driver_class(driver)
        if driver == "libvirt" and any(d == "libvirt" for _, d in self.hosts):
            raise ValueError(
                "one in-process libvirt service only: libvirt's test:///default is one hypervisor per "
                "process (use --transport-url rabbit://... for more, each in its own process)"
            )
        conf = self._compute_conf(host, driver_cls, driver)
        service = ComputeService(conf, driver_cls(conf), transport=self.transport)
        service.start()
        self.computes.append(service)

    def _start_process(self, host: str, driver: str) -> None:
        path = os.path.join(self.state_dir, f"{host}.conf")
        lines = [
            "[DEFAULT]",
            f"host = {host}",
            f"transport_url = {self.transport_url}",
            f"control_exchange = {self.conf.control_exchange}",
            f"log_file = {os.path.join(self.state_dir, host + '.log')}",
            "[compute]",
            f"driver = {driver}",
            f"heartbeat_interval = {self.heartbeat_interval}",
            f"resource_report_interval = {max(self.heartbeat_interval, 5.0)}",
            f"conductor_topic = {self.conf.conductor.topic}",
        ]
        for group, values in DRIVER_DEFAULTS.get(driver, {}).items():
            lines.append(f"[{group}]")
            lines.extend(f"{k} = {v}" for k, v in values.items())
        # It holds the transport URL (with its password): owner only.
        write_private(path, "\n".join(lines) + "\n")
        args = [os.path.join(os.path.dirname(sys.executable), "nova-compute")]
        if not os.path.exists(args[0]):
            args = [sys.executable, "-c", "from nova_common.scaffold.cmd import main; main()"]
        for extra in self.config_files:
            args += ["--config-file", extra]
        args += ["--config-file", path]
        log = open(os.path.join(self.state_dir, f"{host}.out"), "ab")
        self.processes.append(subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT))
        log.close()

    def stop(self) -> None:
        if self.api is not None:
            self.api.stop()
            self.api = None
        if self.compute_api is not None:
            self.compute_api.close()
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        threads = [threading.Thread(target=s.stop) for s in [*self.computes, *self.conductors]]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        self.computes.clear()
        self.processes.clear()
        self.conductors.clear()
        self.conductor = None
        if getattr(self, "_own_db", None) is not None:
            self._own_db.dispose()
        if self.transport is not None:
            self.transport.cleanup()
            self.transport = None

    # -- what it prints -----------------------------------------------------------

    @property
    def endpoint(self) -> str:
        assert self.api is not None
        return self.api.endpoint

    def clouds_yaml(self) -> str:
        auth = (
            f"    auth_type: admin_token\n    auth:\n      endpoint: {self.endpoint}\n      token: <token>\n"
            if self.auth_token
            else "    auth_type: none\n"
        )
        return f"clouds:\n  nova-common:\n{auth}    compute_endpoint_override: {self.endpoint}\n"


def _conductor_count(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or int(text) < 1:
        raise argparse.ArgumentTypeError(f"--conductors {text!r}: expected a whole number >= 1")
    return int(text)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="nova-common serve", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--state-dir",
        default=DEFAULT_STATE_DIR,
        help="SQLite database, logs, compute service configs (default: ./.nova-common)",
    )
    parser.add_argument("--port", type=int, default=8774, help="API port (0: a free one; default 8774)")
    parser.add_argument("--listen", default="127.0.0.1", help="API address (non-loopback needs --auth-token)")
    parser.add_argument(
        "--auth-token",
        default=os.environ.get("NOVA_COMMON_AUTH_TOKEN"),
        help="static X-Auth-Token (env NOVA_COMMON_AUTH_TOKEN)",
    )
    parser.add_argument(
        "--driver",
        type=DriverSpec.parse,
        action="append",
        default=[],
        help="compute services: NAME or NAME=COUNT, repeatable (default: fake=3)",
    )
    parser.add_argument(
        "--transport-url",
        default=os.environ.get("NOVA_COMMON_TRANSPORT_URL"),
        help="default kombu+memory://// (everything in this process). A URL with a password belongs in "
        "env NOVA_COMMON_TRANSPORT_URL, not on the command line (visible in ps)",
    )
    parser.add_argument(
        "--database-connection",
        default=os.environ.get("NOVA_COMMON_DATABASE_CONNECTION"),
        help="default: SQLite in --state-dir (env NOVA_COMMON_DATABASE_CONNECTION, for one with a password)",
    )
    parser.add_argument(
        "--config-file", action="append", default=[], help="oslo.config files (driver options)"
    )
    parser.add_argument("--heartbeat-interval", type=float, default=2.0)
    parser.add_argument(
        "--conductors",
        type=_conductor_count,
        default=1,
        help="conductors to run, active-active on one topic and one database, named "
        "<[conductor] server>-0, -1, ... (default: 1)",
    )
    parser.add_argument(
        "--conductor-topic",
        default="conductor",
        help="RPC topic of the conductor: queue names are per broker virtual host, so two clouds on one "
        "RabbitMQ vhost need different topics (default: conductor)",
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="start, boot a server through the REST API and take it through stop, start and delete, "
        "then stop (exit 0 when it all worked): the first command to run on a fresh machine",
    )
    return parser.parse_args(list(argv))


#: What ``serve`` imports from the ``api`` extra (and the ``core`` extra it pulls in).
API_EXTRA_MODULES = ("sqlalchemy", "alembic", "jsonschema", "webob", "cheroot", "regex", "oslo_middleware")


def missing_api_extra() -> str | None:
    """The first module of the ``api`` extra that is not installed, if any."""
    import importlib.util

    return next((m for m in API_EXTRA_MODULES if importlib.util.find_spec(m) is None), None)


def make_state_dir(path: str, default: bool) -> str:
    """Create the state directory; the default one (in the working directory, often
    a checkout) gets a ``.gitignore`` of its own so git never lists it."""
    path = os.path.abspath(path)
    # Logs and compute service configs live here (the latter with the transport
    # URL): owner only.
    os.makedirs(path, mode=0o700, exist_ok=True)
    os.chmod(path, 0o700)
    ignore = os.path.join(path, ".gitignore")
    if default and not os.path.exists(ignore):
        with open(ignore, "w") as out:
            out.write("# created by nova-common serve: its state directory\n*\n")
    return path


def serve_command(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    missing = missing_api_extra()
    if missing:
        print(
            f"nova-common serve: {missing} is not installed; serve needs the api extra: "
            "pip install 'nova-common[api]'",
            file=sys.stderr,
        )
        return 2
    logging.register_options(cfg.CONF)
    state_dir = make_state_dir(args.state_dir, default=args.state_dir == DEFAULT_STATE_DIR)
    cfg.CONF(
        ["--log-file", os.path.join(state_dir, "nova-common.log")], project="nova", default_config_files=[]
    )
    logging.setup(cfg.CONF, "nova")
    aio = AllInOne(
        state_dir,
        drivers=args.driver or [DriverSpec("fake", 3)],
        port=args.port,
        listen=args.listen,
        transport_url=args.transport_url,
        database_connection=args.database_connection,
        auth_token=args.auth_token,
        config_files=args.config_file,
        heartbeat_interval=args.heartbeat_interval,
        conf_overrides={"conductor.topic": args.conductor_topic},
        conductors=args.conductors,
    )
    stop = threading.Event()
    starting = True

    def request_stop(signum: int, _frame: object) -> None:
        stop.set()
        if starting:  # e.g. still retrying an unreachable broker: give up now
            raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    try:
        aio.start()
    except (Exception, KeyboardInterrupt) as error:
        starting = False
        print(f"nova-common serve: {error or 'interrupted while starting'}", file=sys.stderr)
        aio.stop()
        return 1
    starting = False
    hosts = ", ".join(f"{h} ({d})" for h, d in aio.hosts)
    print(f"nova-common serve: compute API at {aio.endpoint}", flush=True)
    print(f"compute services: {hosts}", flush=True)
    if len(aio.conductors) > 1:
        print(f"conductors: {', '.join(c.manager.server for c in aio.conductors)}", flush=True)
    print(f"state directory: {state_dir} (transport {redact_url(aio.transport_url)})", flush=True)
    print("clouds.yaml:\n" + aio.clouds_yaml(), flush=True)
    print(f"try: nova-common --os-compute-url {aio.endpoint} server create demo --flavor m1.tiny", flush=True)
    if args.smoke:
        code = smoke(aio.endpoint, args.auth_token)
        aio.stop()
        return code
    while not stop.wait(0.5):
        pass
    print("nova-common serve: stopping", flush=True)
    aio.stop()
    return 0


def smoke(endpoint: str, token: str | None = None) -> int:
    """Boot a server through the REST API (the CLI's client) and run it through its lifecycle."""
    from nova_common.cmd import client

    api = client.Client(endpoint, token)
    try:
        _, created = api.request(
            "POST",
            "/servers",
            {"server": {"name": "smoke-1", "flavorRef": "m1.tiny", "imageRef": DEFAULT_IMAGE_ID}},
        )
        server_id = created["server"]["id"]
        server = client.wait_for(api, server_id, "ACTIVE", 120)
        print(
            f"booted server {server_id} on {server['OS-EXT-SRV-ATTR:host']}: {server['status']}", flush=True
        )
        for action in ("stop", "start"):
            body, want = client.ACTIONS[action]
            api.request("POST", f"/servers/{server_id}/action", body)
            client.wait_for(api, server_id, want, 120)
            print(f"{action}: {want}", flush=True)
        api.request("DELETE", f"/servers/{server_id}")
        client.wait_for(api, server_id, None, 120, deleted=True)
        print("deleted; smoke test passed", flush=True)
        return 0
    except client.APIError as error:
        print(f"nova-common serve --smoke: {error}", file=sys.stderr, flush=True)
        return 1


def api_command(argv: Sequence[str]) -> int:
    """The API alone, as a client of a running conductor (``[DEFAULT] transport_url``)."""
    from nova_common.api.server import APIServer
    from nova_common.api.wsgi import make_app
    from nova_common.compute.api import ComputeAPI

    conf = base_conf(argv, prog="nova-common api")
    logging.setup(conf, "nova")
    messaging.setup(conf)
    compute = ComputeAPI(conf, timeout=conf.conductor.api_timeout)
    try:
        server = APIServer(
            make_app(compute, conf.api.auth_token, conf=conf),
            conf.api.listen,
            conf.api.port,
            conf.api.auth_token,
            threads=conf.api.threads,
            read_timeout=conf.api.client_socket_timeout,
        )
    except (ValueError, OSError) as error:
        print(f"nova-common api: {error}", file=sys.stderr)
        compute.close()
        return 2
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    server.start()
    print(f"nova-common api: compute API at {server.endpoint}", flush=True)
    while not stop.wait(0.5):
        pass
    stopping = threading.Thread(target=server.stop, name="api-stop", daemon=True)
    stopping.start()
    stopping.join(conf.api.graceful_shutdown_timeout)
    if stopping.is_alive():
        # Requests still wait on a conductor: their worker threads would hold
        # the interpreter's exit until [conductor] api_timeout.
        LOG.warning(
            "Requests still in flight after [api] graceful_shutdown_timeout (%g s); exiting",
            conf.api.graceful_shutdown_timeout,
        )
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    compute.close()
    return 0


def load_api_config(config_files: Sequence[str]) -> cfg.ConfigOpts:
    """The options of ``nova-common api`` from these files (for the WSGI entry point)."""
    conf = base_conf([a for f in config_files for a in ("--config-file", f)], prog="nova-common api")
    logging.setup(conf, "nova")
    return conf
