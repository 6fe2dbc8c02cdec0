"""Every operation against libvirt's test driver, on test:///default and on the shipped node XML.

The expected outcome of each power operation from each state is derived from
the spec's Transition table (nova_common.virt.api.OPERATIONS), not written twice.
"""

import time
import uuid

import libvirt
import pytest
from libvirt_test_support import NODE_URI, foreign_domain_xml, make_driver, make_instance, no_network

from nova_common import objects
from nova_common.objects.fields import LifecycleTransition, PowerState
from nova_common.scaffold.dispatcher import DriverDispatcher
from nova_common.virt import api
from nova_common.virt import exceptions as exc
from nova_driver_libvirt import xmlbuilder as xb

POWER_OPS = ["reboot", "power_off", "power_on", "pause", "unpause", "suspend", "resume"]
REACHABLE = [PowerState.RUNNING, PowerState.PAUSED, PowerState.SUSPENDED, PowerState.SHUTDOWN]


def call(driver, operation, instance):
    if operation == "reboot":
        return driver.reboot(instance, "soft")
    if operation == "power_off":
        return driver.power_off(instance, 0)
    return getattr(driver, operation)(instance)


def bring_to(driver, instance, state):
    if state == PowerState.PAUSED:
        driver.pause(instance)
    elif state == PowerState.SUSPENDED:
        driver.suspend(instance)
    elif state == PowerState.SHUTDOWN:
        driver.power_off(instance, 0)
    assert driver.get_info(instance).power_state == state


def own_domain(driver, instance):
    return driver._conn.raw.lookupByUUIDString(instance.uuid)


# -- capabilities ------------------------------------------------------------------------


def test_capabilities_probed_and_honest(driver):
    caps = driver.capabilities()
    assert caps == {"power", "reboot", "pause", "suspend", "snapshot"}
    missing = driver.missing_capabilities()
    assert "VIR_ERR_NO_SUPPORT" in missing["console_output"] or "openConsole" in missing["console_output"]
    assert "attachDeviceFlags" in missing["volume_attach"]
    assert set(missing) | caps == api.Capability.ALL
    info = driver.get_driver_info()
    assert info.driver_name == "libvirt" and info.hypervisor_type == "TEST"
    assert info.driver_version == "0.1.0" and info.capabilities == sorted(caps)


def test_probe_leaves_no_domain_behind(host):
    before = {d.UUIDString() for d in host.listAllDomains(0)}
    drv = make_driver()
    drv.stop()
    assert {d.UUIDString() for d in host.listAllDomains(0)} == before


def test_unadvertised_operations_answer_not_supported_through_the_scaffold(driver, spawn):
    instance = spawn()
    dispatcher = DriverDispatcher(driver)
    attachment = objects.VolumeAttachment(
        volume_id=str(uuid.uuid4()), mountpoint="/dev/vdb", driver_volume_type="file"
    )
    for operation, kwargs in (
        ("attach_volume", {"instance": instance, "attachment": attachment}),
        ("detach_volume", {"instance": instance, "volume_id": attachment.volume_id}),
        ("get_console_output", {"instance": instance}),
    ):
        with pytest.raises(exc.NotSupported):
            dispatcher.dispatch(operation, kwargs)


def test_attach_volume_called_directly_maps_no_support(driver, spawn):
    """The test driver refuses attachDeviceFlags (VIR_ERR_NO_SUPPORT): a contract error, never raw."""
    instance = spawn()
    attachment = objects.VolumeAttachment(
        volume_id=str(uuid.uuid4()),
        mountpoint="/dev/vdb",
        driver_volume_type="file",
        connection_data={"device_path": "/var/lib/x.img"},
    )
    with pytest.raises(exc.NotSupported):
        driver.attach_volume(instance, attachment)
    driver.detach_volume(instance, attachment.volume_id)  # nothing attached: a no-op
    with pytest.raises(exc.InvalidRequest) as caught:
        driver.attach_volume(
            instance,
            objects.VolumeAttachment(
                volume_id=str(uuid.uuid4()), mountpoint="/etc/passwd", driver_volume_type="file"
            ),
        )
    assert caught.value.kwargs["field"] == "mountpoint"


# -- spawn, get_info, list, destroy ------------------------------------------------------


