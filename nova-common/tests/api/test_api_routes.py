"""Every route of the compute REST API against an all-in-one in this process:
success, 400 (schema), 404, 409 (state), microversions, faults, pagination."""

from __future__ import annotations

import json
import uuid

import pytest
from api_helpers import FLAVOR, HTTP, IMAGE

from nova_common.api import views
from nova_common.api.server import APIServer

# -- version discovery and microversions ------------------------------------------


def test_version_discovery(http):
    status, body, headers = http.get(http.root + "/")
    assert status == 200  # as Nova (300 is for a path it does not know)
    (version,) = body["versions"]
    assert version["id"] == "v2.1" and version["min_version"] == "2.1" and version["version"] == "2.47"
    assert version["links"][0]["href"] == http.endpoint + "/"
    status, body, headers = http.get("/")
    assert status == 200
    assert body["version"]["status"] == "CURRENT"
    assert headers["OpenStack-API-Version"] == "compute 2.1"
    assert headers["X-OpenStack-Nova-API-Version"] == "2.1"
    assert "OpenStack-API-Version" in headers["Vary"]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"OpenStack-API-Version": "compute 2.1"},
        {"OpenStack-API-Version": "identity 3.5, compute 2.1"},
        {"X-OpenStack-Nova-API-Version": "2.1"},
    ],
)
def test_microversion_accepted(http, headers):
    status, _, got = http.get("/flavors", headers=headers)
    assert status == 200
    assert got["OpenStack-API-Version"] == "compute 2.1"


@pytest.mark.parametrize(
    "headers, version",
    [
        ({"OpenStack-API-Version": "compute latest"}, "2.47"),
        ({"OpenStack-API-Version": "compute 2.19"}, "2.19"),
        ({"X-OpenStack-Nova-API-Version": "2.47"}, "2.47"),
    ],
)
def test_microversion_above_2_1(http, headers, version):
    status, _, got = http.get("/flavors", headers=headers)
    assert status == 200
    assert got["OpenStack-API-Version"] == f"compute {version}"
    assert got["X-OpenStack-Nova-API-Version"] == version


@pytest.mark.parametrize(
    "headers",
    [
        {"OpenStack-API-Version": "compute 2.48"},
        {"OpenStack-API-Version": "compute 2.96"},
        {"OpenStack-API-Version": "compute 1.0"},
        {"OpenStack-API-Version": "compute 3.0"},
        {"X-OpenStack-Nova-API-Version": "2.53"},
    ],
)
def test_microversion_out_of_range_is_406(http, headers):
    status, body, got = http.get("/servers", headers=headers)
    assert status == 406
    assert body["computeFault"]["code"] == 406
    assert "maximum is 2.47" in body["computeFault"]["message"]
    assert "Vary" in got


def test_microversion_malformed_is_400(http):
    status, body, _ = http.get("/servers", headers={"OpenStack-API-Version": "compute two"})
    assert status == 400 and "invalid format" in body["badRequest"]["message"]


def test_unknown_route_and_method(http):
    status, body, _ = http.get("/nothing-here")
    assert status == 404 and body["itemNotFound"]["code"] == 404
    status, body, got = http.request("PUT", "/flavors")
    assert status == 405 and "badMethod" in body
    assert "GET" in got["Allow"]


# -- servers --------------------------------------------------------------------------


def test_server_create_show_list_delete(http):
    status, body, headers = http.post(
        "/servers",
        {"server": {"name": "web-1", "flavorRef": FLAVOR, "imageRef": IMAGE, "metadata": {"a": "b"}}},
    )
    assert status == 202
    server_id = body["server"]["id"]
    assert headers["Location"].endswith(f"/v2.1/servers/{server_id}")
    assert {"id", "links", "adminPass", "OS-DCF:diskConfig", "security_groups"} <= set(body["server"])
    server = http.wait(server_id, "ACTIVE")
    assert server["name"] == "web-1" and server["metadata"] == {"a": "b"}
    assert server["flavor"]["id"] == FLAVOR and server["image"]["id"] == IMAGE
    assert server["OS-EXT-STS:vm_state"] == "active" and server["OS-EXT-STS:power_state"] == 1
    assert server["OS-EXT-SRV-ATTR:host"]
    status, body, _ = http.get("/servers")
    assert status == 200
    assert {"id": server_id, "name": "web-1"} in [{"id": s["id"], "name": s["name"]} for s in body["servers"]]
    assert set(body["servers"][0]) == {"id", "name", "links"}
    status, body, _ = http.get("/servers/detail")
    assert status == 200 and any(s["id"] == server_id and s["status"] == "ACTIVE" for s in body["servers"])
    status, body, _ = http.delete(f"/servers/{server_id}")
    assert status == 204 and body is None
    http.wait_gone(server_id)


