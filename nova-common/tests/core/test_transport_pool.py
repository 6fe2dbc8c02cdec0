"""The conductor's transport has a pooled connection for each thread that may
publish at once (see nova_common.messaging.transport.reserve_connections)."""

from core_helpers import conductor_conf

from nova_common.conductor.service import ConductorService, conductor_publishers
from nova_common.db.api import Database
from nova_common.db.migration import db_sync
from nova_common.messaging.transport import OSLO_CONN_POOL_SIZE, reserve_connections


def _pool_size(transport) -> int:
    return transport._driver._connection_pool._max_size


def test_conductor_pool_covers_its_publishing_threads(tmp_path):
    conf = conductor_conf(**{"conductor.workers": 100, "conductor.sync_workers": 10})
    expected = conf.executor_thread_pool_size + 100 + 10
    assert conductor_publishers(conf) == expected > OSLO_CONN_POOL_SIZE
    db = Database(f"sqlite:///{tmp_path}/pool.sqlite")
    db_sync(db.engine)
    service = ConductorService(conf, db=db)  # makes its own transport
    try:
        assert _pool_size(service.transport) == expected
    finally:
        service.transport.cleanup()
        db.dispose()


def test_never_below_oslo_default_and_the_operator_wins():
    conf = conductor_conf()
    assert reserve_connections(conf, 5) == OSLO_CONN_POOL_SIZE
    conf.set_override("rpc_conn_pool_size", 7, group="oslo_messaging_rabbit")
    assert reserve_connections(conf, 500) == 7
