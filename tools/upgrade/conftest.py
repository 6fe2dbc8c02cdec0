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
from nova_tools.release_records import Record, load_records, version_key  # noqa: E402

#: The first real release; the scenarios pair it with the newest later one.
FIRST = "1.0.0"
RABBIT_URL = os.environ.get("RABBIT_URL", broker.DEFAULT_URL)
WORK_DIR = pathlib.Path(os.environ.get("NOVA_TOOLS_WORK_DIR", DEFAULT_WORK_DIR))


def missing(reason: str) -> None:
    """A missing release or backend fails under CI and skips, saying why, elsewhere."""
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


#: Whose release records the scenarios use: this repository's, or (to try them before the real
#: releases land) a scratch clone's with releases of its own.
RELEASES_REPO = pathlib.Path(os.environ.get("NOVA_RELEASES_REPO", REPO_ROOT))


@pytest.fixture(scope="session")
def records():
    return load_records(RELEASES_REPO)


@pytest.fixture(scope="session")
def envs():
    return ReleaseEnvs(RELEASES_REPO, WORK_DIR)


@pytest.fixture
def rabbit_url():
    reason = broker.unavailable(RABBIT_URL)
    if reason:
        missing(reason)
    with broker.fresh_vhost(RABBIT_URL, "upgrade") as url:
        yield url


def old_and_new(records: list[Record], distribution: str) -> tuple[Record, Record]:
    """``distribution`` 1.0.0 and its newest later release; missing() when either is not recorded."""
    mine = sorted(
        (r for r in records if r.distribution == distribution), key=lambda r: version_key(r.version)
    )
    if not mine:
        missing(
            f"no recorded releases of {distribution} (needs {FIRST} and a later one; see tools/README.md)"
        )
    old = next((r for r in mine if r.version == FIRST), None)
    if old is None:
        missing(
            f"no recorded release {distribution}=={FIRST} (recorded: {', '.join(r.version for r in mine)})"
        )
    newer = [r for r in mine if version_key(r.version) > version_key(FIRST)]
    if not newer:
        missing(f"no recorded release of {distribution} newer than {FIRST}")
    return old, newer[-1]


# Requested before rabbit_url by the scenarios, so a missing release is reported before any broker work.
@pytest.fixture
def cores(records):
    return old_and_new(records, "nova-common")


@pytest.fixture
def fakes(records):
    return old_and_new(records, "nova-driver-fake")
