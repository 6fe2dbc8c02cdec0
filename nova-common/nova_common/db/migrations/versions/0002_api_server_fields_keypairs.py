"""What the compute API stores beyond the first schema: a server's description,
key pair name and tags, and the key pairs.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("instances", sa.Column("description", sa.String(255)))
    op.add_column("instances", sa.Column("key_name", sa.String(255)))
    op.add_column("instances", sa.Column("tags", sa.JSON))
    op.create_table(
        "key_pairs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("user_id", sa.String(255), nullable=False),
        sa.Column("fingerprint", sa.String(255), nullable=False),
        sa.Column("public_key", sa.Text, nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("user_id", "name", name="uniq_key_pairs0user_id0name"),
    )


def downgrade() -> None:
    op.drop_table("key_pairs")
    with op.batch_alter_table("instances") as batch:
        batch.drop_column("tags")
        batch.drop_column("key_name")
        batch.drop_column("description")
