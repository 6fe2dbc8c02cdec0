"""The queries the conductor runs. Every method is one transaction.

State changes of an instance are compare-and-swaps on (vm_state, task_state)
(:meth:`Database.cas_instance`), so two requests never both start; capacity
claims lock the host's service row (``SELECT ... FOR UPDATE`` on PostgreSQL,
a process lock on SQLite, where the conductor is the only writer) so parallel
creates never overcommit a host.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, NamedTuple

from oslo_utils import timeutils
from sqlalchemy import Text, bindparam, cast, create_engine, event, func, or_, select, update
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from nova_common.db import models

#: How long a flavor or image read stays cached (see Database._cached).
CATALOG_CACHE_TTL_S = 5.0


#: Tries of a heartbeat batch the database aborted as a deadlock victim.
_DEADLOCK_RETRIES = 3


def _is_deadlock(error: DBAPIError) -> bool:
    # PostgreSQL's SQLSTATE 40P01, MySQL's 1213; SQLite has no row locks.
    code = getattr(error.orig, "pgcode", None) or (getattr(error.orig, "args", None) or [None])[0]
    return code in ("40P01", 1213) or "deadlock" in str(error.orig).lower()


def now() -> datetime.datetime:
    return timeutils.utcnow().replace(tzinfo=None)


_INSTANCES = models.Instance.__table__
_SERVICES = models.Service.__table__
_ACTIONS = models.InstanceAction.__table__
_CONDUCTORS = models.Conductor.__table__

# The statements of a create and a build, built once: constructing a statement
# (and its cache key) per call cost more than running it. Values come as
# execution parameters; WHERE parameters are named ``b_*`` (a bind named
# after a column would be taken for that column's new value).
_INSERT_INSTANCE = _INSTANCES.insert()
_INSERT_ACTION = _ACTIONS.insert()
_LOCK_HOST = (
    select(
        _SERVICES.c.vcpus,
        _SERVICES.c.vcpus_used,
        _SERVICES.c.memory_mb,
        _SERVICES.c.memory_mb_used,
        _SERVICES.c.local_gb,
        _SERVICES.c.local_gb_used,
    )
    .where(_SERVICES.c.host == bindparam("b_host"))
    .with_for_update()
)
_CLAIMED_ON_HOST = select(
    func.coalesce(func.sum(_INSTANCES.c.vcpus), 0),
    func.coalesce(func.sum(_INSTANCES.c.memory_mb), 0),
    func.coalesce(func.sum(_INSTANCES.c.disk_gb), 0),
).where(
    _INSTANCES.c.host == bindparam("b_host"),
    _INSTANCES.c.deleted == 0,
    _INSTANCES.c.uuid != bindparam("b_uuid"),
)
_UPDATE_SERVICE = update(_SERVICES).where(_SERVICES.c.host == bindparam("b_host"))
_FINISH_ACTION = update(_ACTIONS).where(
    _ACTIONS.c.instance_uuid == bindparam("b_uuid"), _ACTIONS.c.finish_time.is_(None)
)
_FINISH_REQUEST = _FINISH_ACTION.where(_ACTIONS.c.request_id == bindparam("b_request_id"))


def _instance_dict(row: Mapping[str, Any]) -> dict[str, Any]:
    """An instances row written or read with Core, as ``models.Instance.to_dict``
    gives it (Core keys the column ``metadata`` by that name, which is the
    dict's name for the ORM's ``instance_metadata``)."""
    out = {}
    for column in _INSTANCES.columns:
        value = row[column.name]
        out[column.name] = value.isoformat() if isinstance(value, datetime.datetime) else value
    return out


def make_engine(connection: str, pool_size: int = 10, max_overflow: int = 50) -> Engine:
    url = make_url(connection)
    if url.get_backend_name() == "sqlite":
        engine = create_engine(connection, connect_args={"check_same_thread": False, "timeout": 60})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return create_engine(connection, pool_size=pool_size, max_overflow=max_overflow, pool_pre_ping=True)


def _check_columns(table: Any, names: Iterable[str]) -> None:
    """Statements given their values as execution parameters ignore a key that
    names no column; a misspelt one must fail, not be dropped."""
    unknown = set(names).difference(table.c.keys())
    if unknown:
        raise ValueError(f"{table.name} has no column {', '.join(sorted(unknown))}")


class NewInstance(NamedTuple):
    """A create's instance row, action and request id, for a claim to insert."""

    values: dict[str, Any]
    action: str
    request_id: str


