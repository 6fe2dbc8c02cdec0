"""Secrets stay secret: ``nova-common serve`` with RabbitMQ (compute services as
processes) never prints the transport password, never needs it on the command
line, and keeps it only in files readable by their owner."""

from __future__ import annotations

import os
import pathlib
import stat
import subprocess
import sys
import uuid

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from api_helpers import console_script  # noqa: E402
from common_test_helpers import RABBIT_URL, need_rabbit  # noqa: E402

from nova_common.redact import redact_url, write_private  # noqa: E402


def test_redact_url_masks_every_password_and_keeps_the_rest():
    assert redact_url("rabbit://nova:s3cret@h1:5672,nova:s3cret@h2:5672/vh?ssl=1") == (
        "rabbit://nova:***@h1:5672,nova:***@h2:5672/vh?ssl=1"
    )
    assert redact_url("kombu+memory:////") == "kombu+memory:////"
    assert redact_url("rabbit://nova@h1/") == "rabbit://nova@h1/"
    assert redact_url(None) is None


def test_write_private_narrows_an_existing_file(tmp_path):
    path = tmp_path / "x.conf"
    path.write_text("old")
    path.chmod(0o644)
    write_private(str(path), "new")
    assert path.read_text() == "new" and stat.S_IMODE(path.stat().st_mode) == 0o600


def test_serve_over_rabbitmq_keeps_the_password_out_of_output_and_readable_files(tmp_path):
    need_rabbit()
    password = RABBIT_URL.split("@")[0].rsplit(":", 1)[1]
    secret = f":{password}@"
    state = tmp_path / "state"
    env = {**os.environ, "NOVA_COMMON_TRANSPORT_URL": RABBIT_URL}
    command = [
        *console_script("nova-common"),
        "serve",
        "--smoke",
        "--port",
        "0",
        "--state-dir",
        str(state),
        "--driver",
        "fake=2",
        "--conductor-topic",
        f"conductor-secrets-{uuid.uuid4().hex[:8]}",
    ]
    assert not any(secret in part for part in command)  # the URL comes from the environment
    result = subprocess.run(command, capture_output=True, text=True, timeout=240, env=env)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "smoke test passed" in result.stdout
    assert secret not in output
    assert "guest:***@" in result.stdout  # the URL is still shown, masked
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    holding = []
    for path in state.rglob("*"):
        if not path.is_file():
            continue
        if secret in path.read_text(errors="replace"):
            holding.append(path.name)
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
            assert path.suffix == ".conf", f"{path.name} holds the password and is not a config file"
    assert holding, "the compute services' configs must carry the transport URL"
