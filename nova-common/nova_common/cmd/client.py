"""The REST API's command-line client (``nova-common server|flavor|image|service|hypervisor``).

Plain HTTP (urllib) against the compute API, so it needs nothing beyond the
standard library. ``--os-compute-url`` (env ``OS_COMPUTE_URL``, default
``http://127.0.0.1:8774/v2.1``), ``--os-token`` (env ``OS_TOKEN``).
Operations that move a server wait, printing progress to stderr, until it
leaves its task state; ``--no-wait`` returns at once.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from typing import Any

DEFAULT_URL = "http://127.0.0.1:8774/v2.1"

#: CLI action -> (API action body, status the server settles in).
ACTIONS: dict[str, tuple[dict[str, Any], str]] = {
    "reboot": ({"reboot": {"type": "SOFT"}}, "ACTIVE"),
    "stop": ({"os-stop": None}, "SHUTOFF"),
    "start": ({"os-start": None}, "ACTIVE"),
    "pause": ({"pause": None}, "PAUSED"),
    "unpause": ({"unpause": None}, "ACTIVE"),
    "suspend": ({"suspend": None}, "SUSPENDED"),
    "resume": ({"resume": None}, "ACTIVE"),
}


class APIError(Exception):
    """An error answer of the API (``status`` its HTTP code)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status


class ClientError(APIError):
    """What went wrong on this side: no connection, a wait that ended elsewhere."""

    def __init__(self, message: str) -> None:
        Exception.__init__(self, message)
        self.status = 0


class Ambiguous(APIError):
    """A name more than one resource has (reported as a 409 would be)."""

    def __init__(self, kind: str, ref: str, candidates: list[dict[str, Any]]) -> None:
        listed = ", ".join(f"{c['id']} ({c.get('status', '')})".replace(" ()", "") for c in candidates)
        super().__init__(409, f"{len(candidates)} {kind}s are named {ref!r}: {listed}; use an id")


class Client:
    def __init__(self, url: str, token: str | None = None, timeout: float = 60.0) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self._discovered = bool(re.search(r"/v2(\.\d+)?$", self.url))

    def discover(self) -> None:
        """A base URL without ``/v2.1``: ask it for its versions (as openstacksdk does)
        and use the current one's link."""
        if self._discovered:
            return
        self._discovered = True
        status, body = self._send("GET", self.url + "/", None)
        versions = (body or {}).get("versions") or ([body["version"]] if body and "version" in body else [])
        for version in versions:
            if version.get("status") == "CURRENT" and version["id"].startswith("v2"):
                self.url = next(link["href"] for link in version["links"] if link["rel"] == "self").rstrip(
                    "/"
                )
                return
        raise ClientError(f"no compute API v2.1 found at {self.url} (version discovery answered {status})")

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        self.discover()
        return self._send(method, self.url + path, body)

    def _send(self, method: str, url: str, body: Any) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, method=method)
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("X-Auth-Token", self.token)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                raw = response.read()
                return response.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as error:
            raw = error.read()
            try:
                fault = next(iter(json.loads(raw).values()))
                message = fault["message"]
            except (ValueError, StopIteration, KeyError, TypeError, AttributeError):
                message = raw.decode(errors="replace") or error.reason
            raise APIError(error.code, message) from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise ClientError(f"cannot reach the compute API at {self.url}: {reason}") from None

    def get(self, path: str) -> Any:
        return self.request("GET", path)[1]

    def find_server(self, ref: str) -> dict[str, Any]:
        try:
            return self.get(f"/servers/{ref}")["server"]
        except APIError as error:
            if error.status != 404:
                raise
        matches = [s for s in self.get("/servers/detail")["servers"] if s["name"] == ref]
        if not matches:
            raise APIError(404, f"no server with id or name {ref!r}")
        if len(matches) > 1:
            raise Ambiguous("server", ref, matches)
        return matches[0]

    def drivers(self) -> dict[str, dict[str, Any]]:
        """This system's driver data per host (``/os-compute-drivers``; not in Nova's bodies)."""
        try:
            return {d["host"]: d for d in self.get("/os-compute-drivers")["compute_drivers"]}
        except APIError as error:
            if error.status != 404:
                raise
            return {}  # a Nova cloud: there is no such resource


