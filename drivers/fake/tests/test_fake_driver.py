"""The reference driver's own behaviour (the kit checks the contract; these
check what the fake adds: capacity, latency, failure injection, events)."""

import uuid

import pytest
from oslo_config import cfg

from nova_common import objects
from nova_common.scaffold import conf as scaffold_conf
from nova_common.virt import api
from nova_common.virt import exceptions as exc
from nova_driver_fake import FakeDriver


def make_driver(**fake):
    conf = cfg.ConfigOpts()
    scaffold_conf.register_opts(conf)
    FakeDriver.register_opts(conf)
    conf(args=[], default_config_files=[])
    for name, value in fake.items():
        conf.set_override(name, value, group="fake")
    driver = FakeDriver(conf)
    driver.start()
    return driver


def instance(vcpus=1, memory_mb=512):
    return objects.Instance(
        uuid=str(uuid.uuid4()),
        display_name="vm",
        flavor=objects.Flavor(flavorid="f", name="f", vcpus=vcpus, memory_mb=memory_mb, root_gb=1),
        image=objects.ImageMeta(id=str(uuid.uuid4()), name="img"),
    )


NO_VIFS = objects.NetworkInfo(objects=[])


def test_advertises_every_capability_by_default():
    assert make_driver().capabilities() == api.Capability.ALL


def test_disabled_capabilities_are_not_advertised():
    driver = make_driver(disabled_capabilities=["pause", "snapshot"])
    assert driver.capabilities() == api.Capability.ALL - {"pause", "snapshot"}


def test_capacity_is_enforced_and_refusal_leaves_nothing():
    driver = make_driver(vcpus=2, memory_mb=4096)
    driver.spawn(instance(vcpus=2), NO_VIFS)
    with pytest.raises(exc.InsufficientResources, match="Not enough vcpus: requested 1, available 0"):
        driver.spawn(instance(vcpus=1), NO_VIFS)
    assert len(driver.list_instances().objects) == 1
    resources = driver.get_host_resources()
    assert (resources.vcpus, resources.vcpus_used, resources.memory_mb_used) == (2, 2, 512)


def test_fail_spawn_option():
    driver = make_driver(fail_spawn=True)
    with pytest.raises(exc.OperationFailed, match="fail_spawn"):
        driver.spawn(instance(), NO_VIFS)
    assert driver.list_instances().objects == []


def test_out_of_band_change_emits_lifecycle_event():
    driver = make_driver()
    events = []
    driver.set_event_handler(events.append)
    inst = instance()
    driver.spawn(inst, NO_VIFS)
    driver.set_power_state_out_of_band(inst.uuid, "shutdown")
    assert driver.get_info(inst).power_state == "shutdown"
    assert [(e.instance_uuid, e.transition) for e in events] == [(inst.uuid, "stopped")]


def test_console_output_records_boots():
    driver = make_driver()
    inst = instance()
    driver.spawn(inst, NO_VIFS)
    driver.reboot(inst, "hard")
    assert driver.get_console_output(inst).output.count("booted") == 2


def test_options_are_listed_for_the_sample_config():
    from nova_driver_fake.driver import list_opts

    ((group, opts),) = list_opts()
    assert group == "fake" and all(opt.help for opt in opts)


# -- [fake] state_file: instances outlive a restart of the compute process --


def test_state_file_keeps_instances_across_a_restart(tmp_path):
    path = tmp_path / "host-1.json"
    first = make_driver(state_file=str(path))
    running, stopped, gone = instance(), instance(), instance()
    for vm in (running, stopped, gone):
        first.spawn(vm, NO_VIFS)
    first.power_off(stopped)
    first.attach_volume(running, objects.VolumeAttachment(volume_id=str(uuid.uuid4()), mountpoint="/dev/vdb"))
    first.destroy(gone)
    assert path.stat().st_mode & 0o777 == 0o600

    again = make_driver(state_file=str(path))
    states = {info.uuid: info.power_state for info in again.list_instances().objects}
    assert states == {running.uuid: "running", stopped.uuid: "shutdown"}
    assert "booted" in again.get_console_output(running).output
    assert again.get_host_resources().vcpus_used == 2
    # The restarted driver goes on recording changes.
    again.power_on(stopped)
    assert make_driver(state_file=str(path)).get_info(stopped).power_state == "running"


@pytest.mark.parametrize(
    "content, reason",
    [
        ("{not json", "cannot be read"),
        ('{"format": 2, "instances": {}}', "format 2, this release reads format 1"),
        ('{"format": 1, "instances": {"x": {"power_state": "running"}}}', "unreadable entry"),
    ],
)
def test_a_state_file_it_cannot_read_stops_the_driver_and_is_kept(tmp_path, content, reason):
    path = tmp_path / "host.json"
    path.write_text(content)
    with pytest.raises(Exception, match=reason) as raised:
        make_driver(state_file=str(path))
    assert str(path) in str(raised.value)
    assert path.read_text() == content


def test_without_state_file_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    driver = make_driver()
    driver.spawn(instance(), NO_VIFS)
    assert list(tmp_path.iterdir()) == []
