# nova_common must be imported before anything imports oslo.messaging (it selects
# oslo.service's threading backend).
import nova_common  # noqa: F401, I001

import os
import sys

import pytest

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