def test_server_create_by_link_refs(http):
    server_id = http.create(
        "by-link", flavor=f"{http.endpoint}/flavors/{FLAVOR}", image=f"{http.endpoint}/images/{IMAGE}"
    )
    http.wait(server_id, "ACTIVE")
    http.delete(f"/servers/{server_id}")


def test_server_create_accepts_compat_fields(http):
    server_id = http.create("compat", networks=[], min_count=1, max_count=1, availability_zone="nova")
    http.wait(server_id, "ACTIVE")
    http.delete(f"/servers/{server_id}")


@pytest.mark.parametrize(
    "server, field",
    [
        ({"name": "x", "flavorRef": FLAVOR, "imageRef": IMAGE, "colour": "red"}, "server/colour"),
        ({"name": 5, "flavorRef": FLAVOR, "imageRef": IMAGE}, "server/name"),
        ({"name": "", "flavorRef": FLAVOR, "imageRef": IMAGE}, "server/name"),
        ({"name": "x", "flavorRef": FLAVOR, "imageRef": IMAGE, "metadata": {"k": 1}}, "server/metadata/k"),
        ({"name": "x", "imageRef": IMAGE}, "server/flavorRef"),
        ({"name": "x", "flavorRef": FLAVOR, "imageRef": IMAGE, "max_count": 2}, "server/max_count"),
    ],
)
def test_server_create_schema_400(http, server, field):
    status, body, _ = http.post("/servers", {"server": server})
    assert status == 400, body
    assert f"field/attribute {field}" in body["badRequest"]["message"]


def test_server_create_bad_bodies(http):
    status, body, _ = http.post("/servers", {"server": {}, "extra": 1})
    assert status == 400 and "extra" in body["badRequest"]["message"]
    status, body, _ = http.request("POST", "/servers", raw=b"{not json")
    assert status == 400 and "JSON" in body["badRequest"]["message"]


def test_server_create_unknown_flavor_or_image_400(http):
    status, body, _ = http.post("/servers", {"server": {"name": "x", "flavorRef": "nope", "imageRef": IMAGE}})
    assert status == 400 and "flavor" in body["badRequest"]["message"]
    status, body, _ = http.post(
        "/servers", {"server": {"name": "x", "flavorRef": FLAVOR, "imageRef": "nope"}}
    )
    assert status == 400 and "image" in body["badRequest"]["message"]


def test_server_404s(http):
    missing = str(uuid.uuid4())
    for method, path, body in [
        ("GET", f"/servers/{missing}", None),
        ("DELETE", f"/servers/{missing}", None),
        ("POST", f"/servers/{missing}/action", {"pause": None}),
        ("GET", f"/servers/{missing}/os-volume_attachments", None),
        ("POST", f"/servers/{missing}/os-volume_attachments", {"volumeAttachment": {"volumeId": missing}}),
    ]:
        status, got, _ = http.request(method, path, body)
        assert status == 404, (method, path, got)
        assert got["itemNotFound"]["code"] == 404 and missing in got["itemNotFound"]["message"]


def test_server_actions_lifecycle(http):
    server_id = http.create("actions")
    http.wait(server_id, "ACTIVE")
    for action, body, expected in [
        ("reboot", {"reboot": {"type": "SOFT"}}, "ACTIVE"),
        ("reboot", {"reboot": {"type": "HARD"}}, "ACTIVE"),
        ("pause", {"pause": None}, "PAUSED"),
        ("unpause", {"unpause": None}, "ACTIVE"),
        ("suspend", {"suspend": None}, "SUSPENDED"),
        ("resume", {"resume": None}, "ACTIVE"),
        ("os-stop", {"os-stop": None}, "SHUTOFF"),
        ("os-start", {"os-start": None}, "ACTIVE"),
    ]:
        status, got, _ = http.post(f"/servers/{server_id}/action", body)
        assert status == 202 and got is None, (action, got)
        server = http.wait(server_id, expected)
        assert server["OS-EXT-STS:power_state"] == {"PAUSED": 3, "SUSPENDED": 7, "SHUTOFF": 4}.get(
            expected, 1
        )
    http.delete(f"/servers/{server_id}")
    http.wait_gone(server_id)


