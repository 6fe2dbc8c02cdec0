"""openstacksdk, unmodified, drives a server through its whole lifecycle
against a running ``nova-common serve`` (a subprocess)."""

from __future__ import annotations

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
        name="sdk-1", flavor_id=FLAVOR, image_id=IMAGE, metadata={"role": "web"}
    )
    server = _wait(conn, server, "ACTIVE")
    assert server.compute_host.startswith("fake-") and server.metadata == {"role": "web"}
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
        conn.compute.create_server(name="x", flavor_id="no-such-flavor", image_id=IMAGE)
