"""The ``nova-common`` console script drives a server through its lifecycle
against a running ``nova-common serve`` (both subprocesses)."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from api_helpers import ServeProcess, console_script


@pytest.fixture(scope="module")
def serve(tmp_path_factory):
    process = ServeProcess(str(tmp_path_factory.mktemp("serve-cli")))
    yield process
    assert process.stop() == 0


@pytest.fixture(scope="module")
def cli(serve):
    def run(*args: str, check: bool = True, env_url: bool = False) -> subprocess.CompletedProcess:
        env = dict(os.environ)
        argv = [*console_script("nova-common")]
        if env_url:
            env["OS_COMPUTE_URL"] = serve.endpoint
        else:
            argv += ["--os-compute-url", serve.endpoint]
        result = subprocess.run([*argv, *args], capture_output=True, text=True, timeout=120, env=env)
        if check:
            assert result.returncode == 0, result.stderr + result.stdout
        return result

    return run


def test_server_lifecycle(cli):
    created = json.loads(
        cli("server", "create", "cli-1", "--flavor", "m1.tiny", "--property", "a=b", "-f", "json").stdout
    )
    assert created["status"] == "ACTIVE" and created["metadata"] == {"a": "b"}
    server_id = created["id"]
    listed = cli("server", "list").stdout
    assert "cli-1" in listed and "ACTIVE" in listed and listed.startswith("+")
    for action, status in [
        ("stop", "SHUTOFF"),
        ("start", "ACTIVE"),
        ("reboot", "ACTIVE"),
        ("pause", "PAUSED"),
        ("unpause", "ACTIVE"),
        ("suspend", "SUSPENDED"),
        ("resume", "ACTIVE"),
    ]:
        result = cli("server", action, "cli-1", "-f", "json")
        assert json.loads(result.stdout)["status"] == status, result.stderr
        assert server_id in result.stderr  # progress lines
    shown = json.loads(cli("server", "show", server_id, "--format", "json").stdout)
    assert shown["id"] == server_id
    # invalid transition: resume an active server
    result = cli("server", "resume", "cli-1", check=False)
    assert result.returncode == 1 and "HTTP 409" in result.stderr
    cli("server", "delete", "cli-1")
    assert "cli-1" not in cli("server", "list").stdout
    assert "HTTP 404" in cli("server", "show", server_id, check=False).stderr


def test_no_wait_returns_at_once(cli):
    created = json.loads(cli("server", "create", "cli-2", "--flavor", "1", "--no-wait", "-f", "json").stdout)
    assert created["status"] in ("BUILD", "ACTIVE")
    cli("server", "delete", created["id"], "--no-wait")
    cli("server", "list")  # the env variable works as well as the option
    assert cli("server", "list", env_url=True).returncode == 0


def test_flavors_services_hypervisors(cli):
    cli("flavor", "create", "cli.flavor", "--ram", "256", "--vcpus", "1", "--disk", "1", "--id", "cli-f")
    flavors = json.loads(cli("flavor", "list", "-f", "json").stdout)
    assert "cli.flavor" in [f["name"] for f in flavors]
    assert "m1.tiny" in cli("flavor", "list").stdout
    services = json.loads(cli("service", "list", "--format", "json").stdout)
    assert {s["driver_name"] for s in services} == {"fake"}
    table = cli("service", "list").stdout
    assert "Driver Version" in table and "fake-02" in table
    hypervisors = cli("hypervisor", "list").stdout
    assert "fake-00" in hypervisors
    shown = json.loads(cli("hypervisor", "show", "fake-01", "-f", "json").stdout)
    assert shown["hypervisor_hostname"] == "fake-01" and shown["capabilities"]
    assert "cirros" in cli("image", "list").stdout


def test_unreachable_endpoint():
    result = subprocess.run(
        [*console_script("nova-common"), "--os-compute-url", "http://127.0.0.1:9/v2.1", "server", "list"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1 and "cannot reach" in result.stderr


def test_api_command_refuses_open_bind_without_token(tmp_path):
    config = tmp_path / "nova.conf"
    config.write_text(f"[DEFAULT]\nstate_path = {tmp_path}\n[api]\nlisten = 0.0.0.0\nport = 0\n")
    result = subprocess.run(
        [*console_script("nova-common"), "api", "--config-file", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "without an auth token" in result.stderr