def test_server_action_invalid_transitions_409(http):
    server_id = http.create("conflicts")
    http.wait(server_id, "ACTIVE")
    assert http.post(f"/servers/{server_id}/action", {"pause": None})[0] == 202
    http.wait(server_id, "PAUSED")
    for body in ({"pause": None}, {"suspend": None}, {"os-start": None}, {"reboot": {"type": "SOFT"}}):
        status, got, _ = http.post(f"/servers/{server_id}/action", body)
        assert status == 409, (body, got)
        assert got["conflictingRequest"]["code"] == 409
        assert "vm_state is paused" in got["conflictingRequest"]["message"]
    assert http.post(f"/servers/{server_id}/action", {"unpause": None})[0] == 202
    http.wait(server_id, "ACTIVE")
    for body in ({"unpause": None}, {"resume": None}, {"os-start": None}):
        assert http.post(f"/servers/{server_id}/action", body)[0] == 409, body
    http.delete(f"/servers/{server_id}")


@pytest.mark.parametrize(
    "body, needle",
    [
        ({"reboot": {"type": "WARM"}}, "reboot/type"),
        ({"reboot": {}}, "reboot/type"),
        ({"reboot": {"type": "SOFT", "force": True}}, "reboot/force"),
        ({"os-stop": {"now": True}}, "os-stop"),
        ({"createImage": {}}, "createImage/name"),
        ({"createImage": {"name": "s", "colour": 1}}, "createImage/colour"),
        ({"rebuild": {}}, "no such action: rebuild"),
        ({"pause": None, "unpause": None}, "exactly one action"),
    ],
)
def test_server_action_400(http, body, needle):
    status, body, _ = http.post(f"/servers/{uuid.uuid4()}/action", body)
    assert status == 400, body
    assert needle in body["badRequest"]["message"]


def test_create_image_action(http):
    server_id = http.create("snap-me")
    http.wait(server_id, "ACTIVE")
    status, body, headers = http.post(f"/servers/{server_id}/action", {"createImage": {"name": "snap-1"}})
    assert status == 202 and body is None
    image_url = headers["Location"]
    image_id = image_url.rsplit("/", 1)[1]
    http.wait(server_id, "ACTIVE")
    status, body, _ = http.get(f"/images/{image_id}")
    assert status == 200
    assert body["image"]["name"] == "snap-1" and body["image"]["status"] == "ACTIVE"
    assert body["image"]["server"]["id"] == server_id
    http.delete(f"/servers/{server_id}")


def test_servers_pagination_and_filters(http, cloud):
    ids = [http.create(f"page-{i}") for i in range(5)]
    for server_id in ids:
        http.wait(server_id, "ACTIVE")
    status, body, _ = http.get("/servers?name=^page-&limit=2")
    assert status == 200 and len(body["servers"]) == 2
    (link,) = body["servers_links"]
    assert link["rel"] == "next" and "marker=" in link["href"] and "limit=2" in link["href"]
    seen = [s["id"] for s in body["servers"]]
    while "servers_links" in body:
        status, body, _ = http.get(body["servers_links"][0]["href"])
        assert status == 200
        seen += [s["id"] for s in body["servers"]]
    assert sorted(seen) == sorted(ids)
    assert seen == list(reversed(ids))  # newest first
    status, body, _ = http.get("/servers/detail?limit=1&name=page-")
    assert len(body["servers"]) == 1 and "/servers/detail?" in body["servers_links"][0]["href"]
    assert http.get(f"/servers?marker={uuid.uuid4()}")[0] == 400
    assert http.get("/servers?limit=x")[0] == 400
    assert http.get("/servers?name=(")[0] == 400
    # status and host filters
    http.post(f"/servers/{ids[0]}/action", {"os-stop": None})
    http.wait(ids[0], "SHUTOFF")
    status, body, _ = http.get("/servers/detail?status=SHUTOFF&name=^page-")
    assert [s["id"] for s in body["servers"]] == [ids[0]]
    # An unknown status: no servers before 2.38, 400 from 2.38 on (as Nova).
    status, body, _ = http.get("/servers?status=BOGUS")
    assert status == 200 and body["servers"] == []
    assert http.get("/servers?status=BOGUS", headers={"OpenStack-API-Version": "compute 2.38"})[0] == 400
    host = http.server(ids[1])["OS-EXT-SRV-ATTR:host"]
    status, body, _ = http.get(f"/servers/detail?host={host}&name=^page-")
    assert body["servers"] and all(s["OS-EXT-SRV-ATTR:host"] == host for s in body["servers"])
    for server_id in ids:
        http.delete(f"/servers/{server_id}")
    for server_id in ids:
        http.wait_gone(server_id)


