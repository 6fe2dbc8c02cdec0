"""Fixtures (helpers live in libvirt_test_support.py, importable under a unique name)."""

import libvirt
import pytest

from nova_common import messaging

# Before anything imports oslo.messaging (see nova_common.messaging.process).
messaging.init_process()

from libvirt_test_support import DEFAULT_URI, URIS, make_driver, make_instance, no_network  # noqa: E402


@pytest.fixture(scope="session")
def host():
    """A connection to test:///default held for the whole session."""
    conn = libvirt.open(DEFAULT_URI)
    yield conn
    conn.close()


@pytest.fixture(params=sorted(URIS))
def driver(request, host):
    """A started driver on test:///default and on the shipped node XML."""
    drv = make_driver(URIS[request.param])
    spawned = []
    drv.test_spawned = spawned
    yield drv
    for inst in spawned:
        try:
            drv.destroy(inst)
        except Exception:
            pass
    drv.stop()


@pytest.fixture
def default_driver(host):
    drv = make_driver(DEFAULT_URI)
    yield drv
    for info in drv.list_instances().objects:
        drv.destroy(make_instance(uuid=info.uuid))
    drv.stop()


@pytest.fixture
def spawn(driver):
    """spawn(instance=None) -> instance, destroyed after the test."""

    def _spawn(instance=None, **kw):
        instance = instance or make_instance(**kw)
        driver.spawn(instance, no_network())
        driver.test_spawned.append(instance)
        return instance

    return _spawn
