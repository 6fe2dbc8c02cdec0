"""The driver's test hooks over RPC, for the contract kit's black-box mode.

Served on the compute service's own target (topic ``compute``, server =
host) in the namespace :data:`NAMESPACE`, and only when
``[compute] enable_test_hooks`` is set: a production service never exposes
them. See :mod:`nova_common.virt.test_hooks` for what each hook does.
"""

from __future__ import annotations

from typing import Any

import oslo_messaging
from oslo_config import cfg

from nova_common.virt import api
from nova_common.virt import exceptions as exc
from nova_common.virt.test_hooks import DriverTestHooks

NAMESPACE = "test_hooks"
VERSION = "1.0"


class TestHooksEndpoint:
    """Hands each call to the driver's :class:`DriverTestHooks`."""

    __test__ = False  # not a pytest class, whatever its name says
    target = oslo_messaging.Target(namespace=NAMESPACE, version=VERSION)

    def __init__(self, hooks: DriverTestHooks) -> None:
        self.hooks = hooks

    def provided(self, ctxt: dict[str, Any]) -> list[str]:
        return sorted(self.hooks.provided())

    @oslo_messaging.expected_exceptions(exc.VirtError)
    def crash(self, ctxt: dict[str, Any], instance_uuid: str) -> None:
        self.hooks.crash(instance_uuid)

    @oslo_messaging.expected_exceptions(exc.VirtError)
    def set_power_state(self, ctxt: dict[str, Any], instance_uuid: str, state: str) -> None:
        self.hooks.set_power_state(instance_uuid, state)

    def hypervisor_instances(self, ctxt: dict[str, Any]) -> list[str]:
        return list(self.hooks.hypervisor_instances())

    @oslo_messaging.expected_exceptions(exc.VirtError)
    def fail_next(self, ctxt: dict[str, Any], operation: str) -> None:
        self.hooks.fail_next(operation)


def endpoints(conf: cfg.ConfigOpts, driver: api.ComputeDriver) -> list[TestHooksEndpoint]:
    """The test hooks endpoint of ``driver`` when ``[compute] enable_test_hooks``
    is set and the driver has hooks; otherwise none."""
    if not conf.compute.enable_test_hooks:
        return []
    hooks = driver.test_hooks()
    return [TestHooksEndpoint(hooks)] if hooks is not None else []
