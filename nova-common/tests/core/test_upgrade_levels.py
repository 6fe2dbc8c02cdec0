"""The core's side of version negotiation: ``[upgrade_levels] compute = auto``
pins every host to the oldest registered service and rises when the last old
one is upgraded; a service that stops cleanly is down at once."""

import pytest
from core_helpers import wait_for

from nova_common.virt import exceptions as exc
from nova_driver_fake import FakeDriver


class OldFake(FakeDriver):
    """The reference driver as released against virt API 1.0."""

    virt_api_max = "1.0"


def test_auto_pins_to_the_oldest_service_and_rises_after_its_upgrade(make_cloud, caplog):
    # The old host has no room for m1.tiny, so the instance lands on the new
    # one: the fake driver keeps instances only in memory, and the old
    # service is replaced below.
    cloud = make_cloud(
        hosts=2,
        driver_classes={1: OldFake},
        per_host={1: {"memory_mb": 256}},
        **{"upgrade_levels.compute": "auto"},
    )
    new, old = cloud.host_names
    virt = cloud.manager.virt
    assert virt.host(new).version == "1.0" and virt.host(old).version == "1.0"
    vm = cloud.api.create("on-new", flavor="m1.tiny")
    assert vm["host"] == new
    host = virt.host(vm["host"])
    with pytest.raises(exc.NotSupported, match="pinned to virt API 1.0"):
        host.get_diagnostics(instance=cloud.manager._virt_instance(cloud.db.get_instance(vm["uuid"])))
    # Upgrade the old service: the pin rises for every host once it re-registers.
    cloud.computes[old].stop()
    cloud.start_compute(1, driver_cls=FakeDriver)
    wait_for(lambda: virt.host(new).version == "1.1" and virt.host(old).version == "1.1", timeout=20)
    assert "every compute host pinned to virt API 1.1" in caplog.text or virt.auto_cap == "1.1"
    instance = cloud.manager._virt_instance(cloud.db.get_instance(vm["uuid"]))
    assert virt.host(vm["host"]).get_diagnostics(instance=instance).uuid == vm["uuid"]
    assert cloud.api.show(vm["uuid"])["vm_state"] == "active"


def test_without_auto_each_host_gets_its_own_version(make_cloud):
    cloud = make_cloud(hosts=2, driver_classes={1: OldFake})
    new, old = cloud.host_names
    assert cloud.manager.virt.host(new).version == "1.1"
    assert cloud.manager.virt.host(old).version == "1.0"


def test_a_service_stopped_cleanly_is_down_at_once(make_cloud):
    cloud = make_cloud(hosts=2, **{"conductor.service_down_time": 60})
    leaving, staying = cloud.host_names
    assert cloud.manager.is_up(leaving)
    cloud.computes.pop(leaving).stop()
    wait_for(lambda: not cloud.manager.is_up(leaving), timeout=5)
    assert cloud.manager.is_up(staying)
    vms = [cloud.api.create(f"after-{n}", flavor="m1.tiny") for n in range(3)]
    assert {vm["host"] for vm in vms} == {staying}
