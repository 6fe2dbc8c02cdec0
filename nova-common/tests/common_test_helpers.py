import os
import socket
import time
import uuid

import pytest
from oslo_config import cfg

from nova_common import objects
from nova_common.messaging import conf as messaging_conf
from nova_common.scaffold import conf as scaffold_conf
from nova_common.virt import rpcapi

RABBIT_URL = "rabbit://guest:guest@127.0.0.1:5672/"


def rabbit_available() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5672), timeout=1):
            return True
    except OSError:
        return False


def need_rabbit() -> None:
    """Skip (locally) or fail (under CI=true) when RabbitMQ is not listening."""
    if rabbit_available():
        return
    reason = "RabbitMQ is not listening on 127.0.0.1:5672 (rabbitmq-server -detached)"
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def make_conf(host: str = "test-host", **compute) -> cfg.ConfigOpts:
    conf = cfg.ConfigOpts()
    scaffold_conf.register_opts(conf)
    messaging_conf.register_opts(conf)
    rpcapi.register_opts(conf)
    conf(args=[], default_config_files=[])
    conf.set_override("host", host)
    # oslo.messaging's own executor takes up to a second to stop each RPC
    # server (its idle workers poll once a second): the standard pool keeps the
    # suite fast. The default (off) is what test_process.py's compute process
    # and test_service.py's idle-worker test run.
    conf.set_override("rpc_server_standard_pool", True, group="messaging")
    for name, value in compute.items():
        conf.set_override(name, value, group="compute")
    return conf


def make_instance(display_name: str = "vm") -> objects.Instance:
    return objects.Instance(
        uuid=str(uuid.uuid4()),
        display_name=display_name,
        flavor=objects.Flavor(flavorid="1", name="m1", vcpus=1, memory_mb=64),
        image=objects.ImageMeta(id=str(uuid.uuid4()), name="img"),
    )


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.02):
    """Poll until ``predicate()`` is truthy; fail the test after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s: {predicate}")
