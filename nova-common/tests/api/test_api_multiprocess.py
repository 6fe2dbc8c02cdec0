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


def test_api_sigterm_ends_within_its_graceful_timeout_with_requests_in_flight(tmp_path, rabbit_url):
    """No conductor answers, so each request would wait [conductor] api_timeout (30 s);
    SIGTERM ends the API process after [api] graceful_shutdown_timeout (2 s) all the same."""
    import re
    import signal
    import sys
    import threading
    import time
    import urllib.request

    config = tmp_path / "nova.conf"
    config.write_text(
        f"[DEFAULT]\ntransport_url = {rabbit_url}\ncontrol_exchange = nova-sigterm-{uuid.uuid4().hex[:8]}\n"
        "[api]\nlisten = 127.0.0.1\nport = 0\ngraceful_shutdown_timeout = 2\n"
        f"[conductor]\ntopic = nobody-{uuid.uuid4().hex[:8]}\napi_timeout = 30\n"
    )
    os.chmod(config, 0o600)
    script = os.path.join(os.path.dirname(sys.executable), "nova-common")
    api = subprocess.Popen(
        [script, "api", "--config-file", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        endpoint = None
        for line in api.stdout:
            match = re.search(r"compute API at (\S+)", line)
            if match:
                endpoint = match.group(1)
                break
        assert endpoint, "the API printed no endpoint"
        threading.Thread(target=lambda: [None for _ in api.stdout], daemon=True).start()
        outcomes = []

        def request():
            try:
                urllib.request.urlopen(endpoint + "/servers", timeout=60).read()
                outcomes.append("answered")
            except Exception as error:  # the connection closes when the API exits
                outcomes.append(type(error).__name__)

        clients = [threading.Thread(target=request) for _ in range(3)]
        for client in clients:
            client.start()
        time.sleep(1.5)  # the three wait on a conductor that is not there
        started = time.monotonic()
        api.send_signal(signal.SIGTERM)
        status = api.wait(30)
        took = time.monotonic() - started
        for client in clients:
            client.join(30)
        assert status == 0
        assert took < 2 + 3, f"exited after {took:.1f} s"
        assert len(outcomes) == 3 and "answered" not in outcomes, outcomes
    finally:
        if api.poll() is None:
            api.kill()
