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


def test_failed_spawn_is_error_with_fault(tmp_path):
    cloud = start_cloud(
        str(tmp_path), drivers=[DriverSpec("fake", 2)], compute_overrides={"fake.fail_spawn": True}
    )
    try:
        http = HTTP(cloud.endpoint)
        server_id = http.create("doomed")
        server = http.wait(server_id, "ERROR")
        assert "No valid host" in server["fault"]["message"] and server["fault"]["code"] == 500
        status, body, _ = http.get("/servers/detail?status=ERROR")
        assert [s["id"] for s in body["servers"]] == [server_id]
        status, body, _ = http.post(f"/servers/{server_id}/action", {"pause": None})
        assert status == 409
        assert http.delete(f"/servers/{server_id}")[0] == 204
        http.wait_gone(server_id)
    finally:
        cloud.stop()


def test_serve_smoke(tmp_path):
    """The first command on a fresh machine: nova-common serve --smoke."""
    import subprocess

    from api_helpers import console_script

    result = subprocess.run(
        [*console_script("nova-common"), "serve", "--smoke", "--port", "0", "--state-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "smoke test passed" in result.stdout and "compute API at http://127.0.0.1:" in result.stdout


def test_two_clouds_in_one_process(tmp_path):
    """With a conductor topic each, two all-in-ones share the embedded broker."""
    first = start_cloud(str(tmp_path / "a"), drivers=[DriverSpec("fake", 1)])
    second = start_cloud(str(tmp_path / "b"), drivers=[DriverSpec("fake", 1)])
    try:
        for cloud in (first, second):
            http = HTTP(cloud.endpoint)
            assert [s["host"] for s in http.get("/os-services")[1]["services"]] == [cloud.hosts[0][0]]
            server_id = http.create("mine")
            assert http.wait(server_id, "ACTIVE")["OS-EXT-SRV-ATTR:host"] == cloud.hosts[0][0]
    finally:
        first.stop()
        second.stop()