# -- output -------------------------------------------------------------------------


def _table(rows: list[dict[str, Any]], columns: Sequence[str]) -> str:
    cells = [[str(row.get(c, "")) if row.get(c) is not None else "" for c in columns] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    line = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    out = [line, "| " + " | ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)) + " |", line]
    out += ["| " + " | ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) + " |" for r in cells]
    out.append(line)
    return "\n".join(out)


def emit(args: argparse.Namespace, data: Any, columns: Sequence[str]) -> None:
    if args.format == "json":
        print(json.dumps(data, indent=2, sort_keys=True))
        return
    if isinstance(data, dict):
        rows = [
            {"Field": k, "Value": json.dumps(v) if isinstance(v, dict | list) else v} for k, v in data.items()
        ]
        print(_table(rows, ["Field", "Value"]))
    else:
        print(_table(data, columns))


# -- waiting ----------------------------------------------------------------------------


def wait_for(client: Client, server_id: str, want: str | None, timeout: float, deleted: bool = False) -> Any:
    """Poll until the server leaves its task state (and has ``want`` status), or is gone."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            server = client.get(f"/servers/{server_id}")["server"]
        except APIError as error:
            if deleted and error.status == 404:
                print(f"  {server_id}: deleted", file=sys.stderr, flush=True)
                return None
            raise
        state = (server["status"], server["OS-EXT-STS:task_state"])
        if state != last:
            print(
                f"  {server_id}: {state[0]}" + (f" ({state[1]})" if state[1] else ""),
                file=sys.stderr,
                flush=True,
            )
            last = state
        if not deleted and state[1] is None and state[0] not in ("BUILD", "REBOOT", "HARD_REBOOT"):
            if want and state[0] != want:
                fault = server.get("fault", {}).get("message", "")
                raise ClientError(f"server {server_id} is {state[0]}, expected {want}. {fault}".strip())
            return server
        if time.monotonic() > deadline:
            raise ClientError(f"timed out after {timeout}s waiting for {server_id} (now {state[0]})")
        time.sleep(0.2)


# -- commands ----------------------------------------------------------------------------

SERVER_COLUMNS = ["ID", "Name", "Status", "Task State", "Host", "Flavor", "Image"]


def _server_row(server: dict[str, Any]) -> dict[str, Any]:
    return {
        "ID": server["id"],
        "Name": server["name"],
        "Status": server["status"],
        "Task State": server["OS-EXT-STS:task_state"],
        "Host": server["OS-EXT-SRV-ATTR:host"],
        "Flavor": server["flavor"]["id"],
        "Image": server["image"]["id"],
    }


def server_command(client: Client, args: argparse.Namespace) -> int:
    action = args.action
    if action == "list":
        query = "&".join(f"{k}={getattr(args, k)}" for k in ("name", "status", "host") if getattr(args, k))
        servers = client.get("/servers/detail" + (f"?{query}" if query else ""))["servers"]
        emit(args, servers if args.format == "json" else [_server_row(s) for s in servers], SERVER_COLUMNS)
        return 0
    if action == "create":
        image = args.image
        if image is None:
            images = client.get("/images")["images"]
            image = next(
                (i["id"] for i in images if i["name"] == "cirros"), images[0]["id"] if images else None
            )
        body = {"server": {"name": args.name, "flavorRef": args.flavor, "imageRef": image}}
        if args.property:
            body["server"]["metadata"] = dict(p.split("=", 1) for p in args.property)
        _, created = client.request("POST", "/servers", body)
        server_id = created["server"]["id"]
        server = client.get(f"/servers/{server_id}")["server"]
        if not args.no_wait:
            server = wait_for(client, server_id, "ACTIVE", args.timeout)
        emit(args, server, [])
        return 0
    server = client.find_server(args.server)
    if action == "show":
        emit(args, server, [])
        return 0
    if action == "delete":
        client.request("DELETE", f"/servers/{server['id']}")
        if not args.no_wait:
            wait_for(client, server["id"], None, args.timeout, deleted=True)
        return 0
    body, want = ACTIONS[action]
    if action == "reboot" and args.hard:
        body = {"reboot": {"type": "HARD"}}
    client.request("POST", f"/servers/{server['id']}/action", body)
    if args.no_wait:
        return 0
    # The action is accepted before the task state is set only in theory (the core sets
    # it when accepting), so one poll sees the transition or its end.
    emit(args, wait_for(client, server["id"], want, args.timeout), [])
    return 0


def flavor_command(client: Client, args: argparse.Namespace) -> int:
    columns = ["ID", "Name", "RAM", "Disk", "Ephemeral", "VCPUs"]

    def row(f: dict[str, Any]) -> dict[str, Any]:
        return {
            "ID": f["id"],
            "Name": f["name"],
            "RAM": f["ram"],
            "Disk": f["disk"],
            "Ephemeral": f["OS-FLV-EXT-DATA:ephemeral"],
            "VCPUs": f["vcpus"],
        }

    if args.action == "list":
        flavors = client.get("/flavors/detail")["flavors"]
        emit(args, flavors if args.format == "json" else [row(f) for f in flavors], columns)
        return 0
    body = {"flavor": {"name": args.name, "ram": args.ram, "vcpus": args.vcpus, "disk": args.disk}}
    if args.id:
        body["flavor"]["id"] = args.id
    flavor = client.request("POST", "/flavors", body)[1]["flavor"]
    emit(args, flavor, [])
    return 0


def image_command(client: Client, args: argparse.Namespace) -> int:
    images = client.get("/images/detail")["images"]
    rows = [{"ID": i["id"], "Name": i["name"], "Status": i["status"]} for i in images]
    emit(args, images if args.format == "json" else rows, ["ID", "Name", "Status"])
    return 0


def service_command(client: Client, args: argparse.Namespace) -> int:
    services = client.get("/os-services")["services"]
    drivers = client.drivers()
    for service in services:
        service.update({k: v for k, v in drivers.get(service["host"], {}).items() if k != "host"})
    columns = ["ID", "Binary", "Host", "Status", "State", "Updated At", "Driver", "Driver Version"]
    rows = [
        {
            "ID": s["id"],
            "Binary": s["binary"],
            "Host": s["host"],
            "Status": s["status"],
            "State": s["state"],
            "Updated At": s["updated_at"],
            "Driver": s.get("driver_name"),
            "Driver Version": s.get("driver_version"),
        }
        for s in services
    ]
    emit(args, services if args.format == "json" else rows, columns)
    return 0


def hypervisor_command(client: Client, args: argparse.Namespace) -> int:
    drivers = client.drivers()

    def with_driver(hypervisor: dict[str, Any]) -> dict[str, Any]:
        driver = drivers.get(hypervisor["service"]["host"], {})
        return {**hypervisor, **{k: v for k, v in driver.items() if k not in ("host", "hypervisor_id")}}

    if args.action == "show":
        ref = urllib.parse.quote(args.hypervisor, safe="")
        emit(args, with_driver(client.get(f"/os-hypervisors/{ref}")["hypervisor"]), [])
        return 0
    hypervisors = [with_driver(h) for h in client.get("/os-hypervisors/detail")["hypervisors"]]
    columns = ["ID", "Hypervisor Hostname", "Hypervisor Type", "State", "Status", "Driver", "VMs"]
    rows = [
        {
            "ID": h["id"],
            "Hypervisor Hostname": h["hypervisor_hostname"],
            "Hypervisor Type": h["hypervisor_type"],
            "State": h["state"],
            "Status": h["status"],
            "Driver": f"{h.get('driver_name')} {h.get('driver_version')}",
            "VMs": h["running_vms"],
        }
        for h in hypervisors
    ]
    emit(args, hypervisors if args.format == "json" else rows, columns)
    return 0


def build_parser() -> argparse.ArgumentParser:
    # Global options are accepted before or after the subcommands; the
    # subcommands' copies default to SUPPRESS so they do not overwrite a value
    # given earlier.
    top = argparse.ArgumentParser(add_help=False)
    common = argparse.ArgumentParser(add_help=False)
    for target, suppress in ((top, False), (common, True)):

        def default(value: Any, suppress: bool = suppress) -> Any:
            return argparse.SUPPRESS if suppress else value

        target.add_argument(
            "--os-compute-url",
            default=default(os.environ.get("OS_COMPUTE_URL", DEFAULT_URL)),
            help=f"compute API endpoint (env OS_COMPUTE_URL; default {DEFAULT_URL})",
        )
        target.add_argument("--os-token", default=default(os.environ.get("OS_TOKEN")), help="env OS_TOKEN")
        target.add_argument("--format", "-f", choices=["table", "json"], default=default("table"))
    parser = argparse.ArgumentParser(
        prog="nova-common",
        parents=[top],
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="resource", required=True)

    def wait_opts(p: argparse.ArgumentParser) -> None:
        p.add_argument("--no-wait", action="store_true", help="return once the API accepted the request")
        p.add_argument("--timeout", type=float, default=300.0, help="seconds to wait (default 300)")

    server = sub.add_parser("server", parents=[common]).add_subparsers(dest="action", required=True)
    p = server.add_parser("list", parents=[common])
    p.add_argument("--name")
    p.add_argument("--status")
    p.add_argument("--host")
    p = server.add_parser("create", parents=[common])
    p.add_argument("name")
    p.add_argument("--flavor", required=True)
    p.add_argument("--image", help="default: the 'cirros' image")
    p.add_argument("--property", action="append", help="KEY=VALUE metadata (repeatable)")
    wait_opts(p)
    for name in ("show", "delete", *ACTIONS):
        p = server.add_parser(name, parents=[common])
        p.add_argument("server", help="id or name")
        if name != "show":
            wait_opts(p)
        if name == "reboot":
            p.add_argument("--hard", action="store_true")

    flavor = sub.add_parser("flavor", parents=[common]).add_subparsers(dest="action", required=True)
    flavor.add_parser("list", parents=[common])
    p = flavor.add_parser("create", parents=[common])
    p.add_argument("name")
    p.add_argument("--ram", type=int, required=True, help="MiB")
    p.add_argument("--vcpus", type=int, required=True)
    p.add_argument("--disk", type=int, default=0, help="GiB")
    p.add_argument("--id")

    image = sub.add_parser("image", parents=[common]).add_subparsers(dest="action", required=True)
    image.add_parser("list", parents=[common])
    service = sub.add_parser("service", parents=[common]).add_subparsers(dest="action", required=True)
    service.add_parser("list", parents=[common])
    hypervisor = sub.add_parser("hypervisor", parents=[common]).add_subparsers(dest="action", required=True)
    hypervisor.add_parser("list", parents=[common])
    p = hypervisor.add_parser("show", parents=[common])
    p.add_argument("hypervisor", help="id or host")
    return parser


COMMANDS = {
    "server": server_command,
    "flavor": flavor_command,
    "image": image_command,
    "service": service_command,
    "hypervisor": hypervisor_command,
}


def run(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(list(argv))
    client = Client(args.os_compute_url, args.os_token)
    try:
        return COMMANDS[args.resource](client, args)
    except APIError as error:
        print(f"nova-common: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # e.g. piped into head
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
