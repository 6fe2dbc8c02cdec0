"""One create per request id, so a repeated create (a client's retry with its
own request id, a replayed RPC message) finds the first one's instance.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

INDEX = "uniq_instance_actions0create0request_id"
CREATES_ONLY = sa.text("action = 'create'")


def upgrade() -> None:
    # Request ids were generated per call until now, so existing creates do not collide.
    op.create_index(
        INDEX,
        "instance_actions",
        ["request_id"],
        unique=True,
        sqlite_where=CREATES_ONLY,
        postgresql_where=CREATES_ONLY,
    )


def downgrade() -> None:
    op.drop_index(INDEX, table_name="instance_actions")
