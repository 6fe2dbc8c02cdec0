"""The scaffold and the RPC client end to end over kombu+memory (the real
rabbit driver over kombu's in-process broker)."""

import logging
import threading
import uuid

import oslo_messaging
import pytest
from common_test_helpers import make_conf, make_instance, wait_for
from memory_driver import MemoryDriver

from nova_common import objects
from nova_common.messaging.server import get_rpc_server
from nova_common.messaging.transport import get_transport
from nova_common.objects.fields import LifecycleTransition
from nova_common.scaffold.reporting import CONDUCTOR_TOPIC
from nova_common.scaffold.service import ComputeService
from nova_common.virt import api, report_api
from nova_common.virt import exceptions as exc
from nova_common.virt.rpcapi import VirtAPIClient

MEMORY_URL = "kombu+memory:////"


class ReportCollector(report_api.ComputeReportAPI):
    """Stands in for the conductor's side of the compute-report API (served
    through the endpoint derived from the declarations)."""

    def __init__(self):
        self.received = []

    def register(self, host, driver_info, heartbeat_interval, report_interval):
        self.received.append(("register", host, driver_info))
        return report_api.core_info("0.0.0")

    def heartbeat(self, host, sequence):
        self.received.append(("heartbeat", host, sequence))

    def report_resources(self, host, resources):
        self.received.append(("report_resources", host, resources))

    def lifecycle_event(self, host, event):
        self.received.append(("lifecycle_event", host, event))

    def deregister(self, host, reason):
        self.received.append(("deregister", host, reason))

    def of(self, kind):
        return [entry for entry in self.received if entry[0] == kind]


CollectorEndpoint = report_api.endpoint_class(
    "CollectorEndpoint", report_api.COMPUTE_REPORT, report_api.REPORT_API_VERSION
)


@pytest.fixture
def cloud():
    """A compute service hosting MemoryDriver, a report collector, a client."""
    host = "host-" + uuid.uuid4().hex[:8]
    conf = make_conf(
        host, heartbeat_interval=0.05, resource_report_interval=0.05, hypervisor_retry_interval=0.05
    )
    transport = get_transport(conf, MEMORY_URL)
    collector = ReportCollector()
    listener = get_rpc_server(
        transport,
        oslo_messaging.Target(topic=CONDUCTOR_TOPIC, server="conductor"),
        [CollectorEndpoint(collector)],
    )
    listener.start()
    driver = MemoryDriver(conf)
    service = ComputeService(conf, driver, transport=transport)
    client = VirtAPIClient(conf, transport=transport, timeout=10)

    class Cloud:
        pass

    cloud = Cloud()
    cloud.conf, cloud.driver, cloud.service, cloud.collector = conf, driver, service, collector
    cloud.client, cloud.host = client, host
    yield cloud
    # Each RPC server takes up to a second to stop (oslo.messaging finishes its
    # current poll); stop both at once.
    stopper = threading.Thread(target=listener.stop)
    stopper.start()
    service.stop()
    stopper.join()
    listener.wait()
    transport.cleanup()


def test_operations_and_contract_errors_cross_the_wire(cloud):
    cloud.service.start()
    host = cloud.client.host(cloud.host)
    instance = make_instance()
    info = host.spawn(instance=instance, network_info=objects.NetworkInfo(objects=[]))
    assert isinstance(info, objects.InstanceInfo) and info.power_state == "running"
    with pytest.raises(exc.InstanceExists) as raised:
        host.spawn(instance=instance, network_info=objects.NetworkInfo(objects=[]))
    # The plain class and message, not oslo.messaging's *_Remote with a traceback.
    assert type(raised.value) is exc.InstanceExists
    assert str(raised.value) == f"Instance {instance.uuid} already exists."
    with pytest.raises(exc.InstanceNotFound):
        host.get_info(instance=make_instance())
    assert [i.uuid for i in host.list_instances().objects] == [instance.uuid]


