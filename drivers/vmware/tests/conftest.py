"""Fixtures: vcsim for the session, a started driver."""

import os
import sys

import pytest

from nova_common import messaging
from nova_contract_tests.pytest_support import require

# Before anything imports oslo.messaging (see nova_common.messaging.process).
messaging.init_process()

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from vcsim_support import Vcsim, unavailable  # noqa: E402


@pytest.fixture(scope="session")
def vcsim():
    require(unavailable())
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
