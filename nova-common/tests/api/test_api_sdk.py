"""openstacksdk, unmodified, negotiates the API's maximum microversion and
drives a server through its whole lifecycle at it against a running
``nova-common serve`` (a subprocess)."""

from __future__ import annotations

import time

import pytest
from api_helpers import FLAVOR, IMAGE, ServeProcess

openstack = pytest.importorskip("openstack", reason="openstacksdk is not installed")


@pytest.fixture(scope="module")
def serve(tmp_path_factory):
    process = ServeProcess(str(tmp_path_factory.mktemp("serve-sdk")))
    yield process
    assert process.stop() == 0, open(process.log_path).read()


@pytest.fixture(scope="module")
def conn(serve):
    return openstack.connect(auth_type="none", compute_endpoint_override=serve.endpoint)


def test_negotiates_the_maximum(conn):
    assert conn.compute.get_endpoint_data().max_microversion == (2, 47)
    # openstacksdk uses the highest version both it and the server know.
    (flavor,) = [f for f in conn.compute.flavors() if f.id == FLAVOR]
    assert flavor.microversion == "2.47"


def _wait(conn, server, status):
    return conn.compute.wait_for_server(server, status=status, wait=30, interval=0.1)


def test_serve_prints_endpoint_and_clouds_yaml(serve):
    assert "clouds.yaml:" in serve.output
    assert f"compute_endpoint_override: {serve.endpoint}" in serve.output
    assert "fake-00 (fake), fake-01 (fake), fake-02 (fake)" in serve.output


def test_catalog(conn):
    assert {"m1.tiny", "m1.small"} <= {f.name for f in conn.compute.flavors()}
    tiny = conn.compute.get_flavor(FLAVOR)
    assert tiny.name == "m1.tiny" and tiny.ram > 0
    assert "cirros" in {i.name for i in conn.compute.images()}
    assert conn.compute.get_image(IMAGE).name == "cirros"


def test_hypervisors_and_services(conn):
    hypervisors = list(conn.compute.hypervisors(details=True))
    assert sorted(h.name for h in hypervisors) == ["fake-00", "fake-01", "fake-02"]
    assert all(h.state == "up" and h.hypervisor_type == "fake" for h in hypervisors)
    services = list(conn.compute.services())
    assert sorted(s.host for s in services) == ["fake-00", "fake-01", "fake-02"]
    assert all(s.binary == "nova-compute" and s.state == "up" for s in services)


def test_server_lifecycle(conn):
    server = conn.compute.create_server(
        name="sdk-1", flavor_id=FLAVOR, image_id=IMAGE, metadata={"role": "web"}, networks="auto"
    )
    server = _wait(conn, server, "ACTIVE")
    assert server.microversion == "2.47"
    assert server.compute_host.startswith("fake-") and server.metadata == {"role": "web"}
    # 2.47: the flavor embedded in the server.
    assert server.flavor.original_name == "m1.tiny" and server.flavor.vcpus >= 1
    server = conn.compute.update_server(server, name="sdk-1", description="web tier")
    assert conn.compute.get_server(server.id).description == "web tier"
    conn.compute.set_server_metadata(server, tier="front")
    assert conn.compute.get_server_metadata(server).metadata == {"role": "web", "tier": "front"}
    conn.compute.delete_server_metadata(server, ["tier"])
    assert conn.compute.get_server_metadata(server).metadata == {"role": "web"}
    (ip,) = conn.compute.server_ips(server)
    assert ip.network_label == "private" and ip.version == 4 and ip.address.startswith("10.")
    actions = list(conn.compute.server_actions(server))
    assert [a.action for a in actions] == ["create"]
    assert conn.compute.get_server_action(actions[0].request_id, server).request_id == actions[0].request_id
    assert "sdk-1" in [s.name for s in conn.compute.servers()]
    assert conn.compute.find_server("sdk-1").id == server.id

    conn.compute.stop_server(server)
    assert _wait(conn, server, "SHUTOFF").power_state == 4
    conn.compute.start_server(server)
    _wait(conn, server, "ACTIVE")
    conn.compute.reboot_server(server, "SOFT")
    _wait(conn, server, "ACTIVE")
    conn.compute.reboot_server(server, "HARD")
    _wait(conn, server, "ACTIVE")
    conn.compute.pause_server(server)
    _wait(conn, server, "PAUSED")
    with pytest.raises(openstack.exceptions.ConflictException):
        conn.compute.pause_server(server)
    conn.compute.unpause_server(server)
    _wait(conn, server, "ACTIVE")
    conn.compute.suspend_server(server)
    _wait(conn, server, "SUSPENDED")
    conn.compute.resume_server(server)
    server = _wait(conn, server, "ACTIVE")

    attachment = conn.compute.create_volume_attachment(
        server, volume_id="5f1b7f5a-9e41-4c6e-8a0e-4d2b8f6f2a10"
    )
    assert attachment.device == "/dev/vdb"
    _wait(conn, server, "ACTIVE")
    assert [a.volume_id for a in conn.compute.volume_attachments(server)] == [
        "5f1b7f5a-9e41-4c6e-8a0e-4d2b8f6f2a10"
    ]

    conn.compute.delete_server(server)
    conn.compute.wait_for_delete(server, wait=30, interval=0.1)
    assert "sdk-1" not in [s.name for s in conn.compute.servers()]
    with pytest.raises(openstack.exceptions.ResourceNotFound):
        conn.compute.get_server(server.id)


