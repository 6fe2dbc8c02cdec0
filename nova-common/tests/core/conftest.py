from nova_common import messaging

# Before anything imports oslo.messaging (see nova_common.messaging.process).
messaging.init_process()

import os  # noqa: E402
import sys  # noqa: E402
import uuid  # noqa: E402

import pytest  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from core_helpers import Cloud, postgres_available, postgres_database  # noqa: E402

#: Which databases the suite runs on: NOVA_CORE_DB=sqlite,postgresql (the default: both
#: when PostgreSQL answers at 127.0.0.1:5432).
BACKENDS = [b for b in os.environ.get("NOVA_CORE_DB", "sqlite,postgresql").split(",") if b]


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/nova.sqlite"
    elif request.param == "postgresql":
        if not postgres_available():
            pytest.skip("backend missing: PostgreSQL is not reachable at 127.0.0.1:5432")
        with postgres_database("nova_core_" + uuid.uuid4().hex[:12]) as url:
            yield url
    else:
        raise ValueError(f"unknown NOVA_CORE_DB backend {request.param}")


@pytest.fixture
def synced_db(db_url):
    """A ``Database`` on ``db_url`` with the schema applied; disposed afterwards."""
    from nova_common.db.api import Database
    from nova_common.db.migration import db_sync

    db = Database(db_url)
    db_sync(db.engine)
    yield db
    db.dispose()


@pytest.fixture
def make_cloud(db_url):
    """Builds a cloud in this process: a conductor and N fake compute services."""
    clouds = []

    def build(**kwargs):
        cloud = Cloud(db_url, **kwargs)
        clouds.append(cloud)
        cloud.start()
        return cloud

    yield build
    for cloud in clouds:
        cloud.stop()


@pytest.fixture
def cloud(make_cloud):
    return make_cloud()