# -- volume attachments -----------------------------------------------------------------


def test_volume_attachments(http):
    server_id = http.create("volumes")
    http.wait(server_id, "ACTIVE")
    base = f"/servers/{server_id}/os-volume_attachments"
    volume = str(uuid.uuid4())
    status, body, _ = http.post(base, {"volumeAttachment": {"volumeId": volume}})
    assert status == 200
    assert body["volumeAttachment"] == {
        "id": volume,
        "serverId": server_id,
        "volumeId": volume,
        "device": "/dev/vdb",
    }
    http.wait(server_id, "ACTIVE")
    status, body, _ = http.get(base)
    assert status == 200 and [a["volumeId"] for a in body["volumeAttachments"]] == [volume]
    status, body, _ = http.get(f"{base}/{volume}")
    assert status == 200 and body["volumeAttachment"]["device"] == "/dev/vdb"
    assert http.server(server_id)["os-extended-volumes:volumes_attached"] == [{"id": volume}]
    # attaching it again conflicts; a second one gets the next device
    assert http.post(base, {"volumeAttachment": {"volumeId": volume}})[0] == 409
    second = str(uuid.uuid4())
    status, body, _ = http.post(base, {"volumeAttachment": {"volumeId": second, "device": "/dev/vdd"}})
    assert status == 200 and body["volumeAttachment"]["device"] == "/dev/vdd"
    http.wait(server_id, "ACTIVE")
    # schema
    status, body, _ = http.post(base, {"volumeAttachment": {"volumeId": "not-a-uuid"}})
    assert status == 400 and "volumeAttachment/volumeId" in body["badRequest"]["message"]
    status, body, _ = http.post(base, {"volumeAttachment": {"volumeId": volume, "tag": "x"}})
    assert status == 400 and "volumeAttachment/tag" in body["badRequest"]["message"]
    # detach
    assert http.get(f"{base}/{uuid.uuid4()}")[0] == 404
    assert http.delete(f"{base}/{uuid.uuid4()}")[0] == 404
    assert http.delete(f"{base}/{volume}")[0] == 202
    http.wait(server_id, "ACTIVE")
    status, body, _ = http.get(base)
    assert [a["volumeId"] for a in body["volumeAttachments"]] == [second]
    http.delete(f"/servers/{server_id}")


# -- flavors, images ------------------------------------------------------------------------


def test_flavors(http):
    status, body, _ = http.get("/flavors")
    assert status == 200
    names = [f["name"] for f in body["flavors"]]
    assert "m1.tiny" in names and set(body["flavors"][0]) == {"id", "name", "links"}
    status, body, _ = http.get("/flavors/detail")
    tiny = next(f for f in body["flavors"] if f["name"] == "m1.tiny")
    assert {"ram", "vcpus", "disk", "OS-FLV-EXT-DATA:ephemeral", "swap", "os-flavor-access:is_public"} <= set(
        tiny
    )
    status, body, _ = http.get(f"/flavors/{tiny['id']}")
    assert status == 200 and body["flavor"] == tiny
    assert http.get("/flavors/no-such")[0] == 404
    status, body, _ = http.get("/flavors?limit=1")
    assert len(body["flavors"]) == 1 and "flavors_links" in body
    status, body, _ = http.get("/flavors/detail?minRam=4096")
    assert body["flavors"] and all(f["ram"] >= 4096 for f in body["flavors"])


