"""The schema: migrations agree with the models; ``nova-common db sync``; base install stays light."""

import os
import subprocess
import sys

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from nova_common.db import migration, models
from nova_common.db.api import Database


def test_migrations_match_the_models_and_seed_the_catalog(db_url):
    db = Database(db_url)
    try:
        migration.db_sync(db.engine)
        assert migration.db_version(db.engine) == migration.head()
        migration.db_sync(db.engine)  # idempotent
        with db.engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), models.Base.metadata)
        assert diff == []
        assert [f["name"] for f in db.list_flavors()] == ["m1.tiny", "m1.small", "m1.medium", "m1.large"]
        assert [i["name"] for i in db.list_images()] == ["cirros"]
    finally:
        db.dispose()


def test_db_sync_command_uses_state_path(tmp_path):
    config = tmp_path / "nova.conf"
    config.write_text(f"[DEFAULT]\nstate_path = {tmp_path}/state\n")
    script = os.path.join(os.path.dirname(sys.executable), "nova-common")
    out = subprocess.run(
        [script, "db", "sync", "--config-file", str(config)], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert "database at revision 0001" in out.stdout
    assert (tmp_path / "state" / "nova.sqlite").exists()


def test_base_install_does_not_import_sqlalchemy():
    code = (
        "import sys, nova_common, nova_common.scaffold.service, nova_common.virt.rpcapi, nova_common.conf, "
        "nova_common.compute.api; nova_common.conf.list_opts(); nova_common.conf.list_core_opts(); "
        "sys.exit('sqlalchemy imported' if 'sqlalchemy' in sys.modules else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0