def test_spawn_boots_running_with_our_metadata(driver, spawn):
    instance = spawn(display_name="web-1", vcpus=2, memory_mb=512)
    info = driver.get_info(instance)
    assert info.uuid == instance.uuid
    assert info.power_state == PowerState.RUNNING
    assert info.name == f"instance-{instance.uuid}"
    assert (info.vcpus, info.memory_mb, info.max_memory_mb) == (2, 512, 512)
    dom = own_domain(driver, instance)
    assert dom.UUIDString() == instance.uuid
    meta = xb.InstanceMetadata.from_domain_xml(dom.XMLDesc(0))
    assert meta.display_name == "web-1" and meta.flavor.vcpus == 2 and meta.package_version == "0.1.0"


def test_domain_name_template(host):
    drv = make_driver(domain_name_template="nova-%(uuid)s-vm")
    instance = make_instance()
    try:
        info = drv.spawn(instance, no_network())
        assert info.name == f"nova-{instance.uuid}-vm"
    finally:
        drv.destroy(instance)
        drv.stop()


def test_second_spawn_raises_instance_exists(driver, spawn):
    instance = spawn()
    driver.pause(instance)
    with pytest.raises(exc.InstanceExists):
        driver.spawn(instance, no_network())
    assert driver.get_info(instance).power_state == PowerState.PAUSED


def test_spawn_over_a_foreign_uuid_raises_instance_exists(driver, host):
    foreign = driver._conn.raw.listAllDomains(0)[0]
    instance = make_instance(uuid=foreign.UUIDString())
    with pytest.raises(exc.InstanceExists):
        driver.spawn(instance, no_network())


def test_spawn_too_big_raises_insufficient_resources(driver):
    total = driver.get_host_resources().memory_mb
    with pytest.raises(exc.InsufficientResources):
        driver.spawn(make_instance(memory_mb=total + 1), no_network())
    with pytest.raises(exc.InsufficientResources):
        driver.spawn(make_instance(vcpus=4096), no_network())


def test_spawn_with_a_vif(driver):
    instance = make_instance()
    vif = objects.VIF(id=str(uuid.uuid4()), address="fa:16:3e:00:00:01", bridge="br-int", mtu=1450)
    try:
        driver.spawn(instance, objects.NetworkInfo(objects=[vif]))
        assert "fa:16:3e:00:00:01" in own_domain(driver, instance).XMLDesc(0)
    finally:
        driver.destroy(instance)
    bad = objects.VIF(id=str(uuid.uuid4()), address="fa:16:3e:00:00:01", bridge="br0'><x/>")
    with pytest.raises(exc.InvalidRequest) as caught:
        driver.spawn(make_instance(), objects.NetworkInfo(objects=[bad]))
    assert caught.value.kwargs["field"] == "network_info[0].bridge"


def test_destroy_removes_everything_and_is_idempotent(driver, spawn):
    instance = spawn()
    driver.snapshot(instance, str(uuid.uuid4()), "before destroy")
    driver.suspend(instance)  # a managed-save image and snapshot metadata to remove
    driver.destroy(instance)
    with pytest.raises(exc.InstanceNotFound):
        driver.get_info(instance)
    with pytest.raises(libvirt.libvirtError):
        driver._conn.raw.lookupByUUIDString(instance.uuid)
    assert instance.uuid not in {i.uuid for i in driver.list_instances().objects}
    driver.destroy(instance)
    driver.destroy(make_instance())  # never existed


def test_list_instances_matches_get_info_and_omits_foreign(driver, spawn):
    a, b = spawn(), spawn()
    driver.pause(b)
    listed = {info.uuid: info for info in driver.list_instances().objects}
    assert set(listed) >= {a.uuid, b.uuid}
    for instance in (a, b):
        one = driver.get_info(instance)
        assert listed[instance.uuid].power_state == one.power_state
        assert listed[instance.uuid].vcpus == one.vcpus
        assert listed[instance.uuid].memory_mb == one.memory_mb
    foreign = {
        d.UUIDString() for d in driver._conn.raw.listAllDomains(0) if d.name() in ("test", "legacy-appliance")
    }
    assert foreign and not foreign & set(listed)


def test_foreign_domains_are_never_touched(driver):
    foreign_dom = [d for d in driver._conn.raw.listAllDomains(0) if d.name() in ("test", "legacy-appliance")][
        0
    ]
    before = (foreign_dom.state(0), foreign_dom.XMLDesc(0))
    foreign = make_instance(uuid=foreign_dom.UUIDString())
    with pytest.raises(exc.InstanceNotFound):
        driver.get_info(foreign)
    for operation in POWER_OPS:
        with pytest.raises(exc.InstanceNotFound):
            call(driver, operation, foreign)
    with pytest.raises(exc.InstanceNotFound):
        driver.snapshot(foreign, str(uuid.uuid4()), "x")
    driver.destroy(foreign)  # "not there" for us: succeeds, touches nothing
    after = driver._conn.raw.lookupByUUIDString(foreign.uuid)
    assert (after.state(0), after.XMLDesc(0)) == before


