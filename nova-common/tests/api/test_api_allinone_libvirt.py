"""End to end: ``nova-common serve`` with the libvirt driver on ``test:///default``
next to fake compute services; servers boot (and run their lifecycle) on both."""

from __future__ import annotations

import pytest
from api_helpers import HTTP, ServeProcess

pytest.importorskip("libvirt", reason="libvirt-python is not installed")
pytest.importorskip("nova_driver_libvirt", reason="nova-driver-libvirt is not installed")


@pytest.fixture(scope="module")
def serve(tmp_path_factory):
    state = tmp_path_factory.mktemp("serve-libvirt")
    # Small fake hosts, so the free-RAM weigher sends the first boots to libvirt's
    # test host (3 GiB) and later ones to the fakes.
    config = state / "fake.conf"
    config.write_text("[fake]\nmemory_mb = 1024\n")
    process = ServeProcess(
        str(state), "--driver", "fake=2", "--driver", "libvirt", "--config-file", str(config)
    )
    yield process
    assert process.stop() == 0, open(process.log_path).read()


def test_boots_on_libvirt_and_fake(serve):
    http = HTTP(serve.endpoint)
    hypervisors = {h["service"]["host"]: h for h in http.get("/os-hypervisors/detail")[1]["hypervisors"]}
    drivers_of = {d["host"]: d for d in http.get("/os-compute-drivers")[1]["compute_drivers"]}
    assert {drivers_of[host]["driver_name"] for host in hypervisors} == {"fake", "libvirt"}
    libvirt_host = next(host for host in hypervisors if drivers_of[host]["driver_name"] == "libvirt")
    assert hypervisors[libvirt_host]["hypervisor_type"] == "TEST"
    assert "volume_attach" not in drivers_of[libvirt_host]["capabilities"]

    ids = [http.create(f"e2e-{i}") for i in range(6)]
    servers = [http.wait(server_id, "ACTIVE", timeout=60) for server_id in ids]
    drivers = {drivers_of[s["OS-EXT-SRV-ATTR:host"]]["driver_name"] for s in servers}
    assert drivers == {"fake", "libvirt"}, [s["OS-EXT-SRV-ATTR:host"] for s in servers]

    on_libvirt = next(s["id"] for s in servers if s["OS-EXT-SRV-ATTR:host"] == libvirt_host)
    for body, status in [
        ({"os-stop": None}, "SHUTOFF"),
        ({"os-start": None}, "ACTIVE"),
        ({"reboot": {"type": "SOFT"}}, "ACTIVE"),
        ({"pause": None}, "PAUSED"),
        ({"unpause": None}, "ACTIVE"),
        ({"suspend": None}, "SUSPENDED"),
        ({"resume": None}, "ACTIVE"),
    ]:
        code, got, _ = http.post(f"/servers/{on_libvirt}/action", body)
        assert code == 202, got
        http.wait(on_libvirt, status, timeout=60)
    # libvirt's test driver cannot attach volumes: a clear 409, not a crash
    code, got, _ = http.post(
        f"/servers/{on_libvirt}/os-volume_attachments",
        {"volumeAttachment": {"volumeId": "5f1b7f5a-9e41-4c6e-8a0e-4d2b8f6f2a10"}},
    )
    assert code == 409 and "volume_attach" in got["conflictingRequest"]["message"]
    code, _, headers = http.post(f"/servers/{on_libvirt}/action", {"createImage": {"name": "lv-snap"}})
    assert code == 202
    http.wait(on_libvirt, "ACTIVE", timeout=60)
    image = http.get("/images/" + headers["Location"].rsplit("/", 1)[1])[1]["image"]
    assert image["status"] == "ACTIVE" and image["server"]["id"] == on_libvirt

    for server_id in ids:
        assert http.delete(f"/servers/{server_id}")[0] == 204
    for server_id in ids:
        http.wait_gone(server_id, timeout=60)
    assert http.get("/os-hypervisors/detail")[1]["hypervisors"][0]["running_vms"] == 0
