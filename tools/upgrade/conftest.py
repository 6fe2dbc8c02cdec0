"""Cross-version tests (tox -e upgrade): recorded releases in virtualenvs of their own, as processes."""

import os
import pathlib
import sys

import pytest

TOOLS = pathlib.Path(__file__).resolve().parent.parent
REPO_ROOT = TOOLS.parent
sys.path.insert(0, str(TOOLS))

from nova_tools import broker  # noqa: E402
from nova_tools.release_envs import DEFAULT_WORK_DIR, ReleaseEnvs  # noqa: E402
from nova_tools.release_records import load_records  # noqa: E402

RABBIT_URL = os.environ.get("RABBIT_URL", broker.DEFAULT_URL)
WORK_DIR = pathlib.Path(os.environ.get("NOVA_TOOLS_WORK_DIR", DEFAULT_WORK_DIR))


def missing(reason: str) -> None:
    """A missing release or backend fails under CI and skips, saying why, elsewhere."""
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def records():
    return load_records(REPO_ROOT)


@pytest.fixture(scope="session")
def envs():
    return ReleaseEnvs(REPO_ROOT, WORK_DIR)


@pytest.fixture
def rabbit_url():
    reason = broker.unavailable(RABBIT_URL)
    if reason:
        missing(reason)
    with broker.fresh_vhost(RABBIT_URL, "upgrade") as url:
        yield url
