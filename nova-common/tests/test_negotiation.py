"""Versions negotiated in both directions: a driver of an older virt API on
this nova-common, a compute service's own cap, the core's automatic cap, and
report messages a core cannot read."""

import logging
import uuid

import oslo_messaging
import pytest
from common_test_helpers import make_conf, make_instance, wait_for
from memory_driver import MemoryDriver
from test_service import CollectorEndpoint, ReportCollector

from nova_common import objects
from nova_common.messaging.server import get_rpc_server
from nova_common.messaging.transport import get_transport
from nova_common.scaffold.reporting import CONDUCTOR_TOPIC
from nova_common.scaffold.service import ComputeService
from nova_common.virt import api, report_api
from nova_common.virt import exceptions as exc
from nova_common.virt.rpcapi import VirtAPIClient

MEMORY_URL = "kombu+memory:////"


class Diagnosing(MemoryDriver):
    """A driver of virt API 1.1: it implements get_diagnostics."""

    virt_api_max = "1.1"

    def __init__(self, conf):
        super().__init__(conf)
        self.advertised = frozenset({api.Capability.PAUSE, api.Capability.DIAGNOSTICS})
        self.received = []

    def spawn(self, instance, network_info):
        self.received.append(instance.VERSION)
        return super().spawn(instance, network_info)

    def get_diagnostics(self, instance):
        return objects.InstanceDiagnostics(uuid=instance.uuid, power_state=self.instances[instance.uuid])


class Old(Diagnosing):
    """The same code as a driver released against virt API 1.0 would declare."""

    virt_api_max = "1.0"


@pytest.fixture
def deployment():
    """Compute services on kombu+memory reporting to a collector; ``start(driver_cls, **caps)``."""
    started = []
    conf0 = make_conf()
    transport = get_transport(conf0, MEMORY_URL)
    collector = ReportCollector()
    listener = get_rpc_server(
        transport, oslo_messaging.Target(topic=CONDUCTOR_TOPIC, server="core"), [CollectorEndpoint(collector)]
    )
    listener.start()

    def start(driver_cls, **upgrade_levels):
        host = "host-" + uuid.uuid4().hex[:8]
        conf = make_conf(host, heartbeat_interval=5, resource_report_interval=5)
        for name, value in upgrade_levels.items():
            conf.set_override(name, value, group="upgrade_levels")
        service = ComputeService(conf, driver_cls(conf), transport=transport)
        service.start()
        started.append(service)
        wait_for(lambda: service.registered, timeout=10)
        return service

    class Deployment:
        pass

    deployment = Deployment()
    deployment.start, deployment.collector, deployment.transport = start, collector, transport
    deployment.client = VirtAPIClient(make_conf(), transport=transport, timeout=10)
    yield deployment
    for service in started:
        service.stop()
    listener.stop()
    listener.wait()
    transport.cleanup()


def _spawn(host_client):
    instance = make_instance()
    host_client.spawn(instance=instance, network_info=objects.NetworkInfo(objects=[]))
    return instance


def test_a_1_1_driver_serves_get_diagnostics_and_reads_1_1_objects(deployment):
    service = deployment.start(Diagnosing)
    host = deployment.client.host(service.host)
    assert host.pin() == "1.1"
    instance = _spawn(host)
    assert host.get_diagnostics(instance=instance).uuid == instance.uuid
    assert service.driver.received == ["1.1"]


@pytest.mark.parametrize("how", ["driver declares 1.0", "service caps at 1.0"])
def test_an_older_virt_api_gets_older_objects_and_not_supported(deployment, how):
    service = (
        deployment.start(Old) if how == "driver declares 1.0" else deployment.start(Diagnosing, compute="1.0")
    )
    info = service.driver.get_driver_info()
    assert info.virt_api_max == "1.0"
    assert info.object_versions == api.RELEASED_OBJECT_VERSIONS["1.0"]
    assert api.Capability.DIAGNOSTICS not in info.capabilities
    host = deployment.client.host(service.host)
    assert host.pin() == "1.0"
    instance = _spawn(host)
    assert service.driver.received == ["1.0"]  # backported to what the host reads
    with pytest.raises(exc.NotSupported, match=f"host {service.host} is pinned to virt API 1.0 .*needs 1.1"):
        host.get_diagnostics(instance=instance)
    # The service itself refuses too, should an older core's client not know better.
    with pytest.raises(exc.NotSupported, match="serves virt API up to 1.0; get_diagnostics needs 1.1"):
        service.dispatcher.dispatch("get_diagnostics", {"instance": instance})


