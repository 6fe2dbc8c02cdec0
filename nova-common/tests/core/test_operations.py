"""Every operation through the Python API, on a cloud of a conductor and 10 fake compute services."""

import uuid

import pytest
from core_helpers import wait_for

from nova_common.compute import exceptions as core_exc
from nova_common.virt import exceptions as virt_exc


def test_every_operation_through_the_python_api(cloud):
    api = cloud.api
    assert len(api.services()) == 10 and all(s["state"] == "up" for s in api.services())
    vm = api.create("web-1", flavor="m1.small")
    assert (vm["vm_state"], vm["task_state"], vm["power_state"]) == ("active", None, "running")
    assert vm["host"] in cloud.host_names
    driver = cloud.driver(vm["host"])
    assert driver._instances[vm["uuid"]].power_state == "running"

    assert api.reboot(vm["uuid"])["vm_state"] == "active"
    assert api.reboot(vm["uuid"], "hard")["vm_state"] == "active"
    stopped = api.stop(vm["uuid"])
    assert (stopped["vm_state"], stopped["power_state"]) == ("stopped", "shutdown")
    assert driver._instances[vm["uuid"]].power_state == "shutdown"
    # Not allowed from stopped: a clear Conflict naming the states.
    with pytest.raises(core_exc.InstanceInvalidState, match="vm_state is stopped"):
        api.reboot(vm["uuid"])
    assert api.start(vm["uuid"])["vm_state"] == "active"
    assert api.pause(vm["uuid"])["vm_state"] == "paused"
    assert driver._instances[vm["uuid"]].power_state == "paused"
    assert api.unpause(vm["uuid"])["vm_state"] == "active"
    assert api.suspend(vm["uuid"])["vm_state"] == "suspended"
    assert api.resume(vm["uuid"])["power_state"] == "running"

    image = api.snapshot(vm["uuid"], "web-1 snap")
    assert image["status"] == "active" and image["source_instance_uuid"] == vm["uuid"]
    assert image["location"].startswith("fake://")
    assert image["id"] in driver._instances[vm["uuid"]].snapshots

    volume = str(uuid.uuid4())
    attached = api.attach_volume(vm["uuid"], volume, "/dev/vdb")
    assert attached["volumes"] == {"/dev/vdb": volume}
    assert driver._instances[vm["uuid"]].volumes == {"/dev/vdb": volume}
    with pytest.raises(core_exc.Invalid) as raised:
        api.attach_volume(vm["uuid"], str(uuid.uuid4()), "/dev/vdb")
    assert raised.value.kwargs["field"] == "mountpoint"
    assert api.detach_volume(vm["uuid"], volume)["volumes"] == {}

    # A new instance boots from the snapshot.
    clone = api.create("web-1-clone", flavor="m1.small", image=image["id"])
    assert clone["vm_state"] == "active"

    actions = [a["action"] for a in api.actions(vm["uuid"])]
    assert actions == [
        "create",
        "reboot",
        "reboot_hard",
        "stop",
        "start",
        "pause",
        "unpause",
        "suspend",
        "resume",
        "snapshot",
        "attach_volume",
        "detach_volume",
    ]
    assert all(a["result"] == "success" for a in api.actions(vm["uuid"]))

    for instance in (vm, clone):
        api.delete(instance["uuid"])
        with pytest.raises(core_exc.NotFound):
            api.show(instance["uuid"])
    assert vm["uuid"] not in driver._instances
    assert api.list() == []
    assert cloud.instance_row(vm["uuid"])["vm_state"] == "deleted"  # soft-deleted


def test_reboot_while_building_is_a_conflict(make_cloud):
    cloud = make_cloud(hosts=2, fake={"spawn_latency": 0.5})
    vm = cloud.api.create("slow", flavor="m1.tiny", wait=False)
    with pytest.raises(core_exc.InstanceInvalidState, match="while vm_state is building"):
        cloud.api.reboot(vm["uuid"])
    with pytest.raises(core_exc.Conflict):
        cloud.api.stop(vm["uuid"])
    cloud.api.wait_for_action(vm["uuid"], vm["request_id"])
    assert cloud.api.show(vm["uuid"])["vm_state"] == "active"


def test_delete_while_building_wins(make_cloud):
    cloud = make_cloud(hosts=2, fake={"spawn_latency": 0.5})
    vm = cloud.api.create("doomed", flavor="m1.tiny", wait=False)
    cloud.api.delete(vm["uuid"])
    with pytest.raises(core_exc.NotFound):
        cloud.api.show(vm["uuid"])
    assert all(vm["uuid"] not in cloud.driver(h)._instances for h in cloud.host_names)
    create = [a for a in cloud.db.list_actions(vm["uuid"]) if a["action"] == "create"][0]
    assert create["result"] == "error" and "deleted while building" in create["message"]


