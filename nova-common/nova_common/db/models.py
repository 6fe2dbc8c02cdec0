"""SQLAlchemy models of the core's tables (the migrations are the source of truth
for the schema; a test checks the two agree)."""

from __future__ import annotations

import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for attr in sa_inspect(type(self)).column_attrs:
            value = getattr(self, attr.key)
            if isinstance(value, datetime.datetime):
                value = value.isoformat()
            out["metadata" if attr.key == "instance_metadata" else attr.key] = value
        return out


class Service(Base):
    """A compute service (one per compute node here): identity, capabilities,
    last resources report, liveness, enabled/disabled."""

    __tablename__ = "services"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    host: Mapped[str] = mapped_column(String(255), unique=True, nullable=False)
    driver_name: Mapped[str] = mapped_column(String(255), nullable=False)
    driver_version: Mapped[str] = mapped_column(String(255), nullable=False)
    hypervisor_type: Mapped[str] = mapped_column(String(255), nullable=False)
    hypervisor_version: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    hypervisor_hostname: Mapped[str | None] = mapped_column(String(255))
    virt_api_min: Mapped[str] = mapped_column(String(16), nullable=False)
    virt_api_max: Mapped[str] = mapped_column(String(16), nullable=False)
    capabilities: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    vcpus: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    vcpus_used: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    memory_mb: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    memory_mb_used: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    local_gb: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    local_gb_used: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    resources_updated_at: Mapped[datetime.datetime | None] = mapped_column(DateTime)
    last_heartbeat: Mapped[datetime.datetime | None] = mapped_column(DateTime)
    # Migration 0004: set when the service deregistered (stopped on purpose);
    # it is down, whatever heartbeat arrives late, until it registers again.
    stopped_at: Mapped[datetime.datetime | None] = mapped_column(DateTime)
    heartbeat_sequence: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime.datetime] = mapped_column(DateTime, nullable=False)
    updated_at: Mapped[datetime.datetime | None] = mapped_column(DateTime)


class Conductor(Base):
    """A conductor process and its lease: it is alive while ``renewed_at`` is
    within ``[conductor] service_down_time`` and ``stopped_at`` is unset. The
    operations it owns (instances.owner) are taken over once it is not."""

    __tablename__ = "conductors"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    server: Mapped[str] = mapped_column(String(255), nullable=False, index=True)
    hostname: Mapped[str] = mapped_column(String(255), nullable=False)
    pid: Mapped[int] = mapped_column(Integer, nullable=False)
    started_at: Mapped[datetime.datetime] = mapped_column(DateTime, nullable=False)
    renewed_at: Mapped[datetime.datetime] = mapped_column(DateTime, nullable=False)
    stopped_at: Mapped[datetime.datetime | None] = mapped_column(DateTime)


class Flavor(Base):
    __tablename__ = "flavors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    flavorid: Mapped[str] = mapped_column(String(255), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(255), unique=True, nullable=False)
    vcpus: Mapped[int] = mapped_column(Integer, nullable=False)
    memory_mb: Mapped[int] = mapped_column(Integer, nullable=False)
    root_gb: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    ephemeral_gb: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    swap_mb: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    extra_specs: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    created_at: Mapped[datetime.datetime] = mapped_column(DateTime, nullable=False)


class Image(Base):
    """The core's small image catalog. ``properties`` may hold
    ``hypervisor_type`` and ``required_capabilities`` (comma-separated)."""

    __tablename__ = "images"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    disk_format: Mapped[str] = mapped_column(String(32), nullable=False, default="raw")
    container_format: Mapped[str] = mapped_column(String(32), nullable=False, default="bare")
    min_ram_mb: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    min_disk_gb: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    size_bytes: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    properties: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    status: Mapped[str] = mapped_column(String(32), nullable=False, default="active")
    location: Mapped[str | None] = mapped_column(String(1024))
    source_instance_uuid: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime.datetime] = mapped_column(DateTime, nullable=False)


