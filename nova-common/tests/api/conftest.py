from nova_common import messaging

# Before anything imports oslo.messaging (see nova_common.messaging.process).
messaging.init_process()

import os  # noqa: E402
import sys  # noqa: E402

import pytest  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from api_helpers import HTTP, start_cloud  # noqa: E402

pytest.importorskip("jsonschema", reason="the api extra (jsonschema) is not installed")
pytest.importorskip("sqlalchemy", reason="the core extra is not installed")


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    aio = start_cloud(str(tmp_path_factory.mktemp("aio")))
    yield aio
    aio.stop()


@pytest.fixture(scope="module")
def http(cloud):
    return HTTP(cloud.endpoint)
