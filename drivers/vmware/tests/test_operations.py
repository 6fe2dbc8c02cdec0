"""The VMware driver against vcsim: ownership, bulk reads, session handling, errors."""

import logging
import time
import uuid

import pytest
from conftest import make_conf
from vcsim_support import Vcsim, unavailable

from nova_common import objects
from nova_common.objects.fields import PowerState
from nova_common.virt import exceptions as exc
from nova_contract_tests.pytest_support import require


def make_instance(name="kit <vm> & 'one'", vcpus=1, memory_mb=256):
    return objects.Instance(
        uuid=str(uuid.uuid4()),
        display_name=name,
        host="vmware-test",
        flavor=objects.Flavor(
            flavorid="1",
            name="m1.tiny",
            vcpus=vcpus,
            memory_mb=memory_mb,
            root_gb=1,
            ephemeral_gb=0,
            swap_mb=0,
        ),
        image=objects.ImageMeta(id=str(uuid.uuid4()), name="cirros"),
    )


NO_NET = objects.NetworkInfo(objects=[])


def test_foreign_vms_are_never_listed_or_touched(driver):
    # vcsim makes its own VMs (DC0_C0_RP0_VM0, ...): not ours
    foreign = [vm for vm in driver._folder.childEntity if hasattr(vm, "config")]
    assert foreign, "vcsim should have made VMs of its own"
    assert driver.list_instances().objects == []
    victim = objects.Instance(
        uuid=foreign[0].config.instanceUuid,
        display_name="x",
        host="h",
        flavor=make_instance().flavor,
        image=objects.ImageMeta(id=str(uuid.uuid4()), name="i"),
    )
    with pytest.raises(exc.InstanceNotFound):
        driver.get_info(victim)
    driver.destroy(victim)  # "nothing of ours there": succeeds and touches nothing
    assert foreign[0].runtime.powerState == "poweredOn"


def test_list_instances_is_one_round_trip_at_any_size(driver):
    spawned = [make_instance(name=f"bulk-{n}") for n in range(6)]
    try:
        counts = []
        for n, inst in enumerate(spawned):
            driver.spawn(inst, NO_NET)
            if n in (0, 5):
                before = driver.session.round_trips
                listed = driver.list_instances().objects
                counts.append(driver.session.round_trips - before)
                assert len(listed) == n + 1
        assert counts == [1, 1]
        before = driver.session.round_trips
        resources = driver.get_host_resources()
        assert driver.session.round_trips - before == 1  # cluster, datastores and VMs together
        assert resources.vcpus_used == 6 and resources.memory_mb_used == 6 * 256
        assert resources.local_gb > 0 and resources.vcpus > 0
        before = driver.session.round_trips
        assert driver.get_info(spawned[3]).power_state == PowerState.RUNNING
        assert driver.session.round_trips - before == 1
    finally:
        for inst in spawned:
            driver.destroy(inst)


def test_metadata_lands_in_extra_config_and_annotation(driver):
    inst = make_instance(name='web <1> & "quoted"')
    driver.spawn(inst, NO_NET)
    try:
        vm = driver._refs[inst.uuid]
        extra = {o.key: o.value for o in vm.config.extraConfig}
        assert extra["nova.display_name"] == inst.display_name
        assert extra["nova.instance_uuid"] == inst.uuid
        assert vm.config.instanceUuid == inst.uuid
        assert vm.config.hardware.numCPU == 1 and vm.config.hardware.memoryMB == 256
        assert inst.display_name in vm.config.annotation
    finally:
        driver.destroy(inst)


@pytest.mark.parametrize("name", ["bad\x00name", "line\nbreak", "x" * 300])
def test_hostile_names_are_refused_naming_the_field(driver, name):
    with pytest.raises(exc.InvalidRequest, match="display_name"):
        driver.spawn(make_instance(name=name), NO_NET)


def test_transitions_follow_the_spec(driver):
    inst = make_instance()
    driver.spawn(inst, NO_NET)
    try:
        driver.power_off(inst)
        with pytest.raises(exc.InvalidInstanceState):
            driver.reboot(inst, "hard")  # reboot needs a running instance
        driver.power_on(inst)
        driver.suspend(inst)
        with pytest.raises(exc.InvalidInstanceState):
            driver.power_on(inst)  # resume, not power_on, leaves suspended
        driver.resume(inst)
        driver.reboot(inst, "soft")  # vcsim has no RebootGuest: falls back to a reset
        assert driver.get_info(inst).power_state == PowerState.RUNNING
    finally:
        driver.destroy(inst)


def test_unreachable_vcenter_is_hypervisor_unavailable():
    conf = make_conf(
        "[vmware]\nhost_ip = 127.0.0.1\nhost_port = 1\nhost_username = u\n"
        "host_password = p\ninsecure = true\n"
    )
    from nova_driver_vmware.driver import VMwareDriver

    driver = VMwareDriver(conf)
    with pytest.raises(exc.HypervisorUnavailable, match="cannot be reached"):
        driver.start()