class Database:
    """The core's database on one engine."""

    def __init__(self, connection: str | Engine, pool_size: int = 10, max_overflow: int = 50) -> None:
        self.engine = (
            connection if isinstance(connection, Engine) else make_engine(connection, pool_size, max_overflow)
        )
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        # SQLite allows one writer; a read-then-write transaction racing another
        # writer fails at once (SQLITE_BUSY_SNAPSHOT) instead of waiting, so the
        # process serialises its writers. PostgreSQL needs no such lock.
        self._write_lock: contextlib.AbstractContextManager[Any] = (
            threading.RLock() if self.is_sqlite else contextlib.nullcontext()
        )
        # Flavors and images are read by every create and every operation but
        # change rarely; writes through this object clear the cache, and the
        # TTL bounds how long another conductor's change can go unseen.
        self._catalog: dict[tuple[str, str], tuple[float, dict[str, Any]]] = {}
        self._cas_statements: dict[tuple[Any, ...], Any] = {}
        self._catalog_lock = threading.Lock()

    def _cached(self, kind: str, key: str, load: Any) -> dict[str, Any] | None:
        hit = self._catalog.get((kind, key))
        if hit is not None and hit[0] > time.monotonic():
            return dict(hit[1])
        # One loader at a time: when an entry expires under a burst of creates,
        # every one of them would otherwise read the same row.
        with self._catalog_lock:
            stamp = time.monotonic()
            hit = self._catalog.get((kind, key))
            if hit is not None and hit[0] > stamp:
                return dict(hit[1])
            value = load()
            if value is not None:  # a miss is not cached: the row may be created next
                self._catalog[(kind, key)] = (stamp + CATALOG_CACHE_TTL_S, value)
        return None if value is None else dict(value)

    def _forget_catalog(self) -> None:
        self._catalog.clear()

    def dispose(self) -> None:
        self.engine.dispose()

    @contextlib.contextmanager
    def writer(self) -> Iterator[Session]:
        with self._write_lock, self._sessions() as session, session.begin():
            yield session

    @contextlib.contextmanager
    def reader(self) -> Iterator[Session]:
        with self._sessions() as session:
            yield session

    # -- services -------------------------------------------------------------

    def register_service(
        self, host: str, values: dict[str, Any], beat_since: datetime.datetime | None = None
    ) -> tuple[dict[str, Any], bool]:
        """Create or update the service of ``host``; keeps enabled/disabled.

        With ``beat_since``, a registration that would change nothing (a
        retry, or one a conductor asked for, of a host that is not stopped and
        heartbeat since then) writes nothing: a read instead of a write kept a
        fleet registering again at once from queueing behind the boots' writes
        (SQLite has one writer)."""
        if beat_since is not None:
            with self.reader() as session:
                service = session.scalars(select(models.Service).where(models.Service.host == host)).first()
                if (
                    service is not None
                    and service.stopped_at is None
                    and service.last_heartbeat is not None
                    and service.last_heartbeat >= beat_since
                    and all(getattr(service, key) == value for key, value in values.items())
                ):
                    return service.to_dict(), False
        stamp = now()
        with self.writer() as session:
            service = session.scalars(select(models.Service).where(models.Service.host == host)).first()
            created = service is None
            if service is None:
                service = models.Service(
                    host=host,
                    created_at=stamp,
                    enabled=True,
                    heartbeat_sequence=0,
                    vcpus=0,
                    vcpus_used=0,
                    memory_mb=0,
                    memory_mb_used=0,
                    local_gb=0,
                    local_gb_used=0,
                )
                session.add(service)
            for key, value in values.items():
                setattr(service, key, value)
            service.last_heartbeat = stamp
            service.stopped_at = None
            service.updated_at = stamp
            session.flush()
            return service.to_dict(), created

    def deregister_service(self, host: str) -> bool:
        """The service stopped on purpose: down for every conductor at once,
        and heartbeats still in flight do not bring it back (only a
        registration does)."""
        with self.writer() as session:
            result = session.connection().execute(
                update(_SERVICES).where(_SERVICES.c.host == host).values(stopped_at=now())
            )
            return bool(result.rowcount)

    def record_heartbeats(self, beats: dict[str, tuple[datetime.datetime, int]]) -> None:
        """One batched UPDATE for many heartbeats.

        Several conductors write these: rows are updated in host order, so two
        batches lock them in the same order and cannot deadlock, and a beat
        older than the stored one (a slower conductor's batch) or for a
        service that deregistered changes nothing."""
        if not beats:
            return
        c = _SERVICES.c
        statement = (
            update(_SERVICES)
            .where(
                c.host == bindparam("b_host"),
                c.stopped_at.is_(None),
                or_(c.last_heartbeat.is_(None), c.last_heartbeat < bindparam("b_time")),
            )
            .values(last_heartbeat=bindparam("b_time"), heartbeat_sequence=bindparam("b_seq"))
        )
        params = [{"b_host": h, "b_time": t, "b_seq": s} for h, (t, s) in sorted(beats.items())]
        for attempt in range(_DEADLOCK_RETRIES):
            try:
                with self.writer() as session:
                    session.connection().execute(statement, params)
                return
            except DBAPIError as error:
                # Sorted batches do not deadlock each other; a claim's row
                # lock and a batch still can, rarely: the database picks one
                # to abort, and a retry of a heartbeat batch is harmless.
                if not _is_deadlock(error) or attempt == _DEADLOCK_RETRIES - 1:
                    raise

    def liveness_rows(self) -> list[tuple[Any, ...]]:
        """(host, last_heartbeat, stopped_at, registration) of every service,
        where registration is what a re-registration may change (versions,
        capabilities), for conductors to share what each one heard."""
        c = _SERVICES.c
        columns = (
            c.host,
            c.last_heartbeat,
            c.stopped_at,
            c.driver_version,
            c.virt_api_min,
            c.virt_api_max,
            cast(c.capabilities, Text),
        )
        with self.engine.connect() as connection:
            rows = connection.execute(select(*columns)).all()
        decoded: dict[str | None, tuple[str, ...]] = {}
        out = []
        for host, beat, stopped, version, virt_min, virt_max, capabilities_json in rows:
            capabilities = decoded.get(capabilities_json)
            if capabilities is None:
                capabilities = tuple(json.loads(capabilities_json) if capabilities_json else ())
                decoded[capabilities_json] = capabilities
            out.append((host, beat, stopped, (version, virt_min, virt_max, capabilities)))
        return out

    # -- conductors and their leases ----------------------------------------

    def register_conductor(self, conductor_id: str, server: str, hostname: str, pid: int) -> None:
        stamp = now()
        with self.writer() as session:
            session.connection().execute(
                _CONDUCTORS.insert(),
                {
                    "id": conductor_id,
                    "server": server,
                    "hostname": hostname,
                    "pid": pid,
                    "started_at": stamp,
                    "renewed_at": stamp,
                },
            )

    def renew_conductor(self, conductor_id: str) -> bool:
        """Renew the lease; False when it was given up (stopped) meanwhile."""
        with self.writer() as session:
            result = session.connection().execute(
                update(_CONDUCTORS)
                .where(_CONDUCTORS.c.id == conductor_id, _CONDUCTORS.c.stopped_at.is_(None))
                .values(renewed_at=now())
            )
            return bool(result.rowcount)

    def stop_conductor(self, conductor_id: str) -> None:
        """Give up the lease: what the conductor still owns is taken over at once."""
        with self.writer() as session:
            session.connection().execute(
                update(_CONDUCTORS)
                .where(_CONDUCTORS.c.id == conductor_id, _CONDUCTORS.c.stopped_at.is_(None))
                .values(stopped_at=now())
            )

    def list_conductors(self) -> list[dict[str, Any]]:
        with self.reader() as session:
            return [
                c.to_dict()
                for c in session.scalars(select(models.Conductor).order_by(models.Conductor.started_at))
            ]

    def live_conductor_ids(self, lease_time: float) -> set[str]:
        """Conductors that renewed within ``lease_time`` seconds and did not stop."""
        c = _CONDUCTORS.c
        since = now() - datetime.timedelta(seconds=lease_time)
        with self.engine.connect() as connection:
            rows = connection.execute(select(c.id).where(c.stopped_at.is_(None), c.renewed_at >= since)).all()
        return {row[0] for row in rows}

    def forget_conductors(self, older_than: float) -> int:
        """Delete leases that ended more than ``older_than`` seconds ago and own nothing."""
        c = _CONDUCTORS.c
        before = now() - datetime.timedelta(seconds=older_than)
        owned = select(_INSTANCES.c.owner).where(
            _INSTANCES.c.owner.is_not(None), _INSTANCES.c.task_state.is_not(None)
        )
        with self.writer() as session:
            result = session.connection().execute(
                _CONDUCTORS.delete().where(
                    or_(c.stopped_at < before, c.renewed_at < before), c.id.not_in(owned)
                )
            )
            return result.rowcount or 0

    def orphaned_operations(self, live_ids: set[str]) -> list[dict[str, Any]]:
        """Instances with an operation in flight whose owner is not alive."""
        with self.reader() as session:
            query = (
                select(models.Instance)
                .where(models.Instance.deleted == 0, models.Instance.task_state.is_not(None))
                .where(or_(models.Instance.owner.is_(None), models.Instance.owner.not_in(list(live_ids))))
                .order_by(models.Instance.id)
            )
            return [i.to_dict() for i in session.scalars(query)]

    def take_over(self, uuid: str, previous_owner: str | None, new_owner: str) -> dict[str, Any] | None:
        """Make ``new_owner`` the owner if ``previous_owner`` still is; the row, or None."""
        c = _INSTANCES.c
        owner_is = c.owner.is_(None) if previous_owner is None else c.owner == previous_owner
        with self.writer() as session:
            result = session.connection().execute(
                update(_INSTANCES)
                .where(c.uuid == uuid, c.deleted == 0, c.task_state.is_not(None), owner_is)
                .values(owner=new_owner, updated_at=now())
            )
            if result.rowcount != 1:
                return None
        return self.get_instance(uuid)

    def update_resources(self, host: str, values: dict[str, Any]) -> bool:
        _check_columns(_SERVICES, values)
        with self.writer() as session:
            # Core with the values as parameters: a changed report per host per interval.
            result = session.connection().execute(
                _UPDATE_SERVICE, values | {"b_host": host, "resources_updated_at": now()}
            )
            return bool(result.rowcount)

    def get_service(self, host: str) -> dict[str, Any] | None:
        with self.reader() as session:
            service = session.scalars(select(models.Service).where(models.Service.host == host)).first()
            return None if service is None else service.to_dict()

    def list_services(self) -> list[dict[str, Any]]:
        with self.reader() as session:
            return [
                s.to_dict() for s in session.scalars(select(models.Service).order_by(models.Service.host))
            ]

    def service_rows(self) -> list[tuple[Any, ...]]:
        """Every service as a plain tuple of what the scheduler reads: (host,
        enabled, hypervisor_type, capabilities as a frozenset, vcpus,
        vcpus_used, memory_mb, memory_mb_used, local_gb, local_gb_used).

        The scheduler reloads this every ``host_state_ttl``: named access on
        SQLAlchemy rows and one JSON decode per row made that 10 ms at 1,000
        services, so the capabilities come as text and each distinct set is
        decoded once."""
        c = _SERVICES.c
        columns = (
            c.host,
            c.enabled,
            c.hypervisor_type,
            cast(c.capabilities, Text),
            c.vcpus,
            c.vcpus_used,
            c.memory_mb,
            c.memory_mb_used,
            c.local_gb,
            c.local_gb_used,
        )
        with self.engine.connect() as connection:
            rows = connection.execute(select(*columns)).all()
        decoded: dict[str | None, frozenset[str]] = {}
        out = []
        for host, enabled, hypervisor_type, capabilities_json, *resources in rows:
            capabilities = decoded.get(capabilities_json)
            if capabilities is None:
                capabilities = frozenset(json.loads(capabilities_json) if capabilities_json else ())
                decoded[capabilities_json] = capabilities
            out.append((host, enabled, hypervisor_type, capabilities, *resources))
        return out

    def set_service_enabled(self, host: str, enabled: bool, reason: str | None) -> dict[str, Any] | None:
        with self.writer() as session:
            service = session.scalars(select(models.Service).where(models.Service.host == host)).first()
            if service is None:
                return None
            service.enabled = enabled
            service.disabled_reason = None if enabled else reason
            service.updated_at = now()
            return service.to_dict()

    # -- flavors and images ---------------------------------------------------

    def create_flavor(self, values: dict[str, Any]) -> dict[str, Any]:
        self._forget_catalog()
        with self.writer() as session:
            flavor = models.Flavor(created_at=now(), **values)
            session.add(flavor)
            session.flush()
            return flavor.to_dict()

    def get_flavor(self, ref: str) -> dict[str, Any] | None:
        """By flavorid or by name."""
        return self._cached("flavor", ref, lambda: self._load_flavor(ref))

    def _load_flavor(self, ref: str) -> dict[str, Any] | None:
        with self.reader() as session:
            flavor = session.scalars(
                select(models.Flavor).where(or_(models.Flavor.flavorid == ref, models.Flavor.name == ref))
            ).first()
            return None if flavor is None else flavor.to_dict()

    def get_flavor_by_id(self, flavor_id: int) -> dict[str, Any] | None:
        with self.reader() as session:
            flavor = session.get(models.Flavor, flavor_id)
            return None if flavor is None else flavor.to_dict()

    def list_flavors(self) -> list[dict[str, Any]]:
        with self.reader() as session:
            return [f.to_dict() for f in session.scalars(select(models.Flavor).order_by(models.Flavor.id))]

    def delete_flavor(self, ref: str) -> bool:
        self._forget_catalog()
        with self.writer() as session:
            flavor = session.scalars(
                select(models.Flavor).where(or_(models.Flavor.flavorid == ref, models.Flavor.name == ref))
            ).first()
            if flavor is None:
                return False
            in_use = session.scalar(
                select(func.count())
                .select_from(models.Instance)
                .where(models.Instance.flavor_id == flavor.id)
            )
            if in_use:
                raise ValueError(f"flavor {ref} is used by {in_use} instances")
            session.delete(flavor)
            return True

    def create_image(self, values: dict[str, Any]) -> dict[str, Any]:
        self._forget_catalog()
        with self.writer() as session:
            image = models.Image(created_at=now(), **values)
            session.add(image)
            session.flush()
            return image.to_dict()

    def get_image(self, image_id: str) -> dict[str, Any] | None:
        return self._cached("image", image_id, lambda: self._load_image(image_id))

    def _load_image(self, image_id: str) -> dict[str, Any] | None:
        with self.reader() as session:
            image = session.get(models.Image, image_id)
            return None if image is None else image.to_dict()

    def update_image(self, image_id: str, values: dict[str, Any]) -> None:
        with self.writer() as session:
            session.execute(update(models.Image).where(models.Image.id == image_id).values(**values))
        self._forget_catalog()

    def list_images(self) -> list[dict[str, Any]]:
        with self.reader() as session:
            return [
                i.to_dict() for i in session.scalars(select(models.Image).order_by(models.Image.created_at))
            ]

    # -- instances ------------------------------------------------------------

    def create_instance(
        self, values: dict[str, Any], action: str, request_id: str, session: Session | None = None
    ) -> dict[str, Any]:
        """Insert an instance and its first action in one transaction
        (``session``'s, so a claim can join it)."""
        if session is None:
            with self.writer() as own:
                return self.create_instance(values, action, request_id, own)
        # Core, not the ORM: one insert per create, and the caller gets the
        # row as a dict, not an object to keep in the session.
        stamp = now()
        row = {"metadata" if k == "instance_metadata" else k: v for k, v in values.items()}
        row.update(created_at=stamp, updated_at=stamp, deleted=0)
        _check_columns(_INSTANCES, row)
        connection = session.connection()
        result = connection.execute(_INSERT_INSTANCE, row)
        connection.execute(
            _INSERT_ACTION,
            {
                "instance_uuid": values["uuid"],
                "action": action,
                "request_id": request_id,
                "start_time": stamp,
            },
        )
        # What was inserted, column defaults included; the rest is NULL.
        inserted = result.last_inserted_params()
        return _instance_dict(
            {c.name: inserted.get(c.name) for c in _INSTANCES.columns}
            | {"id": result.inserted_primary_key[0]}
        )

    def get_instance(self, uuid: str, include_deleted: bool = False) -> dict[str, Any] | None:
        with self.reader() as session:
            query = select(models.Instance).where(models.Instance.uuid == uuid)
            if not include_deleted:
                query = query.where(models.Instance.deleted == 0)
            instance = session.scalars(query).first()
            return None if instance is None else instance.to_dict()

    def list_instances(
        self,
        host: str | None = None,
        include_deleted: bool = False,
        transitional_only: bool = False,
        uuids: Iterable[str] | None = None,
    ) -> list[dict[str, Any]]:
        with self.reader() as session:
            query = select(models.Instance).order_by(models.Instance.id)
            if not include_deleted:
                query = query.where(models.Instance.deleted == 0)
            if host is not None:
                query = query.where(models.Instance.host == host)
            if transitional_only:
                query = query.where(models.Instance.task_state.is_not(None))
            if uuids is not None:
                query = query.where(models.Instance.uuid.in_(list(uuids)))
            return [i.to_dict() for i in session.scalars(query)]

    def count_instances(self) -> dict[str, int]:
        with self.reader() as session:
            rows = session.execute(
                select(models.Instance.vm_state, func.count())
                .where(models.Instance.deleted == 0)
                .group_by(models.Instance.vm_state)
            )
            return {state: count for state, count in rows}

    def cas_instance(
        self,
        uuid: str,
        vm_states: Iterable[str] | None,
        task_states: Iterable[str | None] | None,
        values: dict[str, Any],
        session: Session | None = None,
        owned_by: str | None = None,
    ) -> dict[str, Any] | None:
        """Update the instance when its vm_state and task_state are among the
        expected ones (None: any) and, with ``owned_by``, that conductor still
        owns its operation (one that lost its lease cannot overwrite the state
        its successor set). Returns the new row, or None when it moved."""
        if session is None:
            with self.writer() as own:
                return self.cas_instance(uuid, vm_states, task_states, values, own, owned_by)
        # Core on the table, not the ORM's bulk update: this runs several
        # times per instance operation. RETURNING reads the new row in the
        # same statement (SQLite >= 3.35 and PostgreSQL have it).
        values = {"updated_at": now(), **values}
        if "instance_metadata" in values:
            values["metadata"] = values.pop("instance_metadata")
        returning = self.engine.dialect.update_returning
        query = self._cas_statement(
            None if vm_states is None else tuple(vm_states),
            None if task_states is None else tuple(task_states),
            tuple(sorted(values)),
            returning,
            owned_by is not None,
        )
        connection = session.connection()
        params = values | {"b_uuid": uuid}
        if owned_by is not None:
            params["b_owner"] = owned_by
        result = connection.execute(query, params)
        if returning:
            rows = result.all()
            return _instance_dict(rows[0]._mapping) if len(rows) == 1 else None
        if result.rowcount != 1:
            return None
        c = _INSTANCES.c
        row = connection.execute(select(_INSTANCES).where(c.uuid == uuid, c.deleted == 0)).first()
        return None if row is None else _instance_dict(row._mapping)

    def _cas_statement(
        self,
        vm_states: tuple[str, ...] | None,
        task_states: tuple[str | None, ...] | None,
        columns: tuple[str, ...],
        returning: bool,
        owned: bool = False,
    ) -> Any:
        """The compare-and-swap UPDATE for these expected states and columns,
        built once (the callers use a handful of combinations); the new
        values and ``b_uuid`` come as execution parameters."""
        key = (vm_states, task_states, columns, returning, owned)
        query = self._cas_statements.get(key)
        if query is not None:
            return query
        _check_columns(_INSTANCES, columns)
        c = _INSTANCES.c
        query = update(_INSTANCES).where(c.uuid == bindparam("b_uuid"), c.deleted == 0)
        if vm_states is not None:
            query = query.where(c.vm_state.in_(vm_states))
        if task_states is not None:
            named = [t for t in task_states if t is not None]
            clauses = [c.task_state.in_(named)] if named else []
            if None in task_states:
                clauses.append(c.task_state.is_(None))
            query = query.where(or_(*clauses))
        if owned:
            query = query.where(c.owner == bindparam("b_owner"))
        if returning:
            query = query.returning(*_INSTANCES.columns)
        self._cas_statements[key] = query
        return query

    def soft_delete_instance(self, uuid: str) -> bool:
        """Mark the instance deleted and release its claim."""
        with self.writer() as session:
            instance = session.scalars(
                select(models.Instance).where(models.Instance.uuid == uuid, models.Instance.deleted == 0)
            ).first()
            if instance is None:
                return False
            stamp = now()
            instance.deleted = instance.id
            instance.deleted_at = stamp
            instance.updated_at = stamp
            instance.vm_state = "deleted"
            instance.task_state = None
            instance.power_state = "nostate"
            return True

    def claim(
        self,
        uuid: str,
        host: str,
        vcpus: int,
        memory_mb: int,
        disk_gb: int,
        task_state: str,
        new_task_state: str | None = None,
        session: Session | None = None,
        new_instance: NewInstance | None = None,
    ) -> dict[str, Any] | None:
        """Atomically put the instance on ``host`` if the host still has room,
        moving it from ``task_state`` to ``new_task_state`` when one is given.

        Room: the reported total minus the larger of the reported use and the
        sum of the claims of the host's live instances (which covers spawns
        in flight that the last report does not show yet).

        With ``session`` the claim joins that transaction. With
        ``new_instance`` (a create) the instance does not exist yet: a claim
        that finds room inserts it on ``host``, already moved to
        ``new_task_state``, with its first action; a refused one inserts nothing.
        """
        if session is None:
            with self.writer() as own:
                return self.claim(
                    uuid, host, vcpus, memory_mb, disk_gb, task_state, new_task_state, own, new_instance
                )
        # A refused claim must not keep the host's row locked for the rest of
        # the caller's transaction, which goes on to lock the next candidate:
        # two creates would deadlock. Rolling back to a savepoint releases it.
        # (SQLite takes no row locks: the process lock serialises writers.)
        savepoint = None if self.is_sqlite else session.begin_nested()
        claimed = self._claim(
            session, uuid, host, vcpus, memory_mb, disk_gb, task_state, new_task_state, new_instance
        )
        if savepoint is not None and claimed is None:
            savepoint.rollback()
        elif savepoint is not None:
            savepoint.commit()
        return claimed

    def _claim(
        self,
        session: Session,
        uuid: str,
        host: str,
        vcpus: int,
        memory_mb: int,
        disk_gb: int,
        task_state: str,
        new_task_state: str | None,
        new_instance: NewInstance | None,
    ) -> dict[str, Any] | None:
        # Core rather than ORM for the locked read: it runs once per create.
        connection = session.connection()
        service = connection.execute(_LOCK_HOST, {"b_host": host}).first()
        if service is None:
            return None
        used = connection.execute(_CLAIMED_ON_HOST, {"b_host": host, "b_uuid": uuid}).one()
        if (
            service.vcpus - max(service.vcpus_used, used[0]) < vcpus
            or service.memory_mb - max(service.memory_mb_used, used[1]) < memory_mb
            or service.local_gb - max(service.local_gb_used, used[2]) < disk_gb
        ):
            return None
        if new_instance is not None:
            values = {
                **new_instance.values,
                "host": host,
                "task_state": new_task_state or task_state,
                "attempts": 1,
                "tried_hosts": [host],
            }
            return self.create_instance(values, new_instance.action, new_instance.request_id, session)
        instance = session.scalars(
            select(models.Instance).where(models.Instance.uuid == uuid, models.Instance.deleted == 0)
        ).first()
        if instance is None or instance.task_state != task_state:
            return None
        instance.host = host
        if new_task_state is not None:
            instance.task_state = new_task_state
        instance.attempts += 1
        instance.tried_hosts = [*instance.tried_hosts, host]
        instance.updated_at = now()
        return instance.to_dict()

    def usage_by_host(self) -> dict[str, tuple[int, int, int]]:
        with self.reader() as session:
            rows = session.execute(
                select(
                    models.Instance.host,
                    func.sum(models.Instance.vcpus),
                    func.sum(models.Instance.memory_mb),
                    func.sum(models.Instance.disk_gb),
                )
                .where(models.Instance.deleted == 0, models.Instance.host.is_not(None))
                .group_by(models.Instance.host)
            )
            return {host: (int(v), int(m), int(d)) for host, v, m, d in rows}

    # -- actions and faults -------------------------------------------------------

    def instance_created_by(self, request_id: str) -> str | None:
        """The uuid of the instance the create with ``request_id`` made, or None."""
        with self.reader() as session:
            return session.scalars(
                select(models.InstanceAction.instance_uuid).where(
                    models.InstanceAction.action == "create", models.InstanceAction.request_id == request_id
                )
            ).first()

    def start_action(self, uuid: str, action: str, request_id: str, session: Session | None = None) -> None:
        record = models.InstanceAction(
            instance_uuid=uuid, action=action, request_id=request_id, start_time=now()
        )
        if session is not None:
            session.add(record)
            return
        with self.writer() as own:
            own.add(record)

    def finish_action(
        self,
        uuid: str,
        request_id: str | None,
        result: str,
        message: str | None = None,
        session: Session | None = None,
    ) -> None:
        """Finish the open action of ``request_id`` (None: every open action)."""
        if session is None:
            with self.writer() as own:
                return self.finish_action(uuid, request_id, result, message, own)
        # Core: once per finished operation.
        values = {"b_uuid": uuid, "finish_time": now(), "result": result, "message": message}
        if request_id is None:
            session.connection().execute(_FINISH_ACTION, values)
        else:
            session.connection().execute(_FINISH_REQUEST, values | {"b_request_id": request_id})

    def record_action(self, uuid: str, action: str, request_id: str, message: str | None) -> None:
        """An action that starts and finishes at once (an out-of-band change)."""
        stamp = now()
        with self.writer() as session:
            session.add(
                models.InstanceAction(
                    instance_uuid=uuid,
                    action=action,
                    request_id=request_id,
                    start_time=stamp,
                    finish_time=stamp,
                    result="success",
                    message=message,
                )
            )

    def get_action(self, uuid: str, request_id: str) -> dict[str, Any] | None:
        with self.reader() as session:
            action = session.scalars(
                select(models.InstanceAction).where(
                    models.InstanceAction.instance_uuid == uuid,
                    models.InstanceAction.request_id == request_id,
                )
            ).first()
            return None if action is None else action.to_dict()

    def open_request_id(self, uuid: str, action: str) -> str | None:
        """The request id of the instance's unfinished ``action``, if any."""
        a = _ACTIONS.c
        with self.engine.connect() as connection:
            row = connection.execute(
                select(a.request_id)
                .where(a.instance_uuid == uuid, a.action == action, a.finish_time.is_(None))
                .order_by(a.id.desc())
            ).first()
        return None if row is None else row[0]

    def list_actions(self, uuid: str) -> list[dict[str, Any]]:
        with self.reader() as session:
            return [
                a.to_dict()
                for a in session.scalars(
                    select(models.InstanceAction)
                    .where(models.InstanceAction.instance_uuid == uuid)
                    .order_by(models.InstanceAction.id)
                )
            ]

    def add_fault(self, uuid: str, code: str, message: str, details: str | None, host: str | None) -> None:
        with self.writer() as session:
            session.add(
                models.InstanceFault(
                    instance_uuid=uuid,
                    code=code,
                    message=message,
                    details=details,
                    host=host,
                    created_at=now(),
                )
            )

    def list_faults(self, uuid: str) -> list[dict[str, Any]]:
        with self.reader() as session:
            return [
                f.to_dict()
                for f in session.scalars(
                    select(models.InstanceFault)
                    .where(models.InstanceFault.instance_uuid == uuid)
                    .order_by(models.InstanceFault.id)
                )
            ]

    # -- key pairs (migration 0002) --------------------------------------------------

    def create_keypair(self, values: dict[str, Any]) -> dict[str, Any] | None:
        """Insert a key pair; None when the user already has one of that name."""
        with self.writer() as session:
            exists = session.scalars(
                select(models.KeyPair).where(
                    models.KeyPair.user_id == values["user_id"], models.KeyPair.name == values["name"]
                )
            ).first()
            if exists is not None:
                return None
            keypair = models.KeyPair(**values, created_at=now())
            session.add(keypair)
            session.flush()
            return keypair.to_dict()

    def list_keypairs(self, user_id: str) -> list[dict[str, Any]]:
        with self.reader() as session:
            query = (
                select(models.KeyPair).where(models.KeyPair.user_id == user_id).order_by(models.KeyPair.name)
            )
            return [k.to_dict() for k in session.scalars(query)]

    def get_keypair(self, user_id: str, name: str) -> dict[str, Any] | None:
        with self.reader() as session:
            keypair = session.scalars(
                select(models.KeyPair).where(models.KeyPair.user_id == user_id, models.KeyPair.name == name)
            ).first()
            return None if keypair is None else keypair.to_dict()

    def delete_keypair(self, user_id: str, name: str) -> bool:
        with self.writer() as session:
            keypair = session.scalars(
                select(models.KeyPair).where(models.KeyPair.user_id == user_id, models.KeyPair.name == name)
            ).first()
            if keypair is None:
                return False
            session.delete(keypair)
            return True

    # -- what the API's server list cache reads ------------------------------------------

    def instance_stamps(self, host: str | None = None) -> list[list[Any]]:
        """``[uuid, stamp, name, vm_state, task_state, host]`` of every live instance,
        oldest first; ``stamp`` (updated_at, else created_at) changes with every write."""
        c = _INSTANCES.c
        query = (
            select(
                c.uuid, func.coalesce(c.updated_at, c.created_at), c.name, c.vm_state, c.task_state, c.host
            )
            .where(c.deleted == 0)
            .order_by(c.id)
        )
        if host is not None:
            query = query.where(c.host == host)
        with self.engine.connect() as connection:
            return [
                [uuid, stamp.isoformat() if isinstance(stamp, datetime.datetime) else stamp, *rest]
                for uuid, stamp, *rest in connection.execute(query)
            ]
