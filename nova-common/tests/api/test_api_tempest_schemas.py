"""Every route against tempest's own response schemas
(``tempest.lib.api_schema.response.compute``), through tempest's compute
service clients, which pick the schema of the microversion they ask for:
reads at every microversion the API advertises, a server's whole life at each
microversion that changes a body, and 2.1 and the maximum for the rest."""

from __future__ import annotations

import types
import uuid

import pytest
from api_helpers import FLAVOR, HTTP, IMAGE

from nova_common.api import microversion

pytest.importorskip("tempest", reason="tempest (its response schemas) is not installed")

from tempest.lib import exceptions as lib_exc  # noqa: E402
from tempest.lib.services.compute import base_compute_client  # noqa: E402
from tempest.lib.services.compute.availability_zone_client import AvailabilityZoneClient  # noqa: E402
from tempest.lib.services.compute.flavors_client import FlavorsClient  # noqa: E402
from tempest.lib.services.compute.hypervisor_client import HypervisorClient  # noqa: E402
from tempest.lib.services.compute.images_client import ImagesClient  # noqa: E402
from tempest.lib.services.compute.keypairs_client import KeyPairsClient  # noqa: E402
from tempest.lib.services.compute.limits_client import LimitsClient  # noqa: E402
from tempest.lib.services.compute.servers_client import ServersClient  # noqa: E402
from tempest.lib.services.compute.services_client import ServicesClient  # noqa: E402
from tempest.lib.services.compute.versions_client import VersionsClient  # noqa: E402

MAX = microversion.text(microversion.MAX_VERSION)
EVERY_VERSION = [f"2.{minor}" for minor in range(1, microversion.MAX_VERSION[1] + 1)]
#: The microversions at which one of tempest's schemas of a served route changes,
#: or Nova changed a request rule of one.
BOUNDARIES = ["2.1", "2.2", "2.3", "2.9", "2.10", "2.11", "2.16", "2.19", "2.26", "2.28"]
BOUNDARIES += ["2.33", "2.35", "2.36", "2.37", "2.38", "2.39", "2.45", "2.47"]


class StaticAuthProvider:
    """What tempest's RestClient needs of an auth provider, for an endpoint
    without Keystone (the API has no authentication by default)."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.credentials = types.SimpleNamespace(
            username="admin", user_id="admin", tenant_name="", tenant_id="", password=""
        )

    def auth_request(self, method, url, headers=None, body=None, filters=None):
        return f"{self.endpoint}/{url.lstrip('/')}" if url else self.endpoint, headers, body

    def base_url(self, filters, auth_data=None):
        return self.endpoint

    def get_token(self):
        return ""

    def set_alt_auth_data(self, *args):
        raise NotImplementedError


class Clients:
    def __init__(self, endpoint: str) -> None:
        auth = StaticAuthProvider(endpoint)
        args = (auth, "compute", "RegionOne")
        self.servers = ServersClient(*args, build_interval=0.05, build_timeout=30)
        self.flavors = FlavorsClient(*args)
        self.images = ImagesClient(*args)
        self.hypervisors = HypervisorClient(*args)
        self.services = ServicesClient(*args)
        self.zones = AvailabilityZoneClient(*args)
        self.keypairs = KeyPairsClient(*args)
        self.limits = LimitsClient(*args)
        self.versions = VersionsClient(*args)


@pytest.fixture(scope="module")
def clients(cloud):
    return Clients(cloud.endpoint)


@pytest.fixture
def at_version(request):
    """Set tempest's compute microversion for the test (tempest keeps it module-wide)."""

    def use(version: str | None) -> None:
        base_compute_client.COMPUTE_MICROVERSION = None if version == "2.1" else version

    yield use
    base_compute_client.COMPUTE_MICROVERSION = None


def _wait(clients: Clients, server_id: str, status: str) -> dict:
    http = HTTP(clients.servers.base_url)
    return http.wait(server_id, status)


def _create(clients: Clients, version: tuple[int, int], name: str, **extra) -> dict:
    if version >= (2, 37):
        extra.setdefault("networks", "none")
    return clients.servers.create_server(name=name, imageRef=IMAGE, flavorRef=FLAVOR, **extra)["server"]


@pytest.fixture(scope="module")
def shared_server(cloud, clients):
    """One ACTIVE server with metadata and a volume, read at every version."""
    http = HTTP(cloud.endpoint)
    server_id = http.create("schema-shared", metadata={"role": "db"})
    http.wait(server_id, "ACTIVE")
    http.post(
        f"/servers/{server_id}/os-volume_attachments", {"volumeAttachment": {"volumeId": str(uuid.uuid4())}}
    )
    yield server_id
    http.delete(f"/servers/{server_id}")
    http.wait_gone(server_id)


