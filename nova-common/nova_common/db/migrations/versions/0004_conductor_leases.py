"""Several conductors on one database: each running conductor and its lease
(``conductors``), the owner of each instance's operation in flight
(``instances.owner``), and a compute service's deliberate stop
(``services.stopped_at``), so every conductor reads the same liveness.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "conductors",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("server", sa.String(255), nullable=False),
        sa.Column("hostname", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("started_at", sa.DateTime, nullable=False),
        sa.Column("renewed_at", sa.DateTime, nullable=False),
        sa.Column("stopped_at", sa.DateTime),
    )
    op.create_index("ix_conductors_server", "conductors", ["server"])
    # Operations in flight before this migration have no owner: the first
    # conductor to start takes them over, as restart reconciliation did.
    op.add_column("instances", sa.Column("owner", sa.String(36)))
    op.add_column("services", sa.Column("stopped_at", sa.DateTime))


def downgrade() -> None:
    with op.batch_alter_table("services") as batch:
        batch.drop_column("stopped_at")
    with op.batch_alter_table("instances") as batch:
        batch.drop_column("owner")
    op.drop_index("ix_conductors_server", table_name="conductors")
    op.drop_table("conductors")