class Instance(Base):
    """An instance. The claim (vcpus, memory_mb, disk_gb on ``host``) lives on
    the row itself; soft-deleted rows have ``deleted`` = their id."""

    __tablename__ = "instances"
    __table_args__ = (
        Index("ix_instances_host_deleted", "host", "deleted"),
        Index("ix_instances_deleted_task_state", "deleted", "task_state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    flavor_id: Mapped[int] = mapped_column(ForeignKey("flavors.id"), nullable=False)
    image_id: Mapped[str] = mapped_column(ForeignKey("images.id"), nullable=False)
    host: Mapped[str | None] = mapped_column(String(255))
    vcpus: Mapped[int] = mapped_column(Integer, nullable=False)
    memory_mb: Mapped[int] = mapped_column(Integer, nullable=False)
    disk_gb: Mapped[int] = mapped_column(Integer, nullable=False)
    vm_state: Mapped[str] = mapped_column(String(32), nullable=False)
    task_state: Mapped[str | None] = mapped_column(String(32))
    power_state: Mapped[str] = mapped_column(String(32), nullable=False)
    project_id: Mapped[str | None] = mapped_column(String(255))
    user_id: Mapped[str | None] = mapped_column(String(255))
    instance_metadata: Mapped[dict] = mapped_column("metadata", JSON, nullable=False, default=dict)
    volumes: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    tried_hosts: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    created_at: Mapped[datetime.datetime] = mapped_column(DateTime, nullable=False)
    updated_at: Mapped[datetime.datetime | None] = mapped_column(DateTime)
    launched_at: Mapped[datetime.datetime | None] = mapped_column(DateTime)
    deleted_at: Mapped[datetime.datetime | None] = mapped_column(DateTime)
    deleted: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # Migration 0002: what the compute API stores (Nova's display_description,
    # key_name and server tags).
    description: Mapped[str | None] = mapped_column(String(255))
    key_name: Mapped[str | None] = mapped_column(String(255))
    tags: Mapped[list | None] = mapped_column(JSON)
    # Migration 0004: the conductor (conductors.id) running the operation in
    # flight; another takes it over only once that one's lease is gone.
    owner: Mapped[str | None] = mapped_column(String(36))


class KeyPair(Base):
    """An SSH (or x509) public key registered by a user (Nova's key pairs)."""

    __tablename__ = "key_pairs"
    __table_args__ = (UniqueConstraint("user_id", "name", name="uniq_key_pairs0user_id0name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    user_id: Mapped[str] = mapped_column(String(255), nullable=False)
    fingerprint: Mapped[str] = mapped_column(String(255), nullable=False)
    public_key: Mapped[str] = mapped_column(Text, nullable=False)
    type: Mapped[str] = mapped_column(String(16), nullable=False)
    created_at: Mapped[datetime.datetime] = mapped_column(DateTime, nullable=False)


class InstanceAction(Base):
    """One request on an instance (or an out-of-band change the core noticed)."""

    __tablename__ = "instance_actions"
    # One create per request id: a repeated create finds the first one's
    # instance instead of making another (migration 0003).
    __table_args__ = (
        Index(
            "uniq_instance_actions0create0request_id",
            "request_id",
            unique=True,
            sqlite_where=text("action = 'create'"),
            postgresql_where=text("action = 'create'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_uuid: Mapped[str] = mapped_column(String(36), nullable=False, index=True)
    action: Mapped[str] = mapped_column(String(64), nullable=False)
    request_id: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    start_time: Mapped[datetime.datetime] = mapped_column(DateTime, nullable=False)
    finish_time: Mapped[datetime.datetime | None] = mapped_column(DateTime)
    result: Mapped[str | None] = mapped_column(String(16))  # success / error
    message: Mapped[str | None] = mapped_column(Text)


class InstanceFault(Base):
    __tablename__ = "instance_faults"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_uuid: Mapped[str] = mapped_column(String(36), nullable=False, index=True)
    code: Mapped[str] = mapped_column(String(64), nullable=False)
    message: Mapped[str] = mapped_column(Text, nullable=False)
    details: Mapped[str | None] = mapped_column(Text)
    host: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime.datetime] = mapped_column(DateTime, nullable=False)
