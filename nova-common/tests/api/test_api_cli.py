"""The ``nova-common`` console script drives a server through its lifecycle
against a running ``nova-common serve`` (both subprocesses)."""

from __future__ import annotations

import json
import os
import socket
import subprocess

import pytest
from api_helpers import ServeProcess, console_script

from nova_common.cmd import serve


@pytest.fixture(scope="module")
def serve_process(tmp_path_factory):
    process = ServeProcess(str(tmp_path_factory.mktemp("serve-cli")))
    yield process
    assert process.stop() == 0


@pytest.fixture(scope="module")
def cli(serve_process):
    def run(*args: str, check: bool = True, env_url: bool = False) -> subprocess.CompletedProcess:
        env = dict(os.environ)
        argv = [*console_script("nova-common")]
        if env_url:
            env["OS_COMPUTE_URL"] = serve_process.endpoint
        else:
            argv += ["--os-compute-url", serve_process.endpoint]
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
    assert result.returncode == 1
    assert "cannot reach the compute API at http://127.0.0.1:9/v2.1" in result.stderr
    assert "HTTP" not in result.stderr


def test_ambiguous_name_lists_the_candidates(cli):
    ids = [
        json.loads(cli("server", "create", "twin", "--flavor", "1", "--no-wait", "-f", "json").stdout)["id"]
        for _ in range(2)
    ]
    result = cli("server", "show", "twin", check=False)
    assert result.returncode == 1 and "HTTP 409" in result.stderr
    assert all(server_id in result.stderr for server_id in ids) and "use an id" in result.stderr
    for server_id in ids:
        cli("server", "delete", server_id)


def test_base_url_without_version_is_discovered(cli, serve_process):
    root = serve_process.endpoint.rsplit("/v2.1", 1)[0]
    result = cli("--os-compute-url", root, "flavor", "list", "-f", "json")
    assert "m1.tiny" in [f["name"] for f in json.loads(result.stdout)]


def test_hypervisor_show_by_listed_name_shows_the_driver(cli):
    listed = json.loads(cli("hypervisor", "list", "-f", "json").stdout)
    name = listed[0]["hypervisor_hostname"]
    shown = json.loads(cli("hypervisor", "show", name, "-f", "json").stdout)
    assert shown["id"] == listed[0]["id"]
    assert shown["driver_name"] == "fake" and shown["virt_api_version"] and "power" in shown["capabilities"]
    assert "fake " in cli("hypervisor", "list").stdout  # the Driver column: name and version


def test_serve_on_a_busy_port_names_it_and_starts_nothing(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [*console_script("nova-common"), "serve", "--port", str(port), "--state-dir", str(tmp_path)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert f"127.0.0.1:{port}" in result.stderr and "--port" in result.stderr, result.stderr
    assert not (tmp_path / "nova.sqlite").exists()  # nothing started: not even the database


def test_config_file_before_the_subcommand(tmp_path):
    config = tmp_path / "nova.conf"
    config.write_text(f"[DEFAULT]\nstate_path = {tmp_path}/state\n")
    for argv in (["--config-file", str(config), "db", "sync"], [f"--config-file={config}", "db", "version"]):
        result = subprocess.run(
            [*console_script("nova-common"), *argv], capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, result.stderr
    assert (tmp_path / "state" / "nova.sqlite").exists()


def test_default_state_dir_is_ignored_by_git(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = serve.make_state_dir(serve.DEFAULT_STATE_DIR, default=True)
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"], capture_output=True, text=True
    )
    assert os.path.isdir(path) and status.stdout == ""
    assert not os.path.exists(serve.make_state_dir(str(tmp_path / "mine"), default=False) + "/.gitignore")


def test_serve_without_the_api_extra_names_it(monkeypatch, capsys):
    monkeypatch.setattr(serve, "API_EXTRA_MODULES", ("no_such_module_of_the_api_extra",))
    assert serve.serve_command(["--state-dir", "unused"]) == 2
    assert "pip install 'nova-common[api]'" in capsys.readouterr().err


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
