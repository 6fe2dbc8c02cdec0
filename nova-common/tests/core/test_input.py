"""Bad input is refused naming the field and leaves nothing behind; bad reports are
dropped; capacity claims hold under concurrency."""

import threading
import uuid

import oslo_messaging
import pytest
import sqlalchemy as sa
from core_helpers import wait_for

from nova_common import objects
from nova_common.compute import exceptions as core_exc
from nova_common.messaging.serializer import ObjectSerializer
from nova_common.scaffold.reporting import CONDUCTOR_TOPIC


def test_bad_requests_name_the_field_and_leave_no_rows(make_cloud):
    cloud = make_cloud(hosts=2)
    api = cloud.api
    before = cloud.table_counts()
    cases = [
        (lambda: api.create("x", flavor="no-such-flavor"), core_exc.NotFound, "flavor"),
        (lambda: api.create("x", flavor="m1.tiny", image=str(uuid.uuid4())), core_exc.NotFound, "image"),
        (lambda: api.create("", flavor="m1.tiny"), core_exc.Invalid, "name"),
        (lambda: api.create("bad\x00name", flavor="m1.tiny"), core_exc.Invalid, "name"),
        (lambda: api.create("x" * 256, flavor="m1.tiny"), core_exc.Invalid, "name"),
        (lambda: api.create("x", flavor="m1.tiny", metadata={"k": 1}), core_exc.Invalid, "metadata"),
        (lambda: api.show(str(uuid.uuid4())), core_exc.NotFound, "instance"),
        (lambda: api.stop(str(uuid.uuid4())), core_exc.NotFound, "instance"),
        (lambda: api.create_flavor("neg", vcpus=-1, memory_mb=64), core_exc.Invalid, "vcpus"),
        (lambda: api.create_flavor("zero", vcpus=1, memory_mb=0), core_exc.Invalid, "memory_mb"),
        (lambda: api.create_image("img", min_ram_mb=-5), core_exc.Invalid, "min_ram_mb"),
        (
            lambda: api.create_image("img", properties={"required_capabilities": "teleport"}),
            None,
            None,
        ),
    ]
    for call, error, field in cases:
        if error is None:
            call()
            continue
        with pytest.raises(error) as raised:
            call()
        assert raised.value.kwargs.get("field") == field, raised.value
        assert field in str(raised.value)
    teleport = [i for i in api.images() if i["name"] == "img"][0]
    with pytest.raises(core_exc.Invalid) as raised:
        api.create("x", flavor="m1.tiny", image=teleport["id"])
    assert raised.value.kwargs["field"] == "image.properties.required_capabilities"
    # Impossible resources: no host can ever fit it.
    api.create_flavor("huge", vcpus=10_000, memory_mb=64)
    with pytest.raises(core_exc.NoValidHost, match="CapacityFilter removed 2"):
        api.create("x", flavor="huge")
    greedy = api.create_image("greedy", min_ram_mb=100_000)
    with pytest.raises(core_exc.Invalid) as raised:
        api.create("x", flavor="m1.tiny", image=greedy["id"])
    assert raised.value.kwargs["field"] == "flavor"
    after = cloud.table_counts()
    assert after["instances"] == before["instances"] == 0
    assert after["instance_actions"] == 0 and after["instance_faults"] == 0


def test_bad_reports_are_dropped_and_the_conductor_keeps_serving(make_cloud):
    cloud = make_cloud(hosts=1)
    host = cloud.host_names[0]
    client = oslo_messaging.get_rpc_client(
        cloud.transport,
        oslo_messaging.Target(topic=CONDUCTOR_TOPIC, version="1.0"),
        serializer=ObjectSerializer(),
    )
    dropped = cloud.manager.stats["dropped"]
    resources = objects.HostResources(
        hypervisor_hostname=host,
        hypervisor_type="fake",
        hypervisor_version=1,
        vcpus=1,
        vcpus_used=5,
        memory_mb=1,
        memory_mb_used=0,
        local_gb=1,
        local_gb_used=0,
    )
    bad = [
        ("register", {"host": "", "driver_info": {}}),
        ("register", {"host": "bad host!", "driver_info": None}),
        ("register", {"host": "h1", "driver_info": "not an object"}),
        ("heartbeat", {"host": host, "sequence": "one"}),
        ("heartbeat", {"host": host, "sequence": -1}),
        ("heartbeat", {"host": 42, "sequence": 1}),
        ("report_resources", {"host": host, "resources": {"vcpus": 1}}),
        ("report_resources", {"host": host, "resources": resources}),  # used > total
        ("lifecycle_event", {"host": host, "event": {"instance_uuid": "nope"}}),
        ("heartbeat", {"host": host}),  # missing argument
        ("no_such_method", {"host": host}),
    ]
    for method, kwargs in bad:
        client.cast({}, method, **kwargs)
    wait_for(lambda: cloud.manager.stats["dropped"] >= dropped + 10, timeout=10)
    # Still serving, and the host's real report was not replaced by the bad one.
    vm = cloud.api.create("still-fine", flavor="m1.tiny")
    assert vm["vm_state"] == "active"
    service = cloud.api.services()[0]
    assert service["vcpus"] == 64 and service["state"] == "up"
    assert not [s for s in cloud.api.services() if s["host"] == "h1"]


