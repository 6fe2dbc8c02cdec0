"""``nova-common``: the core's command line.

    nova-common db sync [--config-file nova.conf]     apply the database migrations
    nova-common db version                            show the schema revision
    nova-common conductor [--config-file nova.conf]   run the conductor until SIGTERM/SIGINT
    nova-common api [--config-file nova.conf]         run the compute REST API ([api] listen, port)
    nova-common serve [--state-dir DIR] [--driver fake=3] [--port 8774]
                                                      the all-in-one (API, conductor, compute services)
    nova-common [--os-compute-url URL] [--format table|json] server|flavor|image|service|hypervisor ...
                                                      the REST API's client (see nova-common server --help)

Options come from oslo.config files (``[database] connection``, ``[DEFAULT]
transport_url``, ``[conductor]``, ``[scheduler]``); see ``doc/core.md``.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Sequence

from oslo_config import cfg
from oslo_log import log as logging

from nova_common import messaging
from nova_common.conductor import conf as core_conf

# Everything that imports oslo.messaging is imported in the commands, after
# messaging.init_process() (see nova_common.messaging.process).

LOG = logging.getLogger(__name__)

#: Subcommands of the REST API client (nova_common.cmd.client).
CLIENT_COMMANDS = ("server", "flavor", "image", "service", "hypervisor")


def _conf(argv: Sequence[str], prog: str) -> cfg.ConfigOpts:
    from nova_common.messaging import conf as messaging_conf
    from nova_common.virt import rpcapi

    conf = cfg.ConfigOpts()
    core_conf.register_opts(conf)
    messaging_conf.register_opts(conf)
    rpcapi.register_opts(conf)
    logging.register_options(conf)
    conf(list(argv), project="nova", prog=prog)
    logging.setup(conf, "nova")
    return conf


def db_command(action: str, argv: Sequence[str]) -> int:
    from nova_common.db import migration
    from nova_common.db.api import make_engine

    conf = _conf(argv, "nova-common db")
    engine = make_engine(core_conf.database_connection(conf))
    try:
        if action == "sync":
            migration.db_sync(engine)
            print(f"database at revision {migration.db_version(engine)}")
        else:
            print(migration.db_version(engine) or "empty")
    finally:
        engine.dispose()
    return 0


def conductor_command(argv: Sequence[str]) -> int:
    from nova_common.conductor.manager import ConductorNameInUse
    from nova_common.conductor.service import ConductorService
    from nova_common.db import migration

    conf = _conf(argv, "nova-common conductor")
    messaging.setup(conf, role="conductor")
    service = ConductorService(conf)
    current, head = migration.db_version(service.db.engine), migration.head()
    if current != head:
        print(
            f"nova-common conductor: database at {current}, needs {head}: run 'nova-common db sync'",
            file=sys.stderr,
        )
        service.db.dispose()
        return 2
    stop = threading.Event()

    def request_stop(signum: int, _frame: object) -> None:
        LOG.info("Received signal %s; stopping", signum)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    try:
        service.start()
    except ConductorNameInUse as error:
        print(f"nova-common conductor: {error}", file=sys.stderr)
        service.db.dispose()
        return 2
    print(f"nova-common conductor: serving as {conf.conductor.server}", flush=True)
    while not stop.wait(0.5):
        pass
    if not service.stop():
        # Operations past the graceful timeout were handed over (the lease is
        # given up); their threads would hold the interpreter's exit.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    return 0


#: oslo.config's own options, accepted before the subcommand too (as nova-manage does).
_CONFIG_OPTIONS = ("--config-file", "--config-dir")


def _config_options_first(argv: list[str]) -> list[str]:
    """``--config-file F db sync`` -> ``db sync --config-file F``."""
    moved: list[str] = []
    while argv and argv[0].split("=", 1)[0] in _CONFIG_OPTIONS:
        option = argv.pop(0)
        moved.append(option)
        if "=" not in option and argv:
            moved.append(argv.pop(0))
    if not moved or not argv:
        return moved + argv
    return [argv[0], *moved, *argv[1:]] if argv[0] not in ("db",) else [*argv[:2], *moved, *argv[2:]]


def run(argv: Sequence[str] | None = None) -> int:
    argv = _config_options_first(list(sys.argv[1:] if argv is None else argv))
    parser = argparse.ArgumentParser(
        prog="nova-common", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    db = sub.add_parser("db", help="database schema")
    db.add_argument("action", choices=["sync", "version"])
    sub.add_parser("conductor", help="run the conductor")
    sub.add_parser("serve", help="the all-in-one: API, conductor and compute services", add_help=False)
    sub.add_parser("api", help="run the compute REST API (a client of the conductor)")
    for name in CLIENT_COMMANDS:
        sub.add_parser(name, help=f"{name} commands of the REST API client", add_help=False)
    if argv and argv[0] not in ("db", "conductor", "serve", "api", "-h", "--help"):
        # Client commands (and their global options) go to the REST client.
        from nova_common.cmd import client

        return client.run(argv)
    args, rest = parser.parse_known_args(argv)
    messaging.init_process()
    try:
        if args.command == "db":
            return db_command(args.action, rest)
        if args.command == "serve":
            from nova_common.cmd import serve

            return serve.serve_command(rest)
        if args.command == "api":
            from nova_common.cmd import serve

            return serve.api_command(rest)
        return conductor_command(rest)
    except cfg.Error as error:
        print(f"nova-common: {error}", file=sys.stderr)
        return 2


def main() -> None:
    sys.exit(run())
