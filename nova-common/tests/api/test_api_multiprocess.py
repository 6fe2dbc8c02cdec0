"""``nova-common serve --transport-url rabbit://... --database-connection postgresql://...``:
the API and conductor in one process, each compute service in its own."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import uuid

import pytest
from api_helpers import HTTP, ServeProcess

RABBIT_URL = os.environ.get("RABBIT_URL", "rabbit://guest:guest@127.0.0.1:5672/")


def _reachable(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture
def pg_url():
    psycopg2 = pytest.importorskip("psycopg2")
    if not _reachable(5432):
        pytest.skip("backend missing: PostgreSQL is not reachable at 127.0.0.1:5432")
    name = "nova_api_" + uuid.uuid4().hex[:10]
    admin = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    # No driver suffix: SQLAlchemy 2.1 maps plain postgresql:// to psycopg (3), in the core extra.
    yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    with admin.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
    admin.close()


@pytest.fixture
def rabbit_url():
    """A vhost of our own: queue names (topic "conductor") are global per vhost, so on
    a broker shared with other test runs their conductors would take our messages."""
    if not _reachable(5672):
        pytest.skip("backend missing: RabbitMQ is not reachable at 127.0.0.1:5672")
    if not shutil.which("rabbitmqctl") or RABBIT_URL.rstrip("/").count("/") > 2:
        yield RABBIT_URL
        return
    vhost = "nova-api-" + uuid.uuid4().hex[:8]
    ctl = ["rabbitmqctl", "-q"]
    created = subprocess.run([*ctl, "add_vhost", vhost], capture_output=True, timeout=60).returncode == 0
    if not created:
        yield RABBIT_URL
        return
    subprocess.run([*ctl, "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"], check=True, timeout=60)
    yield RABBIT_URL.rstrip("/") + "/" + vhost
    subprocess.run([*ctl, "delete_vhost", vhost], capture_output=True, timeout=60)


def test_serve_over_rabbit_and_postgresql(tmp_path, pg_url, rabbit_url):
    serve = ServeProcess(
        str(tmp_path),
        "--transport-url",
        rabbit_url,
        "--database-connection",
        pg_url,
        "--driver",
        "fake=2",
        timeout=120,
    )
    try:
        # every compute service is a process of its own, a child of serve
        children = subprocess.run(
            ["pgrep", "-P", str(serve.process.pid), "-f", "nova-compute"], capture_output=True, text=True
        ).stdout.split()
        assert len(children) == 2
        http = HTTP(serve.endpoint)
        hosts = sorted(s["host"] for s in http.get("/os-services")[1]["services"])
        assert hosts == ["fake-00", "fake-01"]
        server_id = http.create("over-rabbit")
        http.wait(server_id, "ACTIVE", timeout=60)
        assert http.post(f"/servers/{server_id}/action", {"os-stop": None})[0] == 202
        http.wait(server_id, "SHUTOFF", timeout=60)
        assert http.delete(f"/servers/{server_id}")[0] == 204
        http.wait_gone(server_id, timeout=60)
    finally:
        assert serve.stop() == 0, open(serve.log_path).read()
    # the compute services stopped with it
    assert all(not os.path.exists(f"/proc/{pid}") for pid in children)
