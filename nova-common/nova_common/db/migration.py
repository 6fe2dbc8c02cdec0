"""``nova-common db sync``: apply the alembic migrations in ``migrations/``."""

from __future__ import annotations

import os

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

MIGRATIONS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "migrations")


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    config.attributes["engine"] = engine
    return config


def db_sync(engine: Engine, revision: str = "head") -> None:
    """Upgrade the schema to ``revision`` (default: the newest)."""
    command.upgrade(alembic_config(engine), revision)


def db_version(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head() -> str | None:
    return ScriptDirectory(MIGRATIONS).get_current_head()