def test_pins_to_host_version_and_config_cap(cloud, monkeypatch):
    cloud.service.start()
    original = MemoryDriver.get_driver_info

    def newer_host(self):
        info = original(self)
        info.virt_api_max = "1.7"
        return info

    monkeypatch.setattr(MemoryDriver, "get_driver_info", newer_host)
    host = cloud.client.host(cloud.host)
    assert host.pin() == api.VIRT_API_VERSION  # never above what we speak
    assert host.driver_info.virt_api_max == "1.7"

    # An operation from a newer spec than the pinned version is refused locally.
    major, minor = api.parse_version(api.VIRT_API_VERSION)
    newer = f"{major}.{minor + 1}"
    future = api.Operation(
        name="future_op",
        added_in=newer,
        arguments=(),
        result=None,
        raises=(),
        idempotent=True,
        repeatable=True,
        capability=None,
        transition=None,
        needs_hypervisor=True,
        time_budget=1,
        rpc_timeout=5,
        doc="",
    )
    monkeypatch.setitem(api.OPERATIONS, "future_op", future)
    with pytest.raises(
        exc.NotSupported, match=f"pinned to virt API {api.VIRT_API_VERSION} .*; future_op needs {newer}"
    ):
        host.call("future_op")


def test_pinning_from_the_registration_needs_no_probe(cloud, monkeypatch):
    cloud.service.start()
    wait_for(lambda: cloud.collector.of("register"))
    advertised = cloud.collector.of("register")[0][2]
    probes = []
    original = MemoryDriver.get_driver_info

    def counted(self):
        probes.append(self)
        return original(self)

    monkeypatch.setattr(MemoryDriver, "get_driver_info", counted)
    host = cloud.client.pin(cloud.host, advertised)
    assert host.version == api.VIRT_API_VERSION and host.driver_info is advertised
    assert cloud.client.host(cloud.host) is host
    host.spawn(instance=make_instance(), network_info=objects.NetworkInfo(objects=[]))
    assert probes == []  # the first operation went out without a get_driver_info
    # A host advertising a newer API is pinned to ours, as by a probe.
    advertised.virt_api_max = "1.7"
    newer = cloud.client.pin(cloud.host, advertised)
    assert newer.version == api.VIRT_API_VERSION and newer.driver_info.virt_api_max == "1.7"
    with pytest.raises(exc.InternalError):
        cloud.client.pin(cloud.host, objects.HostResources())


def test_upgrade_levels_cap(cloud):
    cloud.service.start()
    cloud.conf.set_override("compute", "1.0", group="upgrade_levels")
    host = VirtAPIClient(cloud.conf, transport=cloud.service.transport).host(cloud.host)
    assert host.pin() == "1.0"
    assert host.can_send("get_info")


def test_unadvertised_capability_is_not_supported_without_calling_driver(cloud):
    cloud.service.start()
    host = cloud.client.host(cloud.host)
    instance = make_instance()
    host.spawn(instance=instance, network_info=objects.NetworkInfo(objects=[]))
    with pytest.raises(exc.NotSupported, match="reboot.*'reboot' capability"):
        host.reboot(instance=instance, reboot_type="soft")
    assert cloud.driver.calls["reboot"] == 0


def test_error_outside_contract_becomes_internal_error_and_is_logged(cloud, caplog):
    cloud.service.start()
    host = cloud.client.host(cloud.host)
    with caplog.at_level(logging.ERROR, logger="nova_common.scaffold.dispatcher"):
        with pytest.raises(exc.InternalError) as raised:
            host.spawn(instance=make_instance("explode"), network_info=objects.NetworkInfo(objects=[]))
    message = str(raised.value)
    assert "KeyError" in message and "secret-internal-detail" not in message
    reference = raised.value.kwargs["reference"]
    logged = [r for r in caplog.records if reference in r.getMessage()]
    assert logged and logged[0].exc_info is not None  # the traceback stays on the service side


def test_wrong_result_type_becomes_internal_error(cloud):
    cloud.service.start()
    host = cloud.client.host(cloud.host)
    with pytest.raises(exc.InternalError, match="wrong result type str"):
        host.spawn(instance=make_instance("wrong-result"), network_info=objects.NetworkInfo(objects=[]))


def test_bad_arguments_name_the_field(cloud):
    cloud.service.start()
    host = cloud.client.host(cloud.host)
    with pytest.raises(exc.InvalidRequest, match="Invalid network_info 'oops'"):
        host.spawn(instance=make_instance(), network_info="oops")
    with pytest.raises(exc.InvalidRequest, match="not an argument of get_info"):
        host.get_info(instance=make_instance(), verbose=True)