@pytest.mark.parametrize("how", ["driver declares 1.0", "service caps at 1.0"])
def test_a_host_serving_1_0_returns_1_0_objects_to_a_caller_that_sends_no_manifest(deployment, how):
    """A core of release 1.0.0 sends its manifest only to hosts that advertise a
    newer one; a host advertising 1.0 must then answer in 1.0 objects, whatever
    this nova-common's classes are (found by the rolling upgrade: nova-common
    1.1.0 under a 1.0 driver answered spawn with InstanceInfo 1.1)."""
    service = (
        deployment.start(Old) if how == "driver declares 1.0" else deployment.start(Diagnosing, compute="1.0")
    )
    target = oslo_messaging.Target(topic="compute", server=service.host, version="1.0")
    raw = oslo_messaging.get_rpc_client(deployment.transport, target, timeout=10)  # no serializer: primitives
    instance = make_instance()
    raw.call(
        {},
        "spawn",
        instance=instance.obj_to_primitive(target_version="1.0"),
        network_info=objects.NetworkInfo(objects=[]).obj_to_primitive(),
    )
    info = raw.call({}, "get_info", instance=instance.obj_to_primitive(target_version="1.0"))
    assert info["nova_object.name"] == "InstanceInfo"
    assert info["nova_object.version"] == api.RELEASED_OBJECT_VERSIONS["1.0"]["InstanceInfo"]
    listed = raw.call({}, "list_instances")
    assert {o["nova_object.version"] for o in listed["nova_object.data"]["objects"]} == {"1.0"}


def test_the_core_cap_pins_every_host_and_rises_when_set_higher(deployment):
    new, old = deployment.start(Diagnosing), deployment.start(Old)
    auto_conf = make_conf()
    auto_conf.set_override("compute", "auto", group="upgrade_levels")
    client = VirtAPIClient(auto_conf, transport=deployment.transport, timeout=10)
    assert client.host(new.host).pin() == "1.1"  # nothing known yet: no cap
    assert client.set_auto_cap("1.0")
    assert client.host(new.host).version == "1.0"
    assert client.host(old.host).pin() == "1.0"
    assert client.set_auto_cap("1.1")
    assert client.host(new.host).version == "1.1" and client.host(old.host).version == "1.0"
    assert not client.set_auto_cap("1.1")  # unchanged: no re-pin


def test_a_core_reading_report_api_1_0_is_not_sent_deregister(deployment, caplog):
    caplog.set_level(logging.INFO)
    service = deployment.start(Diagnosing, conductor="1.0")
    assert service.reporter.version_cap == "1.0"
    assert not service.reporter.can_send("deregister")
    with pytest.raises(exc.NotSupported, match="deregister needs 1.1"):
        service.reporter.deregister(reason="x")
    service.stop()
    assert "deregister needs 1.1" in caplog.text
    assert not deployment.collector.of("deregister")


def test_a_core_reading_report_api_1_1_hears_the_service_go(deployment):
    service = deployment.start(Diagnosing)
    assert service.reporter.version_cap == report_api.REPORT_API_VERSION == "1.1"
    service.stop()
    wait_for(lambda: deployment.collector.of("deregister"), timeout=10)
    assert deployment.collector.of("deregister")[0][1] == service.host


def test_backports_drop_the_1_1_fields():
    instance = make_instance()
    instance.hostname = "web-1"
    primitive = instance.obj_to_primitive(target_version="1.0")
    assert "hostname" not in primitive["nova_object.data"] and primitive["nova_object.version"] == "1.0"
    info = objects.InstanceInfo(uuid=instance.uuid, name="x", power_state="running", uptime_seconds=5)
    primitive = info.obj_to_primitive(target_version="1.0")
    assert "uptime_seconds" not in primitive["nova_object.data"]


def test_a_bad_cap_is_refused_naming_the_option():
    conf = make_conf()
    with pytest.raises(ValueError, match="'one' doesn't match"):
        conf.set_override("compute", "one", group="upgrade_levels")
