"""Fixtures: vcsim for the session, a started driver."""

import os
import sys

import pytest

# nova_common first: it selects oslo.service's threading backend before oslo.messaging loads.
import nova_common  # noqa: F401, I001

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from vcsim_support import Vcsim, unavailable  # noqa: E402


@pytest.fixture(scope="session")
def vcsim():
    why = unavailable()
    if why:
        pytest.skip(why)
    sim = Vcsim(vms=1).start()
    yield sim
    sim.stop()


def make_conf(config_text: str):
    from oslo_config import cfg

    from nova_driver_vmware.driver import VMwareDriver

    conf = cfg.ConfigOpts()
    VMwareDriver.register_opts(conf)
    conf(args=[], default_config_files=[])
    section = None
    for line in config_text.splitlines():
        if line.startswith("["):
            section = line.strip("[]")
        elif "=" in line and section == "vmware":
            key, value = (p.strip() for p in line.split("=", 1))
            conf.set_override(key, value, group="vmware")
    return conf


@pytest.fixture
def driver(vcsim):
    from nova_driver_vmware.driver import VMwareDriver

    drv = VMwareDriver(make_conf(vcsim.config()))
    drv.start()
    yield drv
    drv.stop()
