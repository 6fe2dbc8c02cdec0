"""Instances a hypervisor runs that the core does not place there are found by
the power-state sync and handled as ``[conductor] unknown_instance_action``
says, at the second sync that still finds them: no VM unknown to the core
survives two sync periods, and its capacity is released."""

import uuid

import pytest

from nova_common import objects


def _spawn_behind_the_core(cloud, host):
    """A spawn sent straight over RPC (the core has no record of it)."""
    instance = objects.Instance(
        uuid=str(uuid.uuid4()),
        display_name="stray",
        flavor=objects.Flavor(flavorid="x", name="x", vcpus=2, memory_mb=2048, root_gb=1),
        image=objects.ImageMeta(id=str(uuid.uuid4()), name="img"),
    )
    cloud.manager.virt.host(host).spawn(instance=instance, network_info=objects.NetworkInfo(objects=[]))
    return instance.uuid


def test_an_instance_unknown_to_the_core_is_reaped_at_the_second_sync(make_cloud, caplog):
    cloud = make_cloud(hosts=2)
    host = cloud.host_names[0]
    kept = cloud.api.create("kept", flavor="m1.tiny")
    stray = _spawn_behind_the_core(cloud, host)
    assert cloud.manager.sync_power_states()["unknown"] == 0  # first sighting: could be in flight
    assert stray in cloud.driver(host)._instances
    assert cloud.manager.sync_power_states()["unknown"] == 1
    assert stray not in cloud.driver(host)._instances
    assert kept["uuid"] in cloud.driver(kept["host"])._instances  # what the core knows is untouched
    assert f"Instance {stray} runs on {host} but unknown to the core: destroying it" in caplog.text
    assert cloud.driver(host).get_host_resources().vcpus_used == (1 if kept["host"] == host else 0)
    assert cloud.manager.sync_power_states()["unknown"] == 0


def test_an_instance_deleted_in_the_core_while_its_host_was_down_is_reaped_when_it_is_back(
    make_cloud, caplog
):
    cloud = make_cloud(hosts=1)
    vm = cloud.api.create("local-delete", flavor="m1.tiny")
    # What a DELETE does while the host is marked down ("local delete"): the row only.
    cloud.db.soft_delete_instance(vm["uuid"])
    assert vm["uuid"] in cloud.driver(vm["host"])._instances
    cloud.manager.sync_power_states()
    cloud.manager.sync_power_states()
    assert vm["uuid"] not in cloud.driver(vm["host"])._instances
    assert "but deleted in the core: destroying it" in caplog.text


@pytest.mark.parametrize("action", ["power_off", "log"])
def test_the_operator_chooses_what_happens_to_an_unknown_instance(make_cloud, action, caplog):
    cloud = make_cloud(hosts=1, **{"conductor.unknown_instance_action": action})
    host = cloud.host_names[0]
    stray = _spawn_behind_the_core(cloud, host)
    for _ in range(3):
        cloud.manager.sync_power_states()
    record = cloud.driver(host)._instances[stray]  # never destroyed
    assert record.power_state == ("shutdown" if action == "power_off" else "running")
    assert "unknown to the core" in caplog.text


def test_the_grace_period_holds_the_action_back(make_cloud):
    cloud = make_cloud(hosts=1, **{"conductor.unknown_instance_grace": 3600})
    host = cloud.host_names[0]
    stray = _spawn_behind_the_core(cloud, host)
    for _ in range(3):
        assert cloud.manager.sync_power_states()["unknown"] == 0
    assert stray in cloud.driver(host)._instances