def test_unknown_instance_raises_instance_not_found(driver):
    ghost = make_instance()
    with pytest.raises(exc.InstanceNotFound):
        driver.get_info(ghost)
    for operation in POWER_OPS:
        with pytest.raises(exc.InstanceNotFound):
            call(driver, operation, ghost)
    with pytest.raises(exc.InstanceNotFound):
        driver.snapshot(ghost, str(uuid.uuid4()), "x")


# -- the transition table -----------------------------------------------------------------


@pytest.mark.parametrize("start", REACHABLE)
@pytest.mark.parametrize("operation", POWER_OPS)
def test_transition_table(driver, spawn, operation, start):
    transition = api.OPERATIONS[operation].transition
    instance = spawn()
    bring_to(driver, instance, start)
    if start in transition.allowed_from:
        call(driver, operation, instance)
        assert driver.get_info(instance).power_state == transition.to
        if start == transition.to and operation != "reboot":
            call(driver, operation, instance)  # already there: a no-op
            assert driver.get_info(instance).power_state == transition.to
    else:
        with pytest.raises(exc.InvalidInstanceState) as caught:
            call(driver, operation, instance)
        assert caught.value.kwargs["power_state"] == start
        assert driver.get_info(instance).power_state == start


def test_reboot_soft_and_hard(driver, spawn):
    instance = spawn()
    driver.reboot(instance, "soft")
    driver.reboot(instance, "hard")
    assert driver.get_info(instance).power_state == PowerState.RUNNING


def test_power_off_graceful_with_timeout(driver, spawn):
    instance = spawn()
    driver.power_off(instance, timeout=5)
    assert driver.get_info(instance).power_state == PowerState.SHUTDOWN


def test_power_off_from_suspended_drops_the_saved_state(driver, spawn):
    instance = spawn()
    driver.suspend(instance)
    assert own_domain(driver, instance).hasManagedSaveImage(0)
    driver.power_off(instance)
    assert not own_domain(driver, instance).hasManagedSaveImage(0)
    assert driver.get_info(instance).power_state == PowerState.SHUTDOWN
    driver.power_on(instance)
    assert driver.get_info(instance).power_state == PowerState.RUNNING


def test_suspend_resume_uses_managed_save(driver, spawn):
    instance = spawn()
    driver.suspend(instance)
    dom = own_domain(driver, instance)
    assert dom.state(0)[0] == libvirt.VIR_DOMAIN_SHUTOFF and dom.hasManagedSaveImage(0)
    assert driver.get_info(instance).memory_mb == 0
    driver.resume(instance)
    assert dom.state(0)[0] == libvirt.VIR_DOMAIN_RUNNING and not dom.hasManagedSaveImage(0)


def test_snapshot_keeps_power_state(driver, spawn):
    instance = spawn()
    for state in (PowerState.RUNNING, PowerState.PAUSED, PowerState.SHUTDOWN):
        bring_to(driver, instance, state)
        image_id = str(uuid.uuid4())
        info = driver.snapshot(instance, image_id, f"snap of {state}")
        assert info.image_id == image_id and image_id in info.location
        assert driver.get_info(instance).power_state == state
        assert image_id in own_domain(driver, instance).snapshotListNames(0)
        driver.power_on(instance) if state == PowerState.SHUTDOWN else None
        if state == PowerState.PAUSED:
            driver.unpause(instance)


# -- host resources ---------------------------------------------------------------------------


def test_host_resources_follow_spawn_and_destroy(driver):
    before = driver.get_host_resources()
    assert before.vcpus_used <= before.vcpus and before.memory_mb_used <= before.memory_mb
    assert before.hypervisor_type == "TEST" and before.hypervisor_hostname
    instance = make_instance(vcpus=2, memory_mb=1024, root_gb=10)
    driver.spawn(instance, no_network())
    during = driver.get_host_resources()
    assert during.vcpus_used == before.vcpus_used + 2
    assert during.memory_mb_used == before.memory_mb_used + 1024
    assert during.local_gb_used == before.local_gb_used + 10
    driver.destroy(instance)
    assert driver.get_host_resources() == before