def test_operations_on_one_instance_are_serialised(cloud):
    cloud.service.start()
    cloud.driver.pause_seconds = 0.05
    host = cloud.client.host(cloud.host)
    same, others = make_instance(), [make_instance() for _ in range(3)]
    for instance in [same, *others]:
        host.spawn(instance=instance, network_info=objects.NetworkInfo(objects=[]))
    threads = [threading.Thread(target=host.pause, kwargs={"instance": same}) for _ in range(4)]
    threads += [threading.Thread(target=host.pause, kwargs={"instance": other}) for other in others]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert cloud.driver.calls["pause"] == 7
    assert cloud.driver.max_concurrent[same.uuid] == 1
    assert cloud.driver.max_concurrent_total > 1  # different instances did overlap
    assert len(cloud.service.dispatcher.locks) == 0  # no lock left behind


def test_registers_heartbeats_reports_and_forwards_events(cloud):
    cloud.service.start()
    collector = cloud.collector
    wait_for(lambda: len(collector.of("heartbeat")) >= 2 and collector.of("report_resources"))
    kind, host, info = collector.of("register")[0]
    assert host == cloud.host and isinstance(info, objects.DriverInfo)
    assert info.capabilities == ["pause"] and info.object_versions == objects.object_manifest()
    sequences = [entry[2] for entry in collector.of("heartbeat")]
    assert sequences == sorted(sequences)
    assert isinstance(collector.of("report_resources")[0][2], objects.HostResources)
    event = objects.LifecycleEvent(
        instance_uuid=str(uuid.uuid4()),
        transition=LifecycleTransition.CRASHED,
        timestamp="2026-01-01T00:00:00Z",
    )
    cloud.driver.emit_event(event)
    forwarded = wait_for(lambda: collector.of("lifecycle_event"))
    assert forwarded[0][2].transition == "crashed"


def test_capability_change_registers_again(cloud):
    cloud.service.start()
    wait_for(lambda: cloud.collector.of("register"))
    cloud.driver.advertised = frozenset({"pause", "reboot"})
    again = wait_for(lambda: [e for e in cloud.collector.of("register") if "reboot" in e[2].capabilities])
    assert again


def test_hypervisor_down_at_start_then_recovers(cloud):
    cloud.driver.fail_start_times = 3
    cloud.service.start()
    host = cloud.client.host(cloud.host)
    assert host.get_driver_info().driver_name == "memory"  # answers while down
    try:
        host.list_instances()
    except exc.HypervisorUnavailable as error:
        assert "napping" in str(error)
    wait_for(lambda: cloud.service.dispatcher.hypervisor_down_reason is None)
    assert host.list_instances().objects == []


def test_stop_is_clean_and_idempotent(cloud):
    cloud.service.start()
    cloud.service.stop()
    cloud.service.stop()
    assert not cloud.service.started


def test_serves_on_native_threads(cloud):
    """No eventlet anywhere: the threading executor, nothing monkey-patched."""
    from oslo_utils import eventletutils

    cloud.service.start()
    assert cloud.service._server.executor_type == "threading"
    assert not eventletutils.is_monkey_patched("thread")
    assert not eventletutils.is_monkey_patched("socket")


@pytest.mark.parametrize("standard_pool", [True, False])
def test_rpc_server_reuses_an_idle_worker_when_configured(cloud, standard_pool):
    """With ``[messaging] rpc_server_standard_pool`` sequential requests run on
    one worker thread (nova_common.messaging.patches.rpc_server_pool); without
    it (a driver's compute service by default) oslo.messaging's own executor
    runs, which adds a thread per request up to executor_thread_pool_size (64),
    each waking once a second when idle."""
    cloud.conf.set_override("rpc_server_standard_pool", standard_pool, group="messaging")
    cloud.service.start()
    host = cloud.client.host(cloud.host)
    host.list_instances()  # the client's reply listener and the first worker
    before = set(threading.enumerate())
    for _ in range(30):
        host.list_instances()
    added = [t.name for t in set(threading.enumerate()) - before]
    ours = any(t.name.startswith(f"rpc-compute.{cloud.host}") for t in threading.enumerate())
    if standard_pool:
        assert len(added) <= 1, added
        assert ours
    else:
        assert len(added) >= 10, added  # futurist's: 30 seen here
        assert not ours
