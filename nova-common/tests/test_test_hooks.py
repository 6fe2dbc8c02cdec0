"""Driver test hooks: the interface, and the compute service serving them only when told to."""

import uuid

import oslo_messaging
import pytest
from common_test_helpers import make_conf
from memory_driver import MemoryDriver

from nova_common.messaging.serializer import ObjectSerializer
from nova_common.messaging.transport import get_transport
from nova_common.scaffold.service import ComputeService
from nova_common.scaffold.test_hooks_endpoint import NAMESPACE, VERSION
from nova_common.virt import exceptions as exc
from nova_common.virt.rpcapi import COMPUTE_TOPIC
from nova_common.virt.test_hooks import HOOKS, DriverTestHooks


class CrashOnlyHooks(DriverTestHooks):
    def __init__(self):
        self.crashed = []

    def crash(self, instance_uuid):
        if instance_uuid == "nobody":
            raise exc.InstanceNotFound(instance_uuid=instance_uuid)
        self.crashed.append(instance_uuid)

    def hypervisor_instances(self):
        return list(self.crashed)


class HookedDriver(MemoryDriver):
    def __init__(self, conf):
        super().__init__(conf)
        self.hooks = CrashOnlyHooks()

    def test_hooks(self):
        return self.hooks


def test_provided_lists_only_the_overridden_hooks():
    assert CrashOnlyHooks().provided() == {"crash", "hypervisor_instances"}
    assert DriverTestHooks().provided() == frozenset()
    assert set(HOOKS) == {"crash", "set_power_state", "hypervisor_instances", "fail_next"}
    with pytest.raises(NotImplementedError):
        CrashOnlyHooks().set_power_state("x", "running")


def test_a_driver_has_no_hooks_by_default():
    assert MemoryDriver(make_conf("h")).test_hooks() is None


@pytest.fixture
def serve():
    started = []

    def _serve(driver_cls, enabled):
        host = "hooks-" + uuid.uuid4().hex[:8]
        conf = make_conf(host)
        if enabled is not None:
            conf.set_override("enable_test_hooks", enabled, group="compute")
        transport = get_transport(conf, "kombu+memory:////")
        driver = driver_cls(conf)
        service = ComputeService(conf, driver, transport=transport)
        service.start()
        started.append((service, transport))
        target = oslo_messaging.Target(topic=COMPUTE_TOPIC, server=host, namespace=NAMESPACE, version=VERSION)
        client = oslo_messaging.get_rpc_client(transport, target, serializer=ObjectSerializer(), timeout=5)
        return driver, client

    yield _serve
    for service, transport in started:
        service.stop()
        transport.cleanup()


def test_hooks_are_served_over_rpc_when_enabled(serve):
    driver, client = serve(HookedDriver, True)
    assert client.call({}, "provided") == ["crash", "hypervisor_instances"]
    client.call({}, "crash", instance_uuid="u1")
    assert driver.hooks.crashed == ["u1"]
    assert client.call({}, "hypervisor_instances") == ["u1"]
    with pytest.raises(exc.InstanceNotFound):
        client.call({}, "crash", instance_uuid="nobody")


@pytest.mark.parametrize(
    "driver_cls, enabled", [(HookedDriver, None), (HookedDriver, False), (MemoryDriver, True)]
)
def test_hooks_are_not_served_by_default_or_without_hooks(serve, driver_cls, enabled):
    _driver, client = serve(driver_cls, enabled)
    with pytest.raises((oslo_messaging.MessagingException, oslo_messaging.RemoteError)):
        client.prepare(timeout=5).call({}, "provided")


def test_option_is_off_by_default_and_says_it_is_for_testing():
    from nova_common.scaffold.conf import compute_opts

    (option,) = [opt for opt in compute_opts if opt.name == "enable_test_hooks"]
    assert option.default is False and "testing only" in option.help.lower()
