"""The fault suite's deployment and its bookkeeping (``tox -e faults``).

:class:`TreeDeployment` is the upgrade harness's :class:`~nova_tools.upgrade.Deployment`
running the code installed in this environment (the working tree under test)
instead of recorded releases: ``nova-common conductor``, ``nova-common api`` and
``nova-compute-fake`` processes over a broker of the suite's own
(:mod:`nova_tools.private_broker`) and a SQLite file of its own. The fake hosts
keep their instances in ``[fake] state_file``, which is also how the suite reads
what each hypervisor really runs.

:class:`Tally` counts what every injected fault led to; :func:`write_table`
renders the table (tools/bench/results/faults.md).
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
import re
import sys
import time
import urllib.error
import urllib.request
import uuid
from typing import Any

from nova_tools.release_envs import script
from nova_tools.release_records import Record
from nova_tools.upgrade import Deployment, ServiceProcess


def tree_record(distribution: str, drivers: tuple[str, ...] = ()) -> Record:
    """A stand-in record for what this environment has installed (not a release)."""
    return Record(
        data={
            "distribution": distribution,
            "version": "tree",
            "package": "",
            "source_commit": "0" * 40,
            "source_date_epoch": 0,
            "drivers": list(drivers),
            "virt_api": {"min": "1.0", "max": "1.1"},
            "artifacts": {},
        },
        path="",
    )


class _ThisEnvironment:
    """Stands in for ReleaseEnvs: every "virtualenv" is the one running the suite."""

    def env(self, records: list[Record], extras: dict[str, str] | None = None) -> pathlib.Path:
        return pathlib.Path(sys.prefix)


class TreeDeployment(Deployment):
    """A deployment of the installed tree; ``service_down_time`` and the power-sync
    interval short, so faults are detected in seconds."""

    def __init__(
        self,
        workdir: pathlib.Path,
        transport_url: str,
        service_down_time: float = 3.0,
        conductors: int = 1,
        database_url: str | None = None,
        core_extra_config: str = "",
    ) -> None:
        self.core_record = tree_record("nova-common")
        self.fake_record = tree_record("nova-driver-fake", ("fake",))
        super().__init__(
            _ThisEnvironment(),  # type: ignore[arg-type]
            [],
            self.core_record,
            workdir,
            transport_url,
            database_url=database_url,
        )
        self.service_down_time = service_down_time
        self.state_dir = self.workdir / "hypervisors"
        self.state_dir.mkdir(exist_ok=True)
        # Reconnects to a broker that is back come at most every second: the
        # 30 s default is sized for the default service_down_time of 60 s, and
        # would leave hosts down for tens of seconds at this one (3 s).
        reconnect = "[oslo_messaging_rabbit]\nrabbit_interval_max = 1\n"
        self.reconnect_config = reconnect
        self.compute_config = f"[fake]\nstate_file = {self.state_dir}/${{host}}.json\n"
        self.core_extra_config = (
            f"[conductor]\nservice_down_time = {service_down_time}\napi_timeout = 20\n"
            f"graceful_shutdown_timeout = 5\n{reconnect}{core_extra_config}"
        )
        #: Each conductor's ``[conductor] server``; the first is also ``self.conductor``.
        self.conductor_names = (
            ["conductor-tree"] if conductors == 1 else [f"conductor-{i}" for i in range(conductors)]
        )
        self.conductors: dict[str, ServiceProcess] = {}
        self.apis: list[ServiceProcess] = []

    # -- the core: any number of conductors and API processes ---------------------------------

    def start_core(self) -> None:
        self.core_env = pathlib.Path(sys.prefix)
        self.db_sync()
        for name in self.conductor_names:
            self.start_conductor(name)
        self.add_api()
        self.api = self.apis[0]
        self.endpoint = self.endpoints[0]

    def add_api(self) -> str:
        """One more API process on the same conductors; its endpoint."""
        index = len(self.apis)
        api = ServiceProcess(
            f"api-{index}",
            [self._nova_common(), "api", "--config-file", str(self.core_config())],
            self.workdir / f"api-{index}.log",
            "compute API at",
        ).start()
        self.apis.append(api)
        return self.endpoints[-1]

    @property
    def endpoints(self) -> list[str]:
        found = []
        for api in self.apis:
            match = re.search(r"compute API at (\S+)", api.tail(200))
            if not match:
                raise AssertionError(f"{api.name} printed no endpoint:\n{api.tail()}")
            found.append(match.group(1))
        return found

    def _nova_common(self) -> str:
        return str(script(pathlib.Path(sys.prefix), "nova-common"))

    def start_conductor(self, name: str | None = None) -> ServiceProcess:
        name = name or self.conductor_names[0]
        own = self.workdir / f"{name}.conf"
        own.write_text(f"[conductor]\nserver = {name}\n")
        process = ServiceProcess(
            name,
            [
                self._nova_common(),
                "conductor",
                "--config-file",
                str(self.core_config()),
                "--config-file",
                str(own),
            ],
            self.workdir / f"{name}.log",
            "nova-common conductor: serving",
        ).start()
        self.conductors[name] = process
        if name == self.conductor_names[0]:
            self.conductor = process
        return process

    def stop_core(self) -> None:
        for api in self.apis:
            api.stop()
        for process in self.conductors.values():
            process.stop()
        self.apis, self.conductors, self.api, self.conductor = [], {}, None, None

    def stop(self) -> None:
        for host in list(self.computes):
            self.computes.pop(host).process.stop()
        self.stop_core()

    def conductor_log(self, name: str) -> str:
        return (self.workdir / f"{name}.log").read_text()

    def add_fake(self, host: str | None = None, extra: str = "") -> Any:
        saved = self.compute_config
        # ``extra`` may go on in [fake] (spawn_latency = ...): the reconnect section last.
        self.compute_config = saved + extra + self.reconnect_config
        try:
            return self.add_compute(self.fake_record, host=host, scaffold=self.core_record)
        finally:
            self.compute_config = saved

    def start_fakes(self, count: int, extra: str = "") -> None:
        """``count`` fake compute services, waited for until all are up."""
        for _ in range(count):
            self.add_fake(extra=extra)
        up = self.wait_for_hosts(count)
        if len(up) != count:
            raise AssertionError(f"{len(up)} of {count} compute services came up")

    def audit(self, tally: Tally, accepted: set[str]) -> None:
        """After two power syncs, count into ``tally`` what the database and the
        hypervisors hold: accepted creates that are gone (lost), servers beyond one
        per name (duplicated), instances a hypervisor runs that the core does not
        place there (orphaned)."""
        self.settle()
        status, listing = self.http("GET", "/servers/detail")
        if status != 200:
            raise AssertionError(f"GET /servers/detail: {status} {listing}")
        servers = {s["id"]: s for s in listing["servers"]}
        tally.lost += sum(1 for server_id in accepted if server_id not in servers)
        names = [s["name"] for s in servers.values()]
        tally.duplicated = sum(names.count(n) - 1 for n in set(names))
        for host, held in self.hypervisor_instances().items():
            for held_uuid in held:
                if held_uuid not in servers or servers[held_uuid].get("OS-EXT-SRV-ATTR:host") != host:
                    tally.orphaned += 1

    def kill_compute(self, host: str) -> None:
        """SIGKILL: no deregistration, nothing flushed; the host just stops."""
        compute = self.computes.pop(host)
        process = compute.process.process
        assert process is not None
        process.kill()
        process.wait()

    # -- what is true, read around the API ------------------------------------------------------

    def hypervisor_instances(self) -> dict[str, set[str]]:
        """host -> uuids its fake hypervisor holds (its state file)."""
        held = {}
        for path in self.state_dir.glob("*.json"):
            try:
                held[path.stem] = set(json.loads(path.read_text())["instances"])
            except (OSError, ValueError, KeyError):
                held[path.stem] = set()
        return held

    def http(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None):
        assert self.endpoint is not None
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.endpoint + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                text = response.read()
                return response.status, json.loads(text) if text else None
        except urllib.error.HTTPError as error:
            text = error.read()
            return error.code, json.loads(text) if text else None

    def kill_conductor(self, name: str | None = None) -> None:
        """SIGKILL a conductor: its in-flight builds and unanswered calls are left as they are."""
        name = name or self.conductor_names[0]
        process = self.conductors.pop(name)
        assert process.process is not None
        process.process.kill()
        process.process.wait()
        if process is self.conductor:
            self.conductor = None

    def restart_conductor(self, name: str | None = None) -> None:
        self.start_conductor(name)

    def post_server(self, name: str, request_id: str | None = None) -> tuple[int, Any, str]:
        """POST /servers with ``request_id`` (a new one when None): the same id makes a retry safe."""
        request_id = request_id or f"req-{uuid.uuid4()}"
        body = {
            "server": {"name": name, "flavorRef": "1", "imageRef": "155d900f-4e14-4e4c-a73d-069cbf4541e6"}
        }
        status, reply = self.http("POST", "/servers", body, {"X-OpenStack-Request-ID": request_id})
        return status, reply, request_id

    def server(self, server_id: str) -> dict[str, Any] | None:
        status, reply = self.http("GET", f"/servers/{server_id}")
        return reply["server"] if status == 200 else None

    def wait_server(self, server_id: str, until, timeout: float) -> dict[str, Any] | None:
        deadline = time.monotonic() + timeout
        while True:
            server = self.server(server_id)
            if until(server) or time.monotonic() > deadline:
                return server
            time.sleep(0.1)


@dataclasses.dataclass
class Tally:
    """What the injections of one fault led to."""

    fault: str
    injected: int = 0
    completed: int = 0  # ACTIVE in the end
    failed_cleanly: int = 0  # ERROR with a fault
    lost: int = 0  # accepted, then gone without a delete
    orphaned: int = 0  # on a hypervisor, unknown to the core, after two syncs
    duplicated: int = 0  # more servers than accepted creates
    stuck: int = 0  # still building after the deadline
    detect_s: list[float] = dataclasses.field(default_factory=list)
    recover_s: list[float] = dataclasses.field(default_factory=list)
    request_s: list[float] = dataclasses.field(default_factory=list)  # API requests during the fault

    def count_outcome(self, final: dict[str, Any] | None) -> None:
        """Count where an accepted create ended (``final``: its server, None when gone)."""
        if final is None:
            self.lost += 1
        elif final["status"] == "ACTIVE":
            self.completed += 1
        elif final["status"] == "ERROR" and final.get("fault"):
            self.failed_cleanly += 1
        else:
            self.stuck += 1

    @property
    def clean(self) -> bool:
        return not (self.lost or self.orphaned or self.duplicated or self.stuck)


def _worst(values: list[float]) -> str:
    return f"{max(values):.1f}" if values else "-"


def write_table(path: pathlib.Path, tallies: list[Tally], context: str) -> str:
    lines = [
        "# Fault suite",
        "",
        context,
        "",
        "| fault | injected | completed | failed cleanly | lost | orphaned | duplicated | stuck "
        "| time to detect, worst (s) | time to recover, worst (s) | longest API request (s) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for t in tallies:
        lines.append(
            f"| {t.fault} | {t.injected} | {t.completed} | {t.failed_cleanly} | {t.lost} | {t.orphaned} "
            f"| {t.duplicated} | {t.stuck} | {_worst(t.detect_s)} | {_worst(t.recover_s)} "
            f"| {_worst(t.request_s)} |"
        )
    text = "\n".join(lines) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return text
