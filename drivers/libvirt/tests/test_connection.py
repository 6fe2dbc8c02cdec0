"""A lost libvirt connection: HypervisorUnavailable while it is down, recovery on the next call,
and a compute service that keeps serving through it. libvirt faults are produced for real
(closing the connection underneath the driver, removing the node file it reopens), never mocked.
"""

import shutil
import time
import uuid

import libvirt
import pytest
from libvirt_test_support import foreign_domain_xml, make_conf, make_driver, make_instance, no_network

from nova_common.messaging.transport import get_transport
from nova_common.objects.fields import PowerState
from nova_common.scaffold.service import ComputeService
from nova_common.virt import exceptions as exc
from nova_common.virt.rpcapi import VirtAPIClient
from nova_driver_libvirt import connection as lvconn
from nova_driver_libvirt import driver as lvdriver


def test_connection_closed_underneath_is_reopened(host):
    drv = make_driver()
    instance = make_instance()
    try:
        drv.spawn(instance, no_network())
        opened = drv._connection.opened
        drv._conn.close()  # cut it behind the driver's back
        with pytest.raises(exc.HypervisorUnavailable):
            drv.get_info(instance)
        assert drv._conn is None
        # the next call reconnects; test:///default is kept alive by the session's host connection
        assert drv.get_info(instance).power_state == PowerState.RUNNING
        assert drv._connection.opened == opened + 1 and drv._connection.lost == 1
        drv.pause(instance)
        assert drv.get_info(instance).power_state == PowerState.PAUSED
    finally:
        drv.destroy(instance)
        drv.stop()


@pytest.fixture
def breakable_node(tmp_path):
    """A node file the test can remove (hypervisor down) and put back (hypervisor up)."""
    from libvirt_test_support import NODE_XML

    path = tmp_path / "node.xml"
    shutil.copy(NODE_XML, path)
    return path


def test_unavailable_while_down_then_recovers(breakable_node):
    drv = make_driver(f"test://{breakable_node}")
    try:
        assert drv.get_host_resources().memory_mb == 65536
        hidden = breakable_node.with_suffix(".away")
        breakable_node.rename(hidden)
        drv._conn.close()
        for operation in (drv.list_instances, drv.get_host_resources):
            for _ in range(3):  # stays down: every call says so, none crashes
                with pytest.raises(exc.HypervisorUnavailable):
                    operation()
        with pytest.raises(exc.HypervisorUnavailable):
            drv.get_info(make_instance())
        with pytest.raises(exc.HypervisorUnavailable):
            drv.spawn(make_instance(), no_network())
        assert drv.get_driver_info().driver_name == "libvirt"  # still answers
        hidden.rename(breakable_node)
        assert drv.get_host_resources().memory_mb == 65536
        instance = make_instance()
        drv.spawn(instance, no_network())
        assert [i.uuid for i in drv.list_instances().objects] == [instance.uuid]
    finally:
        drv.stop()


def test_start_while_hypervisor_down_raises_unavailable(tmp_path):
    drv = lvdriver.LibvirtDriver(make_conf(f"test://{tmp_path}/missing.xml"))
    with pytest.raises(exc.HypervisorUnavailable):
        drv.start()
    drv.stop()


def test_reconnects_are_rate_limited(breakable_node):
    drv = make_driver(f"test://{breakable_node}", reconnect_interval=60.0)
    try:
        breakable_node.unlink()
        drv._conn.close()
        with pytest.raises(exc.HypervisorUnavailable):
            drv.list_instances()  # notices the loss
        with pytest.raises(exc.HypervisorUnavailable):
            drv.list_instances()  # tries to reopen once, fails
        attempts = drv._connection.opened
        with pytest.raises(exc.HypervisorUnavailable):
            drv.list_instances()  # within the interval: no new attempt
        assert drv._connection.opened == attempts
    finally:
        drv.stop()


# -- error translation with real libvirt errors -------------------------------------------------


def real_error(call):
    try:
        call()
    except libvirt.libvirtError as error:
        return error
    raise AssertionError("expected a libvirtError")


