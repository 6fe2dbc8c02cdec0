#!/usr/bin/env python3
"""Many fake compute services as threads of one process, for the core benchmark.

    compute_fleet.py --transport-url rabbit://... --control-exchange X --prefix p --count 250

Prints ``ready N`` once every service started, then serves until SIGTERM.
All services share one oslo.messaging transport; each has its own RPC server
(one consumer connection), heartbeats and resource reports, as separate
``nova-compute-fake`` processes would.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

from nova_common import messaging

messaging.init_process()  # before anything imports oslo.messaging

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "nova-common", "tests", "core"))

from core_helpers import compute_conf, stop_all  # noqa: E402
from nova_common.messaging import patches  # noqa: E402
from nova_common.messaging.transport import get_transport  # noqa: E402
from nova_common.scaffold.service import ComputeService  # noqa: E402
from nova_driver_fake import FakeDriver  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--transport-url", required=True)
    parser.add_argument("--control-exchange", required=True)
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--heartbeat-interval", type=float, default=10.0)
    parser.add_argument("--resource-report-interval", type=float, default=60.0)
    parser.add_argument("--conductor-topic", default="conductor")
    args = parser.parse_args()

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    transport = None
    services = []
    for n in range(args.count):
        conf = compute_conf(f"{args.prefix}-{n:04d}", vcpus=64, memory_mb=262144)
        conf.set_override("control_exchange", args.control_exchange)
        conf.set_override("heartbeat_interval", args.heartbeat_interval, group="compute")
        conf.set_override("resource_report_interval", args.resource_report_interval, group="compute")
        conf.set_override("conductor_topic", args.conductor_topic, group="compute")
        # One transport carries every service of this process: room for their concurrent casts.
        conf.set_override("rpc_conn_pool_size", 200, group="oslo_messaging_rabbit")
        # Many compute services in one process, as in the all-in-one where
        # each patch was measured: this is not a driver's compute service.
        for patch in patches.CONFIGURABLE:
            conf.set_override(patch.option, True, group="messaging")
        if transport is None:
            messaging.setup(conf)
            transport = get_transport(conf, args.transport_url)
        services.append(ComputeService(conf, FakeDriver(conf), transport=transport))
    for service in services:
        service.start()
    print(f"ready {len(services)}", flush=True)
    stop.wait()
    stop_all(services)
    if transport is not None:
        transport.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