def test_flavor_create(http):
    status, body, _ = http.post(
        "/flavors", {"flavor": {"name": "api.small", "ram": 1024, "vcpus": 2, "disk": 5, "id": "api-small"}}
    )
    assert status == 200, body
    assert (
        body["flavor"]["id"] == "api-small" and body["flavor"]["ram"] == 1024 and body["flavor"]["disk"] == 5
    )
    assert http.get("/flavors/api-small")[0] == 200
    status, body, _ = http.post(
        "/flavors", {"flavor": {"name": "api.small", "ram": 1024, "vcpus": 2, "disk": 5}}
    )
    assert status == 409, body
    status, body, _ = http.post("/flavors", {"flavor": {"name": "x", "ram": "lots", "vcpus": 1, "disk": 0}})
    assert status == 400 and "flavor/ram" in body["badRequest"]["message"]
    status, body, _ = http.post(
        "/flavors", {"flavor": {"name": "x", "ram": 1, "vcpus": 1, "disk": 0, "gpu": 1}}
    )
    assert status == 400 and "flavor/gpu" in body["badRequest"]["message"]
    status, body, _ = http.post("/flavors", {"flavor": {"name": "x", "ram": 1, "vcpus": 0, "disk": 0}})
    assert status == 400 and "flavor/vcpus" in body["badRequest"]["message"]
    # the new flavor boots
    server_id = http.create("on-new-flavor", flavor="api-small")
    assert http.wait(server_id, "ACTIVE")["flavor"]["id"] == "api-small"
    http.delete(f"/servers/{server_id}")


def test_images(http):
    status, body, _ = http.get("/images")
    assert status == 200 and IMAGE in [i["id"] for i in body["images"]]
    status, body, _ = http.get("/images/detail")
    cirros = next(i for i in body["images"] if i["id"] == IMAGE)
    assert cirros["status"] == "ACTIVE" and cirros["name"] == "cirros" and "minRam" in cirros
    status, body, _ = http.get(f"/images/{IMAGE}")
    assert status == 200 and body["image"]["id"] == IMAGE
    assert http.get(f"/images/{uuid.uuid4()}")[0] == 404
    status, body, _ = http.get("/images?name=cirros")
    assert [i["id"] for i in body["images"]] == [IMAGE]


# -- hypervisors, services ---------------------------------------------------------------------


def test_hypervisors(http, cloud):
    status, body, _ = http.get("/os-hypervisors")
    assert status == 200
    assert {h["hypervisor_hostname"] for h in body["hypervisors"]} >= {h for h, _ in cloud.hosts}
    status, body, _ = http.get("/os-hypervisors/detail")
    ours = [h for h in body["hypervisors"] if h["service"]["host"] in {h for h, _ in cloud.hosts}]
    assert len(ours) == 3
    for hypervisor in ours:
        assert hypervisor["hypervisor_type"] == "fake" and hypervisor["state"] == "up"
        assert hypervisor["vcpus"] > 0 and "driver_name" not in hypervisor
        # The driver's release lives in this system's own resource.
        status, body, _ = http.get(f"/os-compute-drivers/{hypervisor['service']['host']}")
        driver = body["compute_driver"]
        assert driver["driver_name"] == "fake" and driver["driver_version"]
        assert "power" in driver["capabilities"] and driver["hypervisor_id"] == hypervisor["id"]
    status, body, _ = http.get(f"/os-hypervisors/{ours[0]['id']}")
    assert status == 200 and body["hypervisor"]["id"] == ours[0]["id"]
    assert http.get("/os-hypervisors/99999")[0] == 404


def test_services(http, cloud):
    status, body, _ = http.get("/os-services")
    assert status == 200
    ours = [s for s in body["services"] if s["host"] in {h for h, _ in cloud.hosts}]
    assert len(ours) == 3
    for service in ours:
        assert (
            service["binary"] == "nova-compute"
            and service["state"] == "up"
            and service["status"] == "enabled"
        )
        assert "driver_name" not in service and "forced_down" not in service  # forced_down: 2.11
    host = ours[0]["host"]
    status, body, _ = http.get(f"/os-services?host={host}")
    assert [s["host"] for s in body["services"]] == [host]


# -- auth, the server, status mapping -----------------------------------------------------------


