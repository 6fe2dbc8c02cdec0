"""The report channel is declared in the spec and both sides are derived from it."""

import uuid

import oslo_messaging
import pytest
from common_test_helpers import make_conf, wait_for
from memory_driver import MemoryDriver
from test_service import CollectorEndpoint, ReportCollector

from nova_common import objects
from nova_common.messaging.server import get_rpc_server
from nova_common.messaging.transport import get_transport
from nova_common.scaffold.reporting import CONDUCTOR_TOPIC, compute_report_client
from nova_common.scaffold.service import ComputeService
from nova_common.virt import exceptions as exc
from nova_common.virt import report_api
from nova_common.virt.rpcapi import COMPUTE_TOPIC

MEMORY_URL = "kombu+memory:////"


def test_every_message_is_declared_with_its_sender_and_kind():
    assert list(report_api.COMPUTE_REPORT) == [
        "register",
        "heartbeat",
        "report_resources",
        "lifecycle_event",
        "deregister",
    ]
    assert report_api.COMPUTE_REPORT["deregister"].added_in == "1.1"
    assert report_api.COMPUTE_REPORT["register"].kind == report_api.CALL
    assert report_api.COMPUTE_REPORT["register"].result is objects.CoreInfo
    for msg in [*report_api.COMPUTE_REPORT.values(), *report_api.SERVICE_CONTROL.values()]:
        assert msg.sent and msg.doc, msg.name
        assert msg.added_in in report_api.REPORT_VERSION_HISTORY
        for arg in msg.arguments:
            if isinstance(arg.type, type) and issubclass(arg.type, objects.NovaObject):
                assert arg.type.obj_name() in objects.object_manifest()
    assert report_api.ComputeReportAPI.__abstractmethods__ == set(report_api.COMPUTE_REPORT)


def test_the_client_refuses_what_the_declaration_forbids_before_sending():
    conf = make_conf()
    transport = get_transport(conf, MEMORY_URL)
    client = compute_report_client(transport, "h1")
    with pytest.raises(exc.InvalidRequest) as raised:
        client.heartbeat(sequence=0)
    assert raised.value.kwargs["field"] == "sequence"
    with pytest.raises(exc.InvalidRequest) as raised:
        compute_report_client(transport, "bad host!").heartbeat(sequence=1)
    assert raised.value.kwargs["field"] == "host"
    with pytest.raises(exc.InvalidRequest) as raised:
        client.send("no_such_message")
    assert raised.value.kwargs == {
        "field": "message",
        "value": "no_such_message",
        "reason": "not in the declared API",
    }
    transport.cleanup()


def _listener(transport, collector):
    server = get_rpc_server(
        transport, oslo_messaging.Target(topic=CONDUCTOR_TOPIC, server="core"), [CollectorEndpoint(collector)]
    )
    server.start()
    return server


def test_registration_is_retried_until_the_core_answers_then_reporting_starts():
    host = "host-" + uuid.uuid4().hex[:8]
    conf = make_conf(host, heartbeat_interval=0.05, resource_report_interval=0.05, registration_timeout=0.2)
    transport = get_transport(conf, MEMORY_URL)
    service = ComputeService(conf, MemoryDriver(conf), transport=transport)
    service.start()
    collector = ReportCollector()
    try:
        wait_for(lambda: service._registration_failures >= 1, timeout=10)
        assert (
            not service.registered and service._heartbeats == 0
        )  # nothing reported before the core answered
        listener = _listener(transport, collector)
        wait_for(lambda: collector.of("heartbeat"), timeout=30)
        assert service.registered and collector.of("register")[0][1] == host
        assert collector.of("heartbeat")[0][2] == 1
    finally:
        service.stop()
        listener.stop()
        listener.wait()
        transport.cleanup()


def test_a_service_waiting_for_its_core_sleeps_between_tries():
    """Before the core answers, no heartbeat or report is due: the ticker wakes
    for registration tries only (it used to spin a core until registered)."""
    host = "host-" + uuid.uuid4().hex[:8]
    conf = make_conf(
        host,
        heartbeat_interval=0.05,
        resource_report_interval=0.05,
        registration_timeout=0.05,
        conductor_topic="nobody-" + uuid.uuid4().hex[:8],  # no core, and no queue other tests read
    )
    transport = get_transport(conf, MEMORY_URL)
    service = ComputeService(conf, MemoryDriver(conf), transport=transport)
    service.start()
    try:
        wait_for(lambda: service._registration_failures >= 3, timeout=20)
        assert not service.registered
        # A few passes per try (a wake-up may add one); a spinning loop makes thousands.
        assert service._ticks <= 3 * service._registration_failures + 3, (
            service._ticks,
            service._registration_failures,
        )
    finally:
        service.stop()
        transport.cleanup()


def test_the_core_can_ask_a_service_to_register_again():
    host = "host-" + uuid.uuid4().hex[:8]
    conf = make_conf(host, heartbeat_interval=5, resource_report_interval=5)
    transport = get_transport(conf, MEMORY_URL)
    collector = ReportCollector()
    listener = _listener(transport, collector)
    service = ComputeService(conf, MemoryDriver(conf), transport=transport)
    service.start()
    try:
        wait_for(lambda: len(collector.of("register")) == 1, timeout=10)
        target = oslo_messaging.Target(
            topic=COMPUTE_TOPIC, server=host, namespace=report_api.SERVICE_CONTROL_NAMESPACE, version="1.0"
        )
        report_api.MessageClient(transport, target, report_api.SERVICE_CONTROL).request_registration()
        wait_for(lambda: len(collector.of("register")) == 2, timeout=10)
    finally:
        service.stop()
        listener.stop()
        listener.wait()
        transport.cleanup()


def test_a_derived_endpoint_refuses_a_bad_cast_without_calling_the_handler():
    refused = []

    class Counting(CollectorEndpoint):
        def refused(self, message, kwargs, error):
            refused.append((message.name, error.kwargs["field"]))

    collector = ReportCollector()
    endpoint = Counting(collector)
    endpoint.heartbeat({}, host="h1", sequence=-3)
    endpoint.heartbeat({}, host="h1", sequence=2, extra=1)
    assert collector.received == []
    assert refused == [("heartbeat", "sequence"), ("heartbeat", "extra")]
    # Called directly, oslo's expected_exceptions wraps the InvalidRequest; on the wire the caller gets it.
    with pytest.raises(oslo_messaging.ExpectedException):
        endpoint.register(
            {}, host="h1", driver_info="not an object", heartbeat_interval=1.0, report_interval=1.0
        )
    assert refused[-1] == ("register", "driver_info")
