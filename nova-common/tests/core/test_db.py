"""The schema: migrations agree with the models; ``nova-common db sync``; base install stays light."""

import os
import subprocess
import sys
import threading
import time
import uuid as uuidlib

import pytest
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
    assert f"database at revision {migration.head()}" in out.stdout
    assert (tmp_path / "state" / "nova.sqlite").exists()


def test_base_install_does_not_import_sqlalchemy():
    code = (
        "import sys, nova_common, nova_common.scaffold.service, nova_common.virt.rpcapi, nova_common.conf, "
        "nova_common.compute.api; nova_common.conf.list_opts(); nova_common.conf.list_core_opts(); "
        "sys.exit('sqlalchemy imported' if 'sqlalchemy' in sys.modules else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0


@pytest.mark.parametrize("inserted", ["before the claims", "by the claim"])
def test_refused_claims_in_one_transaction_release_the_host_row(db_url, inserted):
    """Two creates, each claiming one full host and then the other's, inside
    their own create transaction: a refused claim must release the row it
    locked, or PostgreSQL detects a deadlock (SQLite: the process lock
    serialises writers, so the interleaving below cannot happen there).
    The instance is either inserted first (a reschedule's claim) or by the
    claim that finds room (a create's)."""
    from nova_common.db.api import NewInstance

    if db_url.startswith("sqlite"):
        pytest.skip("SQLite takes no row locks: the conductor's process lock serialises its writers")
    db = Database(db_url)
    try:
        migration.db_sync(db.engine)
        for host in ("full-a", "full-b"):
            db.register_service(
                host,
                dict(
                    driver_name="fake",
                    driver_version="1.0.0",
                    hypervisor_type="fake",
                    virt_api_min="1.0",
                    virt_api_max="1.0",
                    vcpus=0,
                ),
            )
        catalog = dict(flavor_id=db.list_flavors()[0]["id"], image_id=db.list_images()[0]["id"])
        halfway = threading.Barrier(2, timeout=30)
        outcomes: dict[str, object] = {}

        def create(name, first, second):
            uuid = str(uuidlib.uuid4())
            try:
                values = _instance_values(uuid, name, catalog)
                new = None
                with db.writer() as session:
                    if inserted == "by the claim":
                        new = NewInstance(values, "create", "req-" + name)
                    else:
                        db.create_instance(values, "create", "req-" + name, session=session)
                    outcomes[name + first] = db.claim(uuid, first, 1, 64, 1, "scheduling", None, session, new)
                    halfway.wait()
                    outcomes[name + second] = db.claim(
                        uuid, second, 1, 64, 1, "scheduling", None, session, new
                    )
            except Exception as error:  # the deadlock, if any, ends up here
                outcomes[name] = error

        threads = [
            threading.Thread(target=create, args=("one", "full-a", "full-b")),
            threading.Thread(target=create, args=("two", "full-b", "full-a")),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert outcomes == {"onefull-a": None, "onefull-b": None, "twofull-b": None, "twofull-a": None}
        assert db.count_instances() == ({"building": 2} if inserted == "before the claims" else {})
    finally:
        db.dispose()


def _instance_values(uuid: str, name: str, catalog: dict) -> dict:
    return dict(
        catalog,
        uuid=uuid,
        name=name,
        vcpus=1,
        memory_mb=64,
        disk_gb=1,
        vm_state="building",
        task_state="scheduling",
        power_state="nostate",
        instance_metadata={},
        volumes={},
        attempts=0,
        tried_hosts=[],
    )


def _catalog(db: Database) -> dict:
    """The seeded flavor and image, as an instance's values name them."""
    return dict(flavor_id=db.list_flavors()[0]["id"], image_id=db.list_images()[0]["id"])


def _service(db: Database, host: str, vcpus: int) -> None:
    db.register_service(
        host,
        dict(
            driver_name="fake",
            driver_version="1.0.0",
            hypervisor_type="fake",
            virt_api_min="1.0",
            virt_api_max="1.0",
            vcpus=vcpus,
            memory_mb=4096,
            local_gb=100,
        ),
    )


def test_rows_written_with_core_read_as_the_orm_gives_them(synced_db):
    """create_instance, a create's claim and cas_instance return rows built
    from Core statements; they must equal what get_instance (the ORM) reads."""
    from nova_common.db.api import NewInstance

    db = synced_db
    _service(db, "roomy", vcpus=4)
    catalog = _catalog(db)

    plain = db.create_instance(_instance_values(str(uuidlib.uuid4()), "plain", catalog), "create", "req-1")
    assert plain == db.get_instance(plain["uuid"])
    assert plain["metadata"] == {} and plain["host"] is None and plain["deleted"] == 0

    uuid = str(uuidlib.uuid4())
    values = _instance_values(uuid, "placed", catalog) | {"instance_metadata": {"k": "v"}}
    with db.writer() as session:
        placed = db.claim(
            uuid,
            "roomy",
            1,
            64,
            1,
            "scheduling",
            "spawning",
            session,
            NewInstance(values, "create", "req-2"),
        )
    assert placed == db.get_instance(uuid)
    assert (placed["host"], placed["task_state"], placed["attempts"], placed["tried_hosts"]) == (
        "roomy",
        "spawning",
        1,
        ["roomy"],
    )
    assert placed["metadata"] == {"k": "v"}
    assert [a["request_id"] for a in db.list_actions(uuid)] == ["req-2"]

    moved = db.cas_instance(uuid, ["building"], ["spawning"], {"vm_state": "active", "task_state": None})
    assert moved == db.get_instance(uuid)
    assert (moved["vm_state"], moved["task_state"]) == ("active", None)
    assert db.cas_instance(uuid, ["building"], None, {"vm_state": "error"}) is None  # it moved on
    assert db.get_instance(uuid)["vm_state"] == "active"


def test_a_refused_create_claim_inserts_nothing(synced_db):
    from nova_common.db.api import NewInstance

    db = synced_db
    _service(db, "full", vcpus=0)
    catalog = _catalog(db)
    uuid = str(uuidlib.uuid4())
    new = NewInstance(_instance_values(uuid, "refused", catalog), "create", "req-3")
    with db.writer() as session:
        assert db.claim(uuid, "full", 1, 64, 1, "scheduling", "spawning", session, new) is None
    assert db.get_instance(uuid, include_deleted=True) is None
    assert db.list_actions(uuid) == []


def test_a_value_for_no_column_is_refused_not_dropped(synced_db):
    """create_instance, cas_instance and update_resources pass values as execution parameters,
    which SQLAlchemy would ignore for a key that names no column."""
    db = synced_db
    catalog = _catalog(db)
    uuid = str(uuidlib.uuid4())
    with pytest.raises(ValueError, match="instances has no column vm_sate"):
        db.create_instance(_instance_values(uuid, "typo", catalog) | {"vm_sate": "active"}, "create", "r")
    assert db.get_instance(uuid, include_deleted=True) is None
    db.create_instance(_instance_values(uuid, "typo", catalog), "create", "r")
    with pytest.raises(ValueError, match="instances has no column vm_sate"):
        db.cas_instance(uuid, None, None, {"vm_sate": "active"})
    assert db.get_instance(uuid)["vm_state"] == "building"
    with pytest.raises(ValueError, match="services has no column vcpu"):
        db.update_resources("any", {"vcpu": 1})


def test_a_burst_of_lookups_reads_an_expired_catalog_entry_once(synced_db):
    db = synced_db
    loads = []
    load_flavor = db._load_flavor

    def slow_counted_load(ref):
        loads.append(ref)
        time.sleep(0.05)  # long enough for every thread to find the entry missing
        return load_flavor(ref)

    db._load_flavor = slow_counted_load
    start = threading.Barrier(16)
    found = []

    def lookup():
        start.wait()
        found.append(db.get_flavor("m1.tiny")["name"])

    threads = [threading.Thread(target=lookup) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert found == ["m1.tiny"] * 16
    assert loads == ["m1.tiny"]
