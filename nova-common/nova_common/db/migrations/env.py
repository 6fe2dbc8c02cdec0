"""alembic environment: runs on the engine handed over by nova_common.db.migration."""

from alembic import context

config = context.config
engine = config.attributes["engine"]

with engine.begin() as connection:
    context.configure(connection=connection, target_metadata=None, render_as_batch=True)
    context.run_migrations()