def test_bad_request_surfaces(conn):
    with pytest.raises(openstack.exceptions.BadRequestException, match="flavor"):
        conn.compute.create_server(name="x", flavor_id="no-such-flavor", image_id=IMAGE, networks="none")
    with pytest.raises(openstack.exceptions.BadRequestException, match="networks"):
        conn.compute.create_server(name="x", flavor_id=FLAVOR, image_id=IMAGE)  # required from 2.37


def test_limits_keypairs_zones_uptime(conn):
    limits = conn.compute.get_limits()
    assert limits.absolute.server_meta == 128 and limits.absolute.instances == -1
    keypair = conn.compute.create_keypair(name="sdk-key")
    assert keypair.private_key and keypair.fingerprint
    assert "sdk-key" in [k.name for k in conn.compute.keypairs()]
    conn.compute.delete_keypair("sdk-key")
    assert [z.name for z in conn.compute.availability_zones()] == ["nova"]
    hypervisor = next(iter(conn.compute.hypervisors()))
    assert " up " in conn.compute.get_hypervisor_uptime(hypervisor).uptime


novaclient = pytest.importorskip("novaclient", reason="python-novaclient is not installed")


def test_novaclient_lifecycle_at_the_maximum(serve):
    from keystoneauth1 import noauth
    from keystoneauth1 import session as ks_session
    from novaclient import api_versions
    from novaclient import client as nova_client

    session = ks_session.Session(auth=noauth.NoAuth(endpoint=serve.endpoint))
    nova = nova_client.Client("2.1", session=session, endpoint_override=serve.endpoint)
    version = api_versions.discover_version(nova, api_versions.APIVersion("2.latest"))
    assert version == api_versions.APIVersion("2.47")
    nova = nova_client.Client(version, session=session, endpoint_override=serve.endpoint)
    server = nova.servers.create(
        "nova-1", image=IMAGE, flavor=FLAVOR, nics="auto", description="by novaclient"
    )
    deadline = time.monotonic() + 30
    while nova.servers.get(server.id).status != "ACTIVE":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    server = nova.servers.get(server.id)
    assert server.description == "by novaclient" and server.flavor["original_name"] == "m1.tiny"
    nova.servers.set_meta(server, {"k": "v"})
    assert nova.servers.get(server.id).metadata == {"k": "v"}
    nova.servers.stop(server)
    while nova.servers.get(server.id).status != "SHUTOFF":
        assert time.monotonic() < deadline + 30
        time.sleep(0.1)
    assert [a.action for a in nova.instance_action.list(server)][:2] == ["stop", "create"]
    assert nova.servers.ips(server)["private"][0]["version"] == 4
    assert nova.limits.get().to_dict()["absolute"]["maxServerMeta"] == 128
    assert nova.hypervisors.statistics().count >= 3
    nova.servers.delete(server)
    with pytest.raises(novaclient.exceptions.NotFound):
        while True:
            nova.servers.get(server.id)
            time.sleep(0.1)