def test_static_token(cloud):
    from nova_common.api.wsgi import make_app

    server = APIServer(make_app(cloud.compute_api, auth_token="s3cret"), "127.0.0.1", 0, "s3cret")
    server.start()
    try:
        anonymous, good, bad = (
            HTTP(server.endpoint),
            HTTP(server.endpoint, "s3cret"),
            HTTP(server.endpoint, "x"),
        )
        status, body, _ = anonymous.get("/servers")
        assert status == 401 and body["unauthorized"]["code"] == 401
        assert bad.get("/servers")[0] == 401
        assert good.get("/servers")[0] == 200
        assert anonymous.get(anonymous.root + "/")[0] == 200  # version discovery stays open
    finally:
        server.stop()


def test_refuses_non_loopback_without_token():
    with pytest.raises(ValueError, match="non-loopback"):
        APIServer(lambda e, s: [], "0.0.0.0", 0, None)


@pytest.mark.parametrize(
    "vm_state, task_state, status",
    [
        ("building", "scheduling", "BUILD"),
        ("building", "spawning", "BUILD"),
        ("active", None, "ACTIVE"),
        ("active", "rebooting", "REBOOT"),
        ("active", "rebooting_hard", "HARD_REBOOT"),
        ("active", "powering-off", "ACTIVE"),
        ("active", "image_snapshot", "ACTIVE"),
        ("stopped", None, "SHUTOFF"),
        ("stopped", "powering-on", "SHUTOFF"),
        ("paused", None, "PAUSED"),
        ("suspended", None, "SUSPENDED"),
        ("error", None, "ERROR"),
        ("error", "rebooting_hard", "HARD_REBOOT"),
        ("deleted", None, "DELETED"),
    ],
)
def test_status_mapping(vm_state, task_state, status):
    assert views.server_status(vm_state, task_state) == status


def test_no_valid_host_is_409(http):
    status, body, _ = http.post(
        "/flavors", {"flavor": {"name": "huge", "ram": 2**31 - 1, "vcpus": 1, "disk": 0}}
    )
    assert status == 200
    status, body, _ = http.post(
        "/servers", {"server": {"name": "x", "flavorRef": body["flavor"]["id"], "imageRef": IMAGE}}
    )
    assert status == 409 and "No valid host" in body["conflictingRequest"]["message"]


def _listed(http, server_id, headers=None):
    status, body, _ = http.get("/servers/detail", headers=headers or {})
    assert status == 200
    return next((s for s in body["servers"] if s["id"] == server_id), None)


def test_detail_list_shows_every_change_at_once(http):
    """The list reuses rendered bodies: every write must show in the next list."""
    server_id = http.create("cached")
    http.wait(server_id, "ACTIVE")
    assert _listed(http, server_id)["metadata"] == {}
    http.request("PUT", f"/servers/{server_id}/metadata", {"metadata": {"k": "v"}})
    assert _listed(http, server_id)["metadata"] == {"k": "v"}
    http.request("PUT", f"/servers/{server_id}", {"server": {"name": "renamed"}})
    assert _listed(http, server_id)["name"] == "renamed"
    v219 = {"OpenStack-API-Version": "compute 2.19"}
    assert _listed(http, server_id, v219)["description"] is None
    http.request("PUT", f"/servers/{server_id}", {"server": {"description": "d"}}, headers=v219)
    assert _listed(http, server_id, v219)["description"] == "d"
    assert "description" not in _listed(http, server_id)  # 2.1 again: the 2.1 body
    http.post(f"/servers/{server_id}/action", {"os-stop": None})
    http.wait(server_id, "SHUTOFF")
    assert _listed(http, server_id)["status"] == "SHUTOFF"
    http.delete(f"/servers/{server_id}")
    http.wait_gone(server_id)
    assert _listed(http, server_id) is None


def test_tag_filters(http):
    v226 = {"OpenStack-API-Version": "compute 2.26"}
    ids = {}
    for name, tags in (("tag-a", ["a"]), ("tag-ab", ["a", "b"]), ("tag-none", [])):
        ids[name] = http.create(name)
        http.wait(ids[name], "ACTIVE")
        http.request("PUT", f"/servers/{ids[name]}/tags", {"tags": tags}, headers=v226)

    def names(query):
        status, body, _ = http.get(f"/servers?name=^tag-&{query}", headers=v226)
        assert status == 200
        return sorted(s["name"] for s in body["servers"])

    assert names("tags=a") == ["tag-a", "tag-ab"]
    assert names("tags=a,b") == ["tag-ab"]
    assert names("tags-any=b") == ["tag-ab"]
    assert names("not-tags=a,b") == ["tag-a", "tag-none"]
    assert names("not-tags-any=a") == ["tag-none"]
    for server_id in ids.values():
        http.delete(f"/servers/{server_id}")
    for server_id in ids.values():
        http.wait_gone(server_id)