def test_operation_the_host_lacks_fails_fast_with_not_supported(make_cloud):
    cloud = make_cloud(hosts=1, fake={"disabled_capabilities": ["pause", "snapshot"]})
    vm = cloud.api.create("no-pause", flavor="m1.tiny")
    with pytest.raises(core_exc.OperationNotSupported, match="needs capability pause") as raised:
        cloud.api.pause(vm["uuid"])
    assert isinstance(raised.value, core_exc.Conflict)
    assert isinstance(raised.value, virt_exc.NotSupported)
    assert cloud.api.show(vm["uuid"])["task_state"] is None
    # An image that needs snapshot finds no host here.
    image = cloud.api.create_image("needs-snap", properties={"required_capabilities": "snapshot"})
    with pytest.raises(core_exc.NoValidHost, match="CapabilitiesFilter removed 1"):
        cloud.api.create("x", flavor="m1.tiny", image=image["id"])


def test_required_capability_and_hypervisor_type_steer_scheduling(make_cloud):
    cloud = make_cloud(hosts=4, per_host={i: {"disabled_capabilities": ["snapshot"]} for i in range(3)})
    image = cloud.api.create_image("needs-snap", properties={"required_capabilities": "snapshot"})
    for n in range(3):
        vm = cloud.api.create(f"s{n}", flavor="m1.tiny", image=image["id"])
        assert vm["host"] == cloud.host_names[3]
    wrong = cloud.api.create_image("vmware-only", properties={"hypervisor_type": "VMware vCenter Server"})
    with pytest.raises(core_exc.NoValidHost, match="HypervisorTypeFilter removed 4"):
        cloud.api.create("x", flavor="m1.tiny", image=wrong["id"])
    fake = cloud.api.create_image("fake-only", properties={"hypervisor_type": "fake"})
    assert cloud.api.create("y", flavor="m1.tiny", image=fake["id"])["vm_state"] == "active"


def test_disabled_service_gets_no_instances(make_cloud):
    cloud = make_cloud(hosts=2)
    cloud.api.disable_service(cloud.host_names[0], "maintenance")
    for n in range(4):
        assert cloud.api.create(f"d{n}", flavor="m1.tiny")["host"] == cloud.host_names[1]
    service = [s for s in cloud.api.services() if s["host"] == cloud.host_names[0]][0]
    assert (service["status"], service["disabled_reason"]) == ("disabled", "maintenance")
    wait_for(lambda: True)


def test_a_create_repeated_with_its_request_id_returns_the_first_instance(make_cloud):
    import threading
    import uuid as uuidlib

    cloud = make_cloud(hosts=2)
    request_id = f"req-{uuidlib.uuid4()}"
    first = cloud.api.create("once", flavor="m1.tiny", request_id=request_id)
    again = cloud.api.create("once", flavor="m1.tiny", request_id=request_id)
    assert again["uuid"] == first["uuid"]
    # Racing repeats (a client retrying while the first is in flight) make one instance too.
    racing = f"req-{uuidlib.uuid4()}"
    made = []
    threads = [
        threading.Thread(
            target=lambda: made.append(cloud.api.create("race", flavor="m1.tiny", request_id=racing)["uuid"])
        )
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(made) == 4 and len(set(made)) == 1, made
    names = sorted(vm["name"] for vm in cloud.api.list())
    assert names == ["once", "race"]
    # Without a request id every create is its own.
    assert cloud.api.create("x", flavor="m1.tiny")["uuid"] != cloud.api.create("x", flavor="m1.tiny")["uuid"]


def test_a_repeated_create_that_no_host_could_take_now_returns_the_first_instance(make_cloud):
    """The first create took the room (here: its only host was disabled since):
    the repeat answers with that instance, not "No valid host"."""
    import uuid as uuidlib

    cloud = make_cloud(hosts=1)
    request_id = f"req-{uuidlib.uuid4()}"
    first = cloud.api.create("once", flavor="m1.tiny", request_id=request_id)
    cloud.api.disable_service(cloud.host_names[0], "full")
    with pytest.raises(core_exc.NoValidHost):
        cloud.api.create("other", flavor="m1.tiny")
    assert cloud.api.create("once", flavor="m1.tiny", request_id=request_id)["uuid"] == first["uuid"]
    assert [vm["name"] for vm in cloud.api.list()] == ["once"]


def test_a_conductor_that_does_not_answer_is_a_timeout_naming_the_seconds():
    from oslo_config import cfg

    from nova_common.conductor.rpcapi import ConductorAPIClient
    from nova_common.messaging.transport import get_transport

    transport = get_transport(cfg.ConfigOpts(), "kombu+memory:////")
    try:
        client = ConductorAPIClient(transport, timeout=1, topic="nobody-" + uuid.uuid4().hex[:8])
        with pytest.raises(core_exc.Timeout, match="Waited 1s for the conductor to answer list_services"):
            client.call("list_services")
    finally:
        transport.cleanup()