def test_capacity_claims_hold_under_concurrent_creates(make_cloud):
    # 10 hosts x 4 vCPUs and 1-vCPU flavors: room for exactly 40.
    cloud = make_cloud(hosts=10, fake={"vcpus": 4})
    results, errors = [], []
    lock = threading.Lock()
    start = threading.Barrier(50)

    def create(n):
        start.wait()
        try:
            vm = cloud.api.create(f"c{n}", flavor="m1.tiny", wait=False)
            with lock:
                results.append(vm)
        except core_exc.NoValidHost as error:
            with lock:
                errors.append(error)

    threads = [threading.Thread(target=create, args=(n,)) for n in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(results) == 40 and len(errors) == 10
    assert all(type(e) is core_exc.NoValidHost for e in errors)
    wait_for(lambda: cloud.api.count_by_state() == {"active": 40}, timeout=60)
    per_host = {}
    for vm in cloud.api.list():
        per_host[vm["host"]] = per_host.get(vm["host"], 0) + 1
    assert per_host == {h: 4 for h in cloud.host_names}
    for host in cloud.host_names:
        assert len(cloud.driver(host)._instances) == 4
    assert cloud.table_counts()["instance_faults"] == 0


def test_a_host_the_conductor_does_not_know_is_asked_to_register_again(make_cloud):
    """A heartbeat from an unknown host (its registration lost, or sent before
    this conductor ran) makes the conductor ask it to register, and it does."""
    cloud = make_cloud(hosts=1)
    host = cloud.host_names[0]
    registrations = cloud.manager.stats["registrations"]
    with cloud.db.writer() as session:  # the database never heard of it either
        session.execute(sa.text("DELETE FROM services WHERE host = :host"), {"host": host})
    with cloud.manager._lock:
        cloud.manager._services.pop(host)
    wait_for(lambda: cloud.manager.stats["registrations"] > registrations, timeout=20)
    assert host in cloud.manager._services
    assert cloud.db.get_service(host) is not None


def test_a_host_that_registered_with_another_conductor_is_adopted_from_the_database(make_cloud):
    """With several conductors, a registration reaches one of them: the others
    read it from the database at the host's first heartbeat, without asking
    the host to register again, and it is up for them at once."""
    cloud = make_cloud(hosts=1)
    host = cloud.host_names[0]
    registrations, dropped = cloud.manager.stats["registrations"], cloud.manager.stats["dropped"]
    with cloud.manager._lock:
        cloud.manager._services.pop(host)
        cloud.manager._last_seen.pop(host)
    wait_for(lambda: host in cloud.manager._services and cloud.manager.is_up(host), timeout=5)
    assert cloud.manager.stats["registrations"] == registrations
    assert cloud.manager.stats["dropped"] == dropped


def test_a_refresh_adopts_every_host_it_does_not_know_with_one_read(make_cloud, monkeypatch):
    """A conductor's first refresh finds every host registered by others:
    all adopted, up, from one read of the services, not one read per host."""
    cloud = make_cloud(hosts=3)
    with cloud.manager._lock:
        for host in cloud.host_names:
            cloud.manager._services.pop(host)
            cloud.manager._registrations.pop(host)
            cloud.manager._last_seen.pop(host)
    per_host_reads = []  # by this thread: a heartbeat heard meanwhile may adopt its host on its own
    read_one, me = cloud.db.get_service, threading.get_ident()

    def counted(host):
        if threading.get_ident() == me:
            per_host_reads.append(host)
        return read_one(host)

    monkeypatch.setattr(cloud.db, "get_service", counted)
    cloud.manager.refresh_from_database()
    assert sorted(cloud.manager._services) == sorted(cloud.host_names)
    assert all(cloud.manager.is_up(host) for host in cloud.host_names)
    assert per_host_reads == []


def test_a_registration_that_changes_nothing_leaves_the_scheduler_view_alone(make_cloud, monkeypatch):
    """A retried or requested registration with the same driver info costs no
    reload of every host; one at another driver version does reload."""
    cloud = make_cloud(hosts=2)
    host, manager = cloud.host_names[0], cloud.manager
    driver_info = cloud.computes[host].driver.get_driver_info()
    reloads = []
    invalidate = manager.scheduler.invalidate
    me = threading.get_ident()
    monkeypatch.setattr(
        manager.scheduler,
        "invalidate",
        lambda: (reloads.append(1) if threading.get_ident() == me else None, invalidate())[1],
    )
    manager.register(host, driver_info)
    assert reloads == []
    driver_info.driver_version += ".post1"
    manager.register(host, driver_info)
    assert reloads == [1]
    assert manager._services[host]["driver_version"] == driver_info.driver_version


def test_a_registration_that_changes_nothing_writes_nothing_but_a_stopped_host_is_written(make_cloud):
    """An up host registering again unchanged is a read; after a deregistration
    (SIGTERM) the registration clears stopped_at, so every conductor sees it up."""
    cloud = make_cloud(hosts=1)
    host, manager = cloud.host_names[0], cloud.manager
    driver_info = cloud.computes[host].driver.get_driver_info()
    wait_for(lambda: cloud.db.get_service(host)["last_heartbeat"] is not None, timeout=10)
    manager.flush_heartbeats()
    before = cloud.db.get_service(host)["updated_at"]
    manager.register(host, driver_info)
    assert cloud.db.get_service(host)["updated_at"] == before
    manager.deregister(host, "test")
    assert cloud.db.get_service(host)["stopped_at"] is not None
    manager.register(host, driver_info)
    service = cloud.db.get_service(host)
    assert service["stopped_at"] is None and service["updated_at"] != before
    assert manager.is_up(host)
