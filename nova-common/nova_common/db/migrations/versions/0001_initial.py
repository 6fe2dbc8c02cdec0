"""Initial schema: services, flavors, images, instances, actions, faults;
seed flavors and a default image.

Revision ID: 0001
Revises:
"""

import datetime

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

DEFAULT_IMAGE_ID = "155d900f-4e14-4e4c-a73d-069cbf4541e6"


def upgrade() -> None:
    op.create_table(
        "services",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("host", sa.String(255), nullable=False, unique=True),
        sa.Column("driver_name", sa.String(255), nullable=False),
        sa.Column("driver_version", sa.String(255), nullable=False),
        sa.Column("hypervisor_type", sa.String(255), nullable=False),
        sa.Column("hypervisor_version", sa.Integer, nullable=False),
        sa.Column("hypervisor_hostname", sa.String(255)),
        sa.Column("virt_api_min", sa.String(16), nullable=False),
        sa.Column("virt_api_max", sa.String(16), nullable=False),
        sa.Column("capabilities", sa.JSON, nullable=False),
        sa.Column("vcpus", sa.Integer, nullable=False),
        sa.Column("vcpus_used", sa.Integer, nullable=False),
        sa.Column("memory_mb", sa.Integer, nullable=False),
        sa.Column("memory_mb_used", sa.Integer, nullable=False),
        sa.Column("local_gb", sa.Integer, nullable=False),
        sa.Column("local_gb_used", sa.Integer, nullable=False),
        sa.Column("resources_updated_at", sa.DateTime),
        sa.Column("last_heartbeat", sa.DateTime),
        sa.Column("heartbeat_sequence", sa.Integer, nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("disabled_reason", sa.String(255)),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime),
    )
    flavors = op.create_table(
        "flavors",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("flavorid", sa.String(255), nullable=False, unique=True),
        sa.Column("name", sa.String(255), nullable=False, unique=True),
        sa.Column("vcpus", sa.Integer, nullable=False),
        sa.Column("memory_mb", sa.Integer, nullable=False),
        sa.Column("root_gb", sa.Integer, nullable=False),
        sa.Column("ephemeral_gb", sa.Integer, nullable=False),
        sa.Column("swap_mb", sa.Integer, nullable=False),
        sa.Column("extra_specs", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    images = op.create_table(
        "images",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("disk_format", sa.String(32), nullable=False),
        sa.Column("container_format", sa.String(32), nullable=False),
        sa.Column("min_ram_mb", sa.Integer, nullable=False),
        sa.Column("min_disk_gb", sa.Integer, nullable=False),
        sa.Column("size_bytes", sa.BigInteger, nullable=False),
        sa.Column("properties", sa.JSON, nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("location", sa.String(1024)),
        sa.Column("source_instance_uuid", sa.String(36)),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "instances",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("uuid", sa.String(36), nullable=False, unique=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("flavor_id", sa.Integer, sa.ForeignKey("flavors.id"), nullable=False),
        sa.Column("image_id", sa.String(36), sa.ForeignKey("images.id"), nullable=False),
        sa.Column("host", sa.String(255)),
        sa.Column("vcpus", sa.Integer, nullable=False),
        sa.Column("memory_mb", sa.Integer, nullable=False),
        sa.Column("disk_gb", sa.Integer, nullable=False),
        sa.Column("vm_state", sa.String(32), nullable=False),
        sa.Column("task_state", sa.String(32)),
        sa.Column("power_state", sa.String(32), nullable=False),
        sa.Column("project_id", sa.String(255)),
        sa.Column("user_id", sa.String(255)),
        sa.Column("metadata", sa.JSON, nullable=False),
        sa.Column("volumes", sa.JSON, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("tried_hosts", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime),
        sa.Column("launched_at", sa.DateTime),
        sa.Column("deleted_at", sa.DateTime),
        sa.Column("deleted", sa.Integer, nullable=False),
    )
    op.create_index("ix_instances_host_deleted", "instances", ["host", "deleted"])
    op.create_index("ix_instances_deleted_task_state", "instances", ["deleted", "task_state"])
    op.create_table(
        "instance_actions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("instance_uuid", sa.String(36), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("start_time", sa.DateTime, nullable=False),
        sa.Column("finish_time", sa.DateTime),
        sa.Column("result", sa.String(16)),
        sa.Column("message", sa.Text),
    )
    op.create_index("ix_instance_actions_instance_uuid", "instance_actions", ["instance_uuid"])
    op.create_index("ix_instance_actions_request_id", "instance_actions", ["request_id"])
    op.create_table(
        "instance_faults",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("instance_uuid", sa.String(36), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("details", sa.Text),
        sa.Column("host", sa.String(255)),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_instance_faults_instance_uuid", "instance_faults", ["instance_uuid"])

    now = datetime.datetime(2025, 1, 1)
    op.bulk_insert(
        flavors,
        [
            dict(
                flavorid=str(i + 1),
                name=name,
                vcpus=v,
                memory_mb=m,
                root_gb=d,
                ephemeral_gb=0,
                swap_mb=0,
                extra_specs={},
                created_at=now,
            )
            for i, (name, v, m, d) in enumerate(
                [
                    ("m1.tiny", 1, 512, 1),
                    ("m1.small", 1, 2048, 20),
                    ("m1.medium", 2, 4096, 40),
                    ("m1.large", 4, 8192, 80),
                ]
            )
        ],
    )
    op.bulk_insert(
        images,
        [
            dict(
                id=DEFAULT_IMAGE_ID,
                name="cirros",
                disk_format="qcow2",
                container_format="bare",
                min_ram_mb=0,
                min_disk_gb=0,
                size_bytes=16338944,
                properties={},
                status="active",
                location=None,
                source_instance_uuid=None,
                created_at=now,
            )
        ],
    )
