"""Operations while a server builds (a slow fake spawn), in their own module: the
embedded broker is one per process and shares topic queues, so only one
all-in-one may run in a process at a time (the routes module's is gone by now)."""

from __future__ import annotations

from api_helpers import HTTP, start_cloud

from nova_common.cmd.serve import DriverSpec


def test_reboot_while_building_409_and_error_fault(tmp_path):
    """A slow spawn: reboot, pause and stop while BUILD conflict; delete wins."""
    cloud = start_cloud(
        str(tmp_path), drivers=[DriverSpec("fake", 1)], compute_overrides={"fake.spawn_latency": 1.5}
    )
    try:
        http = HTTP(cloud.endpoint)
        server_id = http.create("slow")
        assert http.server(server_id)["status"] == "BUILD"
        for body in ({"reboot": {"type": "SOFT"}}, {"pause": None}, {"os-stop": None}):
            status, got, _ = http.post(f"/servers/{server_id}/action", body)
            assert status == 409, got
            assert "vm_state is building" in got["conflictingRequest"]["message"]
        assert http.delete(f"/servers/{server_id}")[0] == 204  # delete wins over a build
        http.wait_gone(server_id)
    finally:
        cloud.stop()