def test_versions(clients, at_version):
    at_version("2.1")
    body = clients.versions.list_versions()
    assert body.response.status == 200
    assert body["versions"][0]["version"] == MAX
    body = clients.versions.get_version_by_url(clients.servers.base_url + "/")
    assert body["version"]["min_version"] == "2.1"


@pytest.mark.parametrize("version", EVERY_VERSION)
def test_reads_at_every_version(clients, at_version, shared_server, version):
    at_version(version)
    v = microversion.parse(version)
    servers = clients.servers
    server = servers.show_server(shared_server)["server"]
    assert server["id"] == shared_server
    assert server["addresses"]["private"][0]["OS-EXT-IPS:type"] == "fixed"
    assert server["security_groups"] == [{"name": "default"}]
    assert server.get("host_status") == ("UP" if v >= (2, 16) else None)
    assert ("locked" in server) == (v >= (2, 9)) and ("tags" in server) == (v >= (2, 26))
    assert any(s["id"] == shared_server for s in servers.list_servers(detail=True)["servers"])
    assert any(s["id"] == shared_server for s in servers.list_servers()["servers"])
    assert servers.list_addresses(shared_server)["addresses"]["private"][0]["version"] == 4
    assert servers.list_addresses_by_network(shared_server, "private")["private"]
    assert servers.list_server_metadata(shared_server)["metadata"] == {"role": "db"}
    assert servers.show_server_metadata_item(shared_server, "role")["meta"] == {"role": "db"}
    (attachment,) = servers.list_volume_attachments(shared_server)["volumeAttachments"]
    servers.show_volume_attachment(shared_server, attachment["volumeId"])
    actions = servers.list_instance_actions(shared_server)["instanceActions"]
    assert {"create", "attach_volume"} <= {a["action"] for a in actions}
    create = next(a for a in actions if a["action"] == "create")
    shown = servers.show_instance_action(shared_server, create["request_id"])["instanceAction"]
    assert shown["events"][0]["result"] == "Success"
    flavors = clients.flavors.list_flavors(detail=True)["flavors"]
    clients.flavors.list_flavors()
    clients.flavors.show_flavor(flavors[0]["id"])
    if v <= (2, 35):
        clients.images.list_images()
        clients.images.list_images(detail=True)
        clients.images.show_image(IMAGE)
    else:
        with pytest.raises(lib_exc.NotFound):
            clients.images.list_images()
    hypervisors = clients.hypervisors.list_hypervisors(detail=True)["hypervisors"]
    clients.hypervisors.list_hypervisors()
    host = hypervisors[0]["hypervisor_hostname"]
    clients.hypervisors.show_hypervisor(hypervisors[0]["id"])
    clients.hypervisors.show_hypervisor_statistics()
    assert "up" in clients.hypervisors.show_hypervisor_uptime(hypervisors[0]["id"])["hypervisor"]["uptime"]
    assert clients.hypervisors.search_hypervisor(host)["hypervisors"]
    clients.hypervisors.list_servers_on_hypervisor(host)
    services = clients.services.list_services()["services"]
    assert ("forced_down" in services[0]) == (v >= (2, 11))
    clients.services.list_services(binary="nova-compute", host=services[0]["host"])
    clients.zones.list_availability_zones()
    clients.zones.list_availability_zones(detail=True)
    limits = clients.limits.show_limits()["limits"]["absolute"]
    assert limits["totalInstancesUsed"] >= 1
    clients.keypairs.list_keypairs()


