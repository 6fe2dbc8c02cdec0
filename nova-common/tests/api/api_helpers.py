"""Helpers of the API tests: an all-in-one in this process, a tiny HTTP client,
and a ``nova-common serve`` subprocess."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from typing import Any

from nova_common.cmd.serve import AllInOne, DriverSpec

IMAGE = "155d900f-4e14-4e4c-a73d-069cbf4541e6"  # "cirros", seeded by the first migration
FLAVOR = "1"  # m1.tiny


FAKE3 = (DriverSpec("fake", 3),)


def start_cloud(state_dir: str, drivers=FAKE3, **kwargs: Any) -> AllInOne:
    aio = AllInOne(
        state_dir,
        drivers=drivers,
        port=0,
        heartbeat_interval=0.2,
        host_prefix=f"t{uuid.uuid4().hex[:6]}-",
        conf_overrides={
            "control_exchange": f"nova-api-test-{uuid.uuid4().hex[:8]}",
            # A topic of its own: queues are named by topic, so two clouds on one broker
            # would otherwise share the conductor's queue.
            "conductor.topic": f"conductor-{uuid.uuid4().hex[:8]}",
            "conductor.sync_power_state_interval": 0,
            "scheduler.host_state_ttl": 0.1,
        },
        **kwargs,
    )
    aio.start(wait_for_hosts=30)
    return aio


class HTTP:
    """``status, body, headers = http.get("/servers")``; paths are under the endpoint."""

    def __init__(self, endpoint: str, token: str | None = None) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.root = self.endpoint.rsplit("/v2.1", 1)[0]
        self.token = token

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
    ) -> tuple[int, Any, Any]:
        url = path if path.startswith("http") else self.endpoint + path
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        request = urllib.request.Request(url, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("X-Auth-Token", self.token)
        for key, value in (headers or {}).items():
            request.add_header(key, value)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, text, got = response.status, response.read(), response.headers
        except urllib.error.HTTPError as error:
            status, text, got = error.code, error.read(), error.headers
        return status, (json.loads(text) if text else None), got

    def get(self, path: str, **kw: Any):
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any):
        return self.request("POST", path, body, **kw)

    def delete(self, path: str, **kw: Any):
        return self.request("DELETE", path, **kw)

    # -- servers ----------------------------------------------------------------

    def create(self, name: str = "vm", flavor: str = FLAVOR, image: str = IMAGE, **extra: Any) -> str:
        status, body, _ = self.post(
            "/servers", {"server": {"name": name, "flavorRef": flavor, "imageRef": image, **extra}}
        )
        assert status == 202, body
        return body["server"]["id"]

    def server(self, server_id: str) -> dict[str, Any]:
        status, body, _ = self.get(f"/servers/{server_id}")
        assert status == 200, body
        return body["server"]

    def wait(self, server_id: str, status: str, timeout: float = 20.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            server = self.server(server_id)
            if server["status"] == status and server["OS-EXT-STS:task_state"] is None:
                return server
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"server {server_id} is {server['status']}/{server['OS-EXT-STS:task_state']}, "
                    f"not {status}"
                )
            time.sleep(0.02)

    def wait_gone(self, server_id: str, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while self.get(f"/servers/{server_id}")[0] != 404:
            if time.monotonic() > deadline:
                raise AssertionError(f"server {server_id} still there")
            time.sleep(0.02)


def console_script(name: str) -> list[str]:
    path = os.path.join(os.path.dirname(sys.executable), name)
    if os.path.exists(path):
        return [path]
    return [
        sys.executable,
        "-c",
        "import sys; from nova_common.cmd.manage import main; sys.argv[0] = 'nova-common'; main()",
    ]


class ServeProcess:
    """``nova-common serve --port 0`` as a subprocess; ``endpoint`` once it printed it."""

    def __init__(self, state_dir: str, *args: str, timeout: float = 60.0) -> None:
        self.state_dir = state_dir
        self.log_path = os.path.join(state_dir, "serve.out")
        os.makedirs(state_dir, exist_ok=True)
        self.log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [
                *console_script("nova-common"),
                "serve",
                "--port",
                "0",
                "--state-dir",
                state_dir,
                "--heartbeat-interval",
                "0.5",
                *args,
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        self.endpoint = None
        while time.monotonic() < deadline:
            text = open(self.log_path).read()
            match = re.search(r"compute API at (http://\S+/v2\.1)", text)
            if match:
                self.endpoint = match.group(1)
                self.output = text
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        self.stop()
        raise AssertionError("nova-common serve did not start:\n" + open(self.log_path).read())

    def stop(self, timeout: float = 30.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        return self.process.returncode