def test_host_resources_of_the_node_xml(host):
    drv = make_driver(NODE_URI)
    try:
        res = drv.get_host_resources()
        assert res.memory_mb == 64 * 1024
        assert res.vcpus == 32
        assert res.cpu_info["sockets"] == "2"
        assert res.cpu_info["cores"] == "8"
        assert res.cpu_info["threads"] == "2"
        assert res.cpu_info["numa_nodes"] == "2"
        assert res.cpu_info["arch"] == "x86_64" and res.cpu_info["mhz"] == "2400"
        assert res.local_gb > 0
        # the pre-existing legacy-appliance domain (4 GiB, 2 vCPUs) is not ours: not counted
        assert (res.vcpus_used, res.memory_mb_used) == (0, 0)
    finally:
        drv.stop()


# -- bulk reads: the number of libvirt calls does not grow with the number of domains ---------


def test_list_and_host_resources_cost_does_not_grow(host):
    drv = make_driver(NODE_URI)
    created = []
    try:

        def grow_to(n):
            while len(created) < n:
                inst = make_instance(memory_mb=16)
                drv.spawn(inst, no_network())
                created.append(inst)
            drv.list_instances()  # first sight of domains is cached
            costs = []
            for method in (drv.list_instances, drv.get_host_resources):
                with drv.counter.measure() as calls:
                    method()
                costs.append(sum(calls.values()))
            return costs

        small = grow_to(3)
        large = grow_to(30)
        assert small == large
        assert large[0] == 1  # one getAllDomainStats
        assert len(drv.list_instances().objects) == 30
    finally:
        for inst in created:
            drv.destroy(inst)
        drv.stop()


def test_domains_defined_by_someone_else_are_classified_once(host):
    drv = make_driver()
    stranger = host.defineXML(foreign_domain_xml())
    try:
        with drv.counter.measure() as first:
            drv.list_instances()
        with drv.counter.measure() as second:
            drv.list_instances()
        assert first["virDomain.metadata"] == 1 and second["virDomain.metadata"] == 0
        assert stranger.UUIDString() not in {i.uuid for i in drv.list_instances().objects}
    finally:
        stranger.undefine()
        drv.stop()


# -- lifecycle events ----------------------------------------------------------------------------


def wait_for(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def test_lifecycle_events_only_for_owned_domains(host):
    drv = make_driver()
    events = []
    drv.set_event_handler(events.append)
    stranger = host.defineXML(foreign_domain_xml())
    instance = make_instance()
    try:
        stranger.create()
        stranger.suspend()
        stranger.destroy()
        drv.spawn(instance, no_network())
        # out of band, as an admin with virsh would
        dom = host.lookupByUUIDString(instance.uuid)
        dom.suspend()
        dom.resume()
        dom.destroy()
        expected = [
            LifecycleTransition.STARTED,
            LifecycleTransition.PAUSED,
            LifecycleTransition.RESUMED,
            LifecycleTransition.STOPPED,
        ]
        assert wait_for(lambda: len(events) >= 4)
        time.sleep(0.1)
        assert [e.transition for e in events] == expected
        assert {e.instance_uuid for e in events} == {instance.uuid}
    finally:
        stranger.undefine()
        drv.destroy(instance)
        drv.stop()


def test_console_output_reads_the_tail_of_the_serial_log(host, tmp_path):
    """With console_log_dir the domain's serial port logs to a file; the test driver writes
    nothing there (so the capability stays unadvertised), the test writes it instead."""
    drv = make_driver(console_log_dir=str(tmp_path), console_output_max_bytes=10)
    instance = make_instance()
    try:
        assert "console_output" not in drv.capabilities()
        drv.spawn(instance, no_network())
        log = tmp_path / f"instance-{instance.uuid}.log"
        assert xb.console_log_path(host.lookupByUUIDString(instance.uuid).XMLDesc(0)) == str(log)
        assert drv.get_console_output(instance).output == ""  # nothing printed yet
        log.write_bytes(b"boot\n")
        out = drv.get_console_output(instance)
        assert (out.output, out.truncated) == ("boot\n", False)
        log.write_bytes(b"0123456789login: \xff")
        out = drv.get_console_output(instance)
        assert out.truncated and len(out.output.encode()) <= 12 and out.output.startswith("89login")
        with pytest.raises(exc.InstanceNotFound):
            drv.get_console_output(make_instance())
    finally:
        drv.destroy(instance)
        drv.stop()