@pytest.mark.parametrize("version", BOUNDARIES)
def test_server_life_at_each_changing_version(clients, at_version, version):
    """Create, update, metadata, tags, actions, snapshot and delete, through tempest."""
    at_version(version)
    v = microversion.parse(version)
    servers = clients.servers
    extra = {"description": "schema test"} if v >= (2, 19) else {}
    created = _create(clients, v, f"life-{version}", metadata={"a": "1"}, **extra)
    server_id = created["id"]
    _wait(clients, server_id, "ACTIVE")
    shown = servers.show_server(server_id)["server"]
    if v >= (2, 47):
        assert shown["flavor"]["original_name"] == "m1.tiny" and shown["flavor"]["vcpus"] >= 1
    else:
        assert shown["flavor"]["id"] == FLAVOR
    if v >= (2, 19):
        assert shown["description"] == "schema test"
    updated = servers.update_server(server_id, name=f"renamed-{version}")["server"]
    assert updated["name"] == f"renamed-{version}"
    if v >= (2, 19):
        assert servers.update_server(server_id, description="changed")["server"]["description"] == "changed"
    assert servers.set_server_metadata(server_id, {"b": "2"})["metadata"] == {"b": "2"}
    assert servers.update_server_metadata(server_id, {"c": "3"})["metadata"] == {"b": "2", "c": "3"}
    assert servers.set_server_metadata_item(server_id, "d", {"d": "4"})["meta"] == {"d": "4"}
    servers.delete_server_metadata_item(server_id, "b")
    assert servers.list_server_metadata(server_id)["metadata"] == {"c": "3", "d": "4"}
    if v >= (2, 26):
        assert servers.update_all_tags(server_id, ["x", "y"])["tags"] == ["x", "y"]
        servers.update_tag(server_id, "z")
        servers.check_tag_existence(server_id, "z")
        assert servers.list_tags(server_id)["tags"] == ["x", "y", "z"]
        servers.delete_tag(server_id, "x")
        assert servers.show_server(server_id)["server"]["tags"] == ["y", "z"]
        servers.delete_all_tags(server_id)
    servers.stop_server(server_id)
    _wait(clients, server_id, "SHUTOFF")
    servers.start_server(server_id)
    _wait(clients, server_id, "ACTIVE")
    servers.reboot_server(server_id, type="HARD")
    _wait(clients, server_id, "ACTIVE")
    servers.pause_server(server_id)
    _wait(clients, server_id, "PAUSED")
    servers.unpause_server(server_id)
    _wait(clients, server_id, "ACTIVE")
    snapshot = clients.images.create_image(server_id, name=f"snap-{version}")
    if v >= (2, 45):
        assert snapshot["image_id"]
    else:
        assert "/images/" in snapshot.response["location"]
    _wait(clients, server_id, "ACTIVE")
    actions = {a["action"] for a in servers.list_instance_actions(server_id)["instanceActions"]}
    assert {"create", "stop", "start", "reboot", "pause", "unpause", "createImage"} <= actions
    servers.delete_server(server_id)
    HTTP(clients.servers.base_url).wait_gone(server_id)
    if v >= (2, 21):
        # 2.21: the actions of a deleted server stay readable.
        assert "delete" in {a["action"] for a in servers.list_instance_actions(server_id)["instanceActions"]}
    else:
        with pytest.raises(lib_exc.NotFound):
            servers.list_instance_actions(server_id)


@pytest.mark.parametrize("version", BOUNDARIES)
def test_keypairs(clients, at_version, version):
    at_version(version)
    keypairs = clients.keypairs
    name = f"kp-{version.replace('.', '-')}"
    generated = keypairs.create_keypair(name=name)["keypair"]
    assert generated["private_key"].startswith("-----BEGIN RSA PRIVATE KEY-----")
    shown = keypairs.show_keypair(name)["keypair"]
    assert shown["fingerprint"] == generated["fingerprint"] and shown["public_key"] == generated["public_key"]
    imported = keypairs.create_keypair(name=name + "-imported", public_key=generated["public_key"])["keypair"]
    assert imported["fingerprint"] == generated["fingerprint"] and "private_key" not in imported
    names = {k["keypair"]["name"] for k in keypairs.list_keypairs()["keypairs"]}
    assert {name, name + "-imported"} <= names
    with pytest.raises(lib_exc.Conflict):
        keypairs.create_keypair(name=name)
    keypairs.delete_keypair(name)
    keypairs.delete_keypair(name + "-imported")
    with pytest.raises(lib_exc.NotFound):
        keypairs.show_keypair(name)


@pytest.mark.parametrize("version", ["2.1", MAX])
def test_flavor_create_and_delete(clients, at_version, version):
    at_version(version)
    flavor_id = f"schema-{version}"
    created = clients.flavors.create_flavor(
        name=f"schema flavor {version}", ram=64, vcpus=1, disk=1, id=flavor_id
    )
    assert created["flavor"]["id"] == flavor_id
    clients.flavors.delete_flavor(flavor_id)
    with pytest.raises(lib_exc.NotFound):
        clients.flavors.show_flavor(flavor_id)


@pytest.mark.parametrize("version", ["2.1", MAX])
def test_server_with_key_name(clients, at_version, version):
    at_version(version)
    v = microversion.parse(version)
    keypair = clients.keypairs.create_keypair(name=f"boot-{version.replace('.', '-')}")["keypair"]
    server = _create(clients, v, "keyed", key_name=keypair["name"])
    assert _wait(clients, server["id"], "ACTIVE")["key_name"] == keypair["name"]
    with pytest.raises(lib_exc.BadRequest):
        _create(clients, v, "no-such-key", key_name="no-such-key")
    clients.servers.delete_server(server["id"])
    HTTP(clients.servers.base_url).wait_gone(server["id"])
    clients.keypairs.delete_keypair(keypair["name"])


def test_networks_required_from_2_37(clients, at_version):
    at_version("2.37")
    with pytest.raises(lib_exc.BadRequest):
        clients.servers.create_server(name="no-networks", imageRef=IMAGE, flavorRef=FLAVOR)
