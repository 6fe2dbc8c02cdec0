"""A whole cloud in one process for the core's functional tests."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import uuid
from typing import Any

from oslo_config import cfg

from nova_common import messaging
from nova_common.compute.api import ComputeAPI
from nova_common.conductor import conf as core_conf
from nova_common.conductor.rpcapi import get_core_transport
from nova_common.conductor.service import ConductorService
from nova_common.db.api import Database
from nova_common.db.migration import db_sync
from nova_common.messaging import conf as messaging_conf
from nova_common.scaffold import conf as scaffold_conf
from nova_common.scaffold.service import ComputeService
from nova_common.virt import rpcapi
from nova_driver_fake import FakeDriver

MEMORY_URL = "kombu+memory:////"
RABBIT_URL = "rabbit://guest:guest@127.0.0.1:5672/"
PG_ADMIN = "postgresql+psycopg2://postgres@127.0.0.1:5432/"


def reachable(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def postgres_available() -> bool:
    try:
        import psycopg2  # noqa: F401
    except ImportError:
        return False
    return reachable(5432)


@contextlib.contextmanager
def postgres_database(name: str):
    """A throwaway PostgreSQL database; dropped afterwards."""
    import psycopg2

    admin = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="test")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN + name
    finally:
        with admin.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
            )
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.close()


def conductor_conf(**overrides: Any) -> cfg.ConfigOpts:
    conf = cfg.ConfigOpts()
    core_conf.register_opts(conf)
    messaging_conf.register_opts(conf)
    rpcapi.register_opts(conf)
    conf(args=[], default_config_files=[])
    for key, value in overrides.items():
        group, _, name = key.rpartition(".")
        conf.set_override(name, value, group=group or None)
    # As `nova-common conductor` does: the patches measured there.
    messaging.setup(conf, role="conductor")
    return conf


def compute_conf(host: str, **fake: Any) -> cfg.ConfigOpts:
    conf = cfg.ConfigOpts()
    scaffold_conf.register_opts(conf)
    messaging_conf.register_opts(conf)
    FakeDriver.register_opts(conf)
    conf(args=[], default_config_files=[])
    conf.set_override("host", host)
    conf.set_override("heartbeat_interval", 0.2, group="compute")
    conf.set_override("resource_report_interval", 0.2, group="compute")
    for name, value in fake.items():
        conf.set_override(name, value, group="fake")
    return conf


def wait_for(predicate, timeout: float = 20.0, interval: float = 0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s: {predicate}")


def stop_all(stoppables) -> None:
    """Stop RPC servers in parallel (each takes ~1 s to stop)."""
    threads = [threading.Thread(target=s.stop) for s in stoppables]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)


class Cloud:
    """A conductor and ``hosts`` fake compute services over kombu+memory."""

    def __init__(
        self,
        db_url: str,
        hosts: int = 10,
        fake: dict[str, Any] | None = None,
        per_host: dict[int, dict[str, Any]] | None = None,
        driver_classes: dict[int, type[FakeDriver]] | None = None,
        transport_url: str = MEMORY_URL,
        **conductor_overrides: Any,
    ) -> None:
        self.db_url = db_url
        self.tag = uuid.uuid4().hex[:8]
        overrides = {
            "conductor.service_down_time": 1.5,
            "conductor.heartbeat_flush_interval": 0.2,
            "conductor.sync_power_state_interval": 0,
            "conductor.server": f"conductor-{self.tag}",
            "scheduler.host_state_ttl": 0.2,
            "control_exchange": f"nova-test-{self.tag}",
            **conductor_overrides,
        }
        self.conf = conductor_conf(**overrides)
        self.transport = get_core_transport(self.conf, transport_url)
        self.db = Database(db_url)
        db_sync(self.db.engine)
        self.host_names = [f"fake-{self.tag}-{i:02d}" for i in range(hosts)]
        self.fake = fake or {}
        self.per_host = per_host or {}
        self.driver_classes = driver_classes or {}
        self.computes: dict[str, ComputeService] = {}
        self.conductor: ConductorService | None = None
        self.api = ComputeAPI(self.conf, self.transport, timeout=30)

    # -- lifecycle ---------------------------------------------------------

    def start_conductor(self, reconcile: bool = True) -> ConductorService:
        self.conductor = ConductorService(self.conf, self.transport, self.db, reconcile_on_start=reconcile)
        self.conductor.start()
        return self.conductor

    def stop_conductor(self) -> None:
        if self.conductor is not None:
            self.conductor.stop()
            self.conductor = None

    def start_compute(self, index: int, driver_cls: type[FakeDriver] | None = None) -> ComputeService:
        host = self.host_names[index]
        conf = compute_conf(host, **{**self.fake, **self.per_host.get(index, {})})
        conf.set_override("control_exchange", self.conf.control_exchange)
        driver_cls = driver_cls or self.driver_classes.get(index, FakeDriver)
        service = ComputeService(conf, driver_cls(conf), transport=self.transport)
        service.start()
        self.computes[host] = service
        return service

    def start(self) -> None:
        self.start_conductor()
        for index in range(len(self.host_names)):
            self.start_compute(index)
        # Registered and reported resources.
        wait_for(
            lambda: sum(1 for s in self.db.list_services() if s["vcpus"] > 0) == len(self.host_names),
            timeout=30,
        )
        self.conductor.reconciled.wait(10)

    def stop(self) -> None:
        stoppables = list(self.computes.values())
        if self.conductor is not None:
            stoppables.append(self.conductor)
        stop_all(stoppables)
        self.computes.clear()
        self.conductor = None
        self.db.dispose()
        self.transport.cleanup()

    # -- helpers -------------------------------------------------------------

    @property
    def manager(self):
        assert self.conductor is not None
        return self.conductor.manager

    def driver(self, host: str) -> FakeDriver:
        return self.computes[host].driver

    def instance_row(self, uuid_: str) -> dict[str, Any] | None:
        return self.db.get_instance(uuid_, include_deleted=True)

    def table_counts(self) -> dict[str, int]:
        from sqlalchemy import func, select

        from nova_common.db import models

        with self.db.reader() as session:
            return {
                model.__tablename__: session.scalar(select(func.count()).select_from(model))
                for model in (models.Instance, models.InstanceAction, models.InstanceFault, models.Image)
            }