def test_translate_real_libvirt_errors(host):
    missing = str(uuid.uuid4())
    no_domain = real_error(lambda: host.lookupByUUIDString(missing))
    assert isinstance(lvconn.translate(no_domain, "get_info", missing), exc.InstanceNotFound)
    stopped = host.defineXML(foreign_domain_xml())
    try:
        invalid = real_error(stopped.destroy)  # not running: VIR_ERR_OPERATION_INVALID
        mapped = lvconn.translate(invalid, "pause", stopped.UUIDString(), "shutdown")
        assert isinstance(mapped, exc.InvalidInstanceState)
        no_support = real_error(lambda: stopped.attachDeviceFlags("<disk/>", 0))
        assert isinstance(lvconn.translate(no_support, "attach_volume", missing), exc.NotSupported)
        internal = real_error(stopped.suspend)  # the test driver: VIR_ERR_INTERNAL_ERROR, connection fine
        assert internal.get_error_code() == libvirt.VIR_ERR_INTERNAL_ERROR
        drv = make_driver()
        assert not drv._connection.lost_by(internal)  # isAlive says the connection is fine
        assert drv._conn is not None
        drv.stop()
    finally:
        stopped.undefine()
    bad_xml = real_error(lambda: host.defineXML("<domain"))
    assert isinstance(lvconn.translate(bad_xml, "spawn", missing), exc.OperationFailed)
    dead = libvirt.open("test:///default")
    dead.close()
    closed = real_error(dead.getInfo)
    assert lvconn.is_connection_error(closed)
    assert isinstance(lvconn.translate(closed, "get_host_resources"), exc.HypervisorUnavailable)


# -- through a running compute service over kombu+memory --------------------------------------------


def test_compute_service_survives_a_lost_connection(breakable_node):
    conf = make_conf(f"test://{breakable_node}")
    host_name = f"libvirt-{uuid.uuid4().hex[:8]}"
    conf.set_override("host", host_name)
    conf.set_override("hypervisor_retry_interval", 0.1, group="compute")
    transport = get_transport(conf, "kombu+memory:////")
    service = ComputeService(conf, lvdriver.LibvirtDriver(conf), transport=transport)
    service.start()
    client = VirtAPIClient(conf, transport=transport)
    try:
        remote = client.host(host_name)
        info = remote.get_driver_info()
        assert info.driver_name == "libvirt" and "power" in info.capabilities
        instance = make_instance()
        assert remote.spawn(instance=instance, network_info=no_network()).power_state == PowerState.RUNNING
        with pytest.raises(exc.NotSupported):
            remote.get_console_output(instance=instance)

        hidden = breakable_node.with_suffix(".away")
        breakable_node.rename(hidden)
        service.driver._conn.close()
        for _ in range(3):
            with pytest.raises(exc.HypervisorUnavailable):
                remote.get_info(instance=instance)
        with pytest.raises(exc.HypervisorUnavailable):
            remote.list_instances()
        assert service.started and service._ticker.is_alive()
        assert remote.get_driver_info().driver_name == "libvirt"

        hidden.rename(breakable_node)
        # the node file gives a fresh host: the service serves again
        assert remote.get_host_resources().memory_mb == 65536
        fresh = make_instance()
        remote.spawn(instance=fresh, network_info=no_network())
        assert [i.uuid for i in remote.list_instances().objects] == [fresh.uuid]
        remote.power_off(instance=fresh, timeout=0)
        assert remote.get_info(instance=fresh).power_state == PowerState.SHUTDOWN
        remote.destroy(instance=fresh)
    finally:
        service.stop()
        transport.cleanup()


def test_compute_service_starts_while_hypervisor_down_and_recovers(tmp_path):
    from libvirt_test_support import NODE_XML

    node = tmp_path / "late.xml"
    conf = make_conf(f"test://{node}")
    host_name = f"libvirt-{uuid.uuid4().hex[:8]}"
    conf.set_override("host", host_name)
    conf.set_override("hypervisor_retry_interval", 0.1, group="compute")
    transport = get_transport(conf, "kombu+memory:////")
    service = ComputeService(conf, lvdriver.LibvirtDriver(conf), transport=transport)
    service.start()  # the hypervisor is not there yet
    client = VirtAPIClient(conf, transport=transport)
    try:
        remote = client.host(host_name)
        with pytest.raises(exc.HypervisorUnavailable):
            remote.list_instances()
        shutil.copy(NODE_XML, node)
        deadline = time.monotonic() + 10
        while service.dispatcher.hypervisor_down_reason is not None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert service.dispatcher.hypervisor_down_reason is None
        assert remote.list_instances().objects == []
        assert "snapshot" in remote.get_driver_info().capabilities
    finally:
        service.stop()
        transport.cleanup()
