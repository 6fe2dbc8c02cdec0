"""Options of the core (conductor, scheduler, database). Imports only oslo.config,
so oslo-config-generator can list them from a base install."""

from __future__ import annotations

import os
import socket

from oslo_config import cfg

default_opts = [
    cfg.StrOpt(
        "state_path",
        default=os.path.join(os.path.expanduser("~"), ".local", "state", "nova-common"),
        sample_default="~/.local/state/nova-common",
        help="Directory where the core keeps its state (the default SQLite database).",
    ),
]

database_opts = [
    cfg.StrOpt(
        "connection",
        secret=True,
        help="SQLAlchemy URL of the core's database (postgresql+psycopg2://..., mysql+pymysql://...). "
        "Default: a SQLite file nova.sqlite in [DEFAULT] state_path.",
    ),
    cfg.IntOpt("max_pool_size", default=10, min=1, help="Connections kept open (not for SQLite)."),
    cfg.IntOpt("max_overflow", default=50, min=0, help="Connections opened beyond the pool under load."),
]

scheduler_opts = [
    cfg.IntOpt(
        "max_attempts",
        default=3,
        min=1,
        help="Hosts a create tries before the instance goes to ERROR: a failed spawn is rescheduled "
        "to another host until this many were tried.",
    ),
    cfg.FloatOpt(
        "host_state_ttl",
        default=1.0,
        min=0.0,
        help="Seconds the scheduler reuses its view of the hosts before reading the database again. "
        "Claims are checked in the database either way, so a stale view never overcommits.",
    ),
]

conductor_opts = [
    cfg.StrOpt(
        "topic",
        default="conductor",
        help="RPC topic the conductor serves (compute services report to it: their "
        "[compute] conductor_topic). Queue names are per broker virtual host, so two clouds "
        "sharing one RabbitMQ vhost need different topics (or vhosts).",
    ),
    cfg.StrOpt(
        "server",
        default=socket.gethostname(),
        sample_default="<current hostname>",
        help="This conductor's name: its server on topic 'conductor' and in the conductors "
        "table. Each conductor of a cloud needs its own (two on one machine: set it); a "
        "conductor refuses to start under the name of one that is running.",
    ),
    cfg.FloatOpt(
        "service_down_time",
        default=60.0,
        min=0.1,
        help="Seconds without a heartbeat after which a compute service is down.",
    ),
    cfg.FloatOpt(
        "heartbeat_flush_interval",
        default=5.0,
        min=0.05,
        help="Seconds between batched writes of heartbeats to the database, each followed by a "
        "read of what the other conductors wrote (with several conductors, each hears only some "
        "heartbeats). At most a quarter of service_down_time is used, so a heartbeat reaches "
        "every conductor well before the host would read down.",
    ),
    cfg.FloatOpt(
        "graceful_shutdown_timeout",
        default=60.0,
        min=0.0,
        help="Seconds a conductor stopped with SIGTERM waits for its operations in flight; then "
        "it gives up its lease and exits, and another conductor takes over what is left.",
    ),
    cfg.FloatOpt(
        "sync_power_state_interval",
        default=600.0,
        help="Seconds between power-state syncs (one list_instances per host). <= 0 disables it.",
    ),
    cfg.StrOpt(
        "unknown_instance_action",
        default="reap",
        choices=[
            ("reap", "destroy it on its hypervisor (its capacity is released)"),
            ("power_off", "power it off and leave it there"),
            ("log", "only log it, at every sync"),
        ],
        help="What the power-state sync does with an instance a hypervisor runs that the core does "
        "not know or has deleted (a delete while its host was down, a spawn replayed after a delete, "
        "a late spawn on a host the build left). Like Nova's running_deleted_instance_action; "
        "acted on at the second sync that still finds it, and not before "
        "unknown_instance_grace seconds after the first.",
    ),
    cfg.FloatOpt(
        "unknown_instance_grace",
        default=0.0,
        min=0.0,
        help="Seconds an unknown instance must have been seen for before unknown_instance_action "
        "applies (on top of being seen by two syncs).",
    ),
    cfg.IntOpt("workers", default=64, min=1, help="Threads running operations on compute hosts."),
    cfg.IntOpt("sync_workers", default=8, min=1, help="Hosts the power-state sync queries at once."),
    cfg.IntOpt("api_timeout", default=60, min=1, help="Seconds a conductor API call may take."),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    for opts, group in (
        (default_opts, None),
        (database_opts, "database"),
        (scheduler_opts, "scheduler"),
        (conductor_opts, "conductor"),
    ):
        try:
            conf.register_opts(opts, group=group)
        except cfg.DuplicateOptError:
            pass


def database_connection(conf: cfg.ConfigOpts) -> str:
    if conf.database.connection:
        return conf.database.connection
    os.makedirs(conf.state_path, exist_ok=True)
    return "sqlite:///" + os.path.join(conf.state_path, "nova.sqlite")


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    return [
        (None, default_opts),
        ("database", database_opts),
        ("scheduler", scheduler_opts),
        ("conductor", conductor_opts),
    ]