def test_vcsim_killed_mid_run_then_back(caplog):
    """Through a running compute service: vCenter goes away mid-run, the service survives and
    answers HypervisorUnavailable, vCenter comes back, the next call logs in again and succeeds."""
    require(unavailable())
    from nova_common.messaging.transport import get_transport
    from nova_common.scaffold import conf as scaffold_conf
    from nova_common.scaffold.service import ComputeService
    from nova_common.virt.rpcapi import VirtAPIClient
    from nova_driver_vmware.driver import VMwareDriver

    secret = "s3cr3t-" + uuid.uuid4().hex
    caplog.set_level(logging.DEBUG)
    sim = Vcsim(vms=0).start()
    conf = make_conf(sim.config(password=secret))
    scaffold_conf.register_opts(conf)
    host_name = f"vmware-{uuid.uuid4().hex[:8]}"
    conf.set_override("host", host_name)
    conf.set_override("hypervisor_retry_interval", 0.1, group="compute")
    transport = get_transport(conf, "kombu+memory:////")
    driver = VMwareDriver(conf)
    service = ComputeService(conf, driver, transport=transport)
    service.start()
    client = VirtAPIClient(conf, transport=transport)
    try:
        remote = client.host(host_name)
        instance = make_instance()
        assert remote.spawn(instance=instance, network_info=NO_NET).power_state == PowerState.RUNNING
        logins = driver.session.logins

        sim.kill()
        for _ in range(2):
            with pytest.raises(exc.HypervisorUnavailable):
                remote.list_instances()
        with pytest.raises(exc.HypervisorUnavailable):
            remote.get_info(instance=instance)
        assert service.started and service._ticker.is_alive()
        assert remote.get_driver_info().driver_name == "vmware"

        sim.start()  # the same port; vcsim starts from a fresh inventory
        assert remote.list_instances().objects == []  # the old VM died with vcsim
        assert driver.session.logins == logins + 1
        fresh = make_instance(name="after the restart")
        remote.spawn(instance=fresh, network_info=NO_NET)
        assert [i.uuid for i in remote.list_instances().objects] == [fresh.uuid]
        remote.destroy(instance=fresh)
    finally:
        service.stop()
        transport.cleanup()
        sim.stop()
    text = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    assert "cannot be reached" in text or "connection failed" in text
    assert secret not in text, "the vCenter password reached a log line"


def test_password_is_in_no_log_line_at_any_level(vcsim, caplog):
    from oslo_config import cfg

    from nova_driver_vmware.driver import VMwareDriver

    secret = "pw-" + uuid.uuid4().hex
    caplog.set_level(logging.DEBUG)
    conf = make_conf(vcsim.config(password=secret))
    driver = VMwareDriver(conf)
    driver.start()
    driver.list_instances()
    conf.log_opt_values(logging.getLogger("test-opts"), logging.DEBUG)
    driver.stop()
    bad = make_conf(vcsim.config(password=secret).replace(f"host_port = {vcsim.port}", "host_port = 1"))
    with pytest.raises(exc.HypervisorUnavailable) as raised:
        VMwareDriver(bad).start()
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "host_password" in text  # the option was logged, masked
    assert "host_password=***" in text  # the driver's own DEBUG line of its options
    assert secret not in text and secret not in str(raised.value)
    assert isinstance(conf, cfg.ConfigOpts)


def test_expired_session_logs_in_again(driver):
    """vCenter ends the session behind the driver's back: the next call gets NotAuthenticated,
    logs in again and succeeds."""
    si = driver.session.service_instance()
    logins = driver.session.logins
    si.content.sessionManager.Logout()
    assert driver.list_instances().objects == []
    assert driver.session.logins == logins + 1
    assert driver.get_host_resources().vcpus > 0


def test_stop_logs_out(vcsim):
    from pyVmomi import vim

    from nova_driver_vmware.driver import VMwareDriver

    driver = VMwareDriver(make_conf(vcsim.config()))
    driver.start()
    si = driver.session.service_instance()
    assert si.content.sessionManager.currentSession is not None
    driver.stop()
    with pytest.raises(vim.fault.NotAuthenticated):
        si.CurrentTime()  # the old session is gone


def test_keepalive_touches_the_session(vcsim):
    from nova_driver_vmware.driver import VMwareDriver

    conf = make_conf(vcsim.config())
    conf.set_override("keepalive_interval", 0.05, group="vmware")
    driver = VMwareDriver(conf)
    driver.start()
    try:
        before = driver.session.round_trips
        deadline = time.monotonic() + 5
        while driver.session.round_trips < before + 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert driver.session.round_trips >= before + 3, "no keep-alive calls"
    finally:
        driver.stop()
    assert driver.session._keepalive is None