def test_request_id_and_proxy_headers(cloud):
    from oslo_config import cfg

    from nova_common.api.wsgi import make_app

    conf = cfg.ConfigOpts()
    conf([], project="nova", default_config_files=[])
    app = make_app(cloud.compute_api, conf=conf)
    conf.set_override("enable_proxy_headers_parsing", True, group="oslo_middleware")
    server = APIServer(app, "127.0.0.1", 0)
    server.start()
    try:
        http = HTTP(server.endpoint)
        status, body, headers = http.get(
            "/", headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": "compute.example.org"}
        )
        assert status == 200
        assert body["version"]["links"][0]["href"] == "https://compute.example.org/v2.1/"
        assert headers["x-openstack-request-id"].startswith("req-")
    finally:
        server.stop()


def test_wsgi_entry_point(cloud, tmp_path, monkeypatch):
    """nova_common.api.wsgi:application, as uWSGI or mod_wsgi would load it."""
    import wsgiref.util

    from nova_common.api import wsgi

    config = tmp_path / "nova.conf"
    config.write_text(
        f"[DEFAULT]\ntransport_url = {cloud.conf.transport_url}\n"
        f"control_exchange = {cloud.conf.control_exchange}\n"
        f"[conductor]\ntopic = {cloud.conf.conductor.topic}\n"
    )
    monkeypatch.setenv("NOVA_COMMON_CONFIG_FILES", str(config))
    monkeypatch.setattr(wsgi, "_ENTRY_APP", None)
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/v2.1/flavors"}
    wsgiref.util.setup_testing_defaults(environ)
    answered = {}
    body = b"".join(wsgi.application(environ, lambda status, headers: answered.update(status=status)))
    assert answered["status"].startswith("200")
    assert "m1.tiny" in [f["name"] for f in json.loads(body)["flavors"]]
    app = wsgi._ENTRY_APP
    while not isinstance(app, wsgi.APIApplication):
        app = app.application  # through oslo.middleware's filters
    app.compute.close()


def test_list_cache_forgets_what_is_gone():
    """Rows of deleted instances and bodies of old stamps are dropped."""
    from nova_common.api.server_list import ServerListCache

    class Compute:
        stamps = [["u1", "t1", "a", "active", None, "h"], ["u2", "t1", "b", "active", None, "h"]]

        def instance_stamps(self, host=None):
            return [list(s) for s in self.stamps]

        def instances(self, uuids):
            by_uuid = {s[0]: s for s in self.stamps}
            return [{"uuid": u, "stamp": by_uuid[u][1]} for u in uuids if u in by_uuid]

    compute = Compute()
    cache = ServerListCache(compute)
    assert [r["uuid"] for _, r in cache.rows(cache.stamps())] == ["u1", "u2"]
    compute.stamps = [["u1", "t2", "a", "active", None, "h"]]
    (entry,) = cache.rows(cache.stamps())
    assert entry[0] == "t2" and entry[1]["stamp"] == "t2" and set(cache._rows) == {"u1"}
    cache._bodies = {("u1", "t1", "b", (2, 1), None, ()): b"old", ("u1", "t2", "b", (2, 1), None, ()): b"new"}
    cache._bodies.update({(f"x{i}", "t", "b", (2, 1), None, ()): b"" for i in range(100)})
    cache.stamps()
    assert list(cache._bodies.values()) == [b"new"]


def test_project_id_in_the_path_is_accepted(http):
    project = uuid.uuid4().hex
    status, body, _ = http.get(f"/{project}/flavors")
    assert status == 200 and "m1.tiny" in [f["name"] for f in body["flavors"]]
    assert http.get(f"/{project}/servers/detail")[0] == 200
    assert http.get(f"/{project}/nothing")[0] == 404
