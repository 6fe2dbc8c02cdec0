"""Console-script entry points: ``nova-compute`` and the per-driver scripts.

:func:`run` starts the process's messaging (``nova_common.messaging.init_process``)
before anything imports oslo.messaging, so this module imports the rest of the
scaffold in its functions, and a driver's ``cmd`` module (and its package's
``__init__``) must import nothing that imports oslo.messaging either.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

from oslo_config import cfg
from oslo_log import log as logging

from nova_common import messaging

if TYPE_CHECKING:
    from nova_common.scaffold.service import ComputeService

LOG = logging.getLogger(__name__)


def build_service(
    argv: Sequence[str], driver: str | None = None, prog: str = "nova-compute"
) -> ComputeService:
    """Parse config for a compute service hosting ``driver`` (default: ``[compute] driver``)
    and set up messaging for it (:func:`nova_common.messaging.setup`: no patch
    unless ``[messaging]`` enables one). The process must have called
    :func:`nova_common.messaging.init_process` before importing oslo.messaging."""
    from nova_common.messaging import conf as messaging_conf
    from nova_common.scaffold import conf as scaffold_conf
    from nova_common.scaffold.loader import load_driver_class
    from nova_common.scaffold.service import ComputeService

    conf = cfg.ConfigOpts()
    scaffold_conf.register_opts(conf)
    messaging_conf.register_opts(conf)
    logging.register_options(conf)
    # The driver's options must exist before parsing; find the driver from the
    # command line first when it is not fixed by the console script.
    spec = driver
    if spec is None:
        probe = cfg.ConfigOpts()
        scaffold_conf.register_opts(probe)
        probe(list(argv), project="nova", prog=prog, default_config_files=[])
        spec = probe.compute.driver
    driver_cls = load_driver_class(spec)
    driver_cls.register_opts(conf)
    conf(list(argv), project="nova", prog=prog)
    logging.setup(conf, "nova")
    messaging.setup(conf)
    return ComputeService(conf, driver_cls(conf))


class _StopWhileStarting(Exception):
    """SIGTERM or SIGINT arrived before the service finished starting."""


def run(argv: Sequence[str] | None = None, driver: str | None = None, prog: str = "nova-compute") -> int:
    """Run a compute service until SIGTERM or SIGINT."""
    argv = sys.argv[1:] if argv is None else argv
    messaging.init_process()
    from nova_common.scaffold.loader import DriverLoadError

    try:
        service = build_service(argv, driver=driver, prog=prog)
    except (DriverLoadError, cfg.Error) as error:
        print(f"{prog}: {error}", file=sys.stderr)
        return 2
    stop_requested = threading.Event()
    starting = True

    def request_stop(signum: int, _frame: object) -> None:
        LOG.info("Received signal %s; stopping", signum)
        stop_requested.set()
        if starting:
            # start() can block for long (a broker that does not answer, a driver
            # waiting on its hypervisor): leave it at once instead of after it.
            raise _StopWhileStarting()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    try:
        service.start()
    except _StopWhileStarting:
        LOG.info("Stopped while starting")
        service.stop()
        return 0
    starting = False
    # Print a line supervisors and tests can wait for.
    print(f"{prog}: serving host {service.host} with driver {service.driver.name}", flush=True)
    while not stop_requested.wait(timeout=0.5):
        pass
    service.stop()
    return 0


def main() -> None:
    sys.exit(run())
