#!/usr/bin/env python3
"""Benchmark of the compute core (issue 5): the conductor with many fake compute services.

For each size (100 and 1,000 fake compute services, threads in this process)
over kombu+memory with SQLite:

* idle: the process's CPU over a window with only the compute services running
  (heartbeats and resource reports go nowhere), then with the conductor
  serving them; the difference is the conductor's idle cost, in % of one core;
* per message: the conductor's CPU per heartbeat and per resource report,
  from the idle window (messages counted by the conductor);
* boots/s: creates accepted from 16 client threads and completed (ACTIVE).

Over RabbitMQ (``--rabbit``): the same with the compute services as threads in
a few worker processes and the conductor as its own ``nova-common conductor``
process, whose CPU is read from /proc.

Writes tools/bench/results/core.md and core.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid

from nova_common import messaging

messaging.init_process()  # before anything imports oslo.messaging

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "nova-common", "tests", "core"))

from core_helpers import (  # noqa: E402
    compute_conf,
    conductor_conf,
    postgres_available,
    postgres_database,
    stop_all,
    wait_for,
)
from nova_common.compute.api import ComputeAPI  # noqa: E402
from nova_common.conductor.rpcapi import get_core_transport  # noqa: E402
from nova_common.conductor.service import ConductorService, conductor_publishers  # noqa: E402
from nova_common.db.api import Database  # noqa: E402
from nova_common.db.migration import db_sync  # noqa: E402
from nova_common.messaging.transport import reserve_connections  # noqa: E402
from nova_common.scaffold.service import ComputeService  # noqa: E402
from nova_driver_fake import FakeDriver  # noqa: E402

RESULTS = os.path.join(HERE, "results")
MEMORY_URL = "kombu+memory:////"
RABBIT_URL = os.environ.get("RABBIT_URL", "rabbit://guest:guest@127.0.0.1:5672/")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu() -> float:
    t = os.times()
    return t.user + t.system


def system_cpu() -> float:
    """Kernel CPU seconds of this process: mostly thread wakeups and hand-offs."""
    return os.times().system


def proc_cpu(pid: int) -> float:
    """User + system CPU seconds of another process, from /proc."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def wait_line(proc: subprocess.Popen, prefix: str) -> None:
    """Read the process's output (log lines too) until a line starts with ``prefix``."""
    for line in proc.stdout:
        if line.startswith(prefix):
            threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()  # keep draining
            return
    raise RuntimeError(f"{proc.args[:3]} exited before printing {prefix!r}")


@contextlib.contextmanager
def bench_database(kind: str, tmp: str, tag: str):
    """The URL of a new database of ``kind``: a SQLite file, or a PostgreSQL
    database at 127.0.0.1:5432 dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp}/bench-{tag}.sqlite"
    else:
        with postgres_database(f"bench_core_{tag}") as url:
            yield url


def _rabbitmqctl(*args: str) -> bool:
    try:
        return subprocess.run(["rabbitmqctl", "-q", *args], capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@contextlib.contextmanager
def bench_vhost(tag: str):
    """RABBIT_URL on a virtual host of this run's own, deleted afterwards with
    everything in it. oslo.messaging's topic queues outlive their consumers:
    each 1,000-service run left ~2,000 queues behind (38,000 and 1.8 GB of
    broker memory after a day's runs), and the same code measured 84 boots/s
    there against 94-101 once they were gone. Without rabbitmqctl (a remote
    broker) RABBIT_URL as is."""
    vhost = f"bench-{tag}"
    user = urllib.parse.urlsplit(RABBIT_URL).username or "guest"
    if not (
        _rabbitmqctl("add_vhost", vhost)
        and _rabbitmqctl("set_permissions", "-p", vhost, user, ".*", ".*", ".*")
    ):
        print("rabbit: no rabbitmqctl here; queues of this run stay in the broker", flush=True)
        yield RABBIT_URL
        return
    try:
        yield urllib.parse.urlsplit(RABBIT_URL)._replace(path="/" + vhost).geturl()
    finally:
        _rabbitmqctl("delete_vhost", vhost)


def run_rabbit(
    hosts: int, boots: int, window: float, heartbeat: float, report: float, tmp: str, database: str
) -> dict:
    tag = uuid.uuid4().hex[:8]
    with bench_database(database, tmp, tag) as db_url, bench_vhost(tag) as rabbit_url:
        return _run_rabbit(hosts, boots, window, heartbeat, report, tmp, tag, db_url, rabbit_url) | {
            "database": database
        }


def _run_rabbit(
    hosts: int,
    boots: int,
    window: float,
    heartbeat: float,
    report: float,
    tmp: str,
    tag: str,
    db_url: str,
    rabbit_url: str,
    conductors: int = 1,
) -> dict:
    """``conductors`` ``nova-common conductor`` processes (active-active on one
    topic) and the compute services as threads of a few ``compute_fleet.py``
    processes, over RabbitMQ."""
    exchange = f"bench-{tag}"
    db = Database(db_url)
    db_sync(db.engine)
    procs_of_conductors = []
    for index in range(conductors):
        config = os.path.join(tmp, f"conductor-{tag}-{index}.conf")
        with open(config, "w") as out:
            out.write(
                f"[DEFAULT]\ntransport_url = {rabbit_url}\ncontrol_exchange = {exchange}\n"
                f"[database]\nconnection = {db_url}\n"
                f"[conductor]\nserver = bench-{tag}-{index}\ntopic = conductor-{tag}\n"
                f"service_down_time = {max(60.0, heartbeat * 6)}\n"
                "sync_power_state_interval = 0\nworkers = 64\n"
            )
        procs_of_conductors.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    "from nova_common.cmd.manage import main; main()",
                    "conductor",
                    "--config-file",
                    config,
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
        )
    for conductor in procs_of_conductors:
        wait_line(conductor, "nova-common conductor: serving")
    procs = max(1, min(8, hosts // 125))
    fleets = []
    for p in range(procs):
        count = hosts // procs + (1 if p < hosts % procs else 0)
        fleets.append(
            subprocess.Popen(
                [
                    sys.executable,
                    os.path.join(HERE, "compute_fleet.py"),
                    "--transport-url",
                    rabbit_url,
                    "--control-exchange",
                    exchange,
                    "--prefix",
                    f"r{tag}-{p}",
                    "--count",
                    str(count),
                    "--heartbeat-interval",
                    str(heartbeat),
                    "--resource-report-interval",
                    str(report),
                    "--conductor-topic",
                    f"conductor-{tag}",
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
        )
    try:
        return _measure_rabbit(
            hosts,
            boots,
            window,
            heartbeat,
            report,
            tag,
            exchange,
            db,
            procs_of_conductors,
            fleets,
            procs,
            rabbit_url,
        ) | {"conductors": conductors}
    finally:
        for proc in [*procs_of_conductors, *fleets]:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in [*procs_of_conductors, *fleets]:
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
        db.dispose()


def _measure_rabbit(
    hosts, boots, window, heartbeat, report, tag, exchange, db, conductors, fleets, procs, rabbit_url
) -> dict:
    """``conductors``: their processes (CPU summed over them)."""
    conductor = conductors[0]  # the one profiled
    for fleet in fleets:
        wait_line(fleet, "ready ")
    wait_for(lambda: len(db.list_services()) == hosts, timeout=300, interval=0.5)
    sockets = broker_sockets()  # before the windows: rabbitmqctl costs a second of CPU
    time.sleep(max(heartbeat, 2.0) + 1)

    def sample() -> tuple[float, float]:
        return sum(proc_cpu(c.pid) for c in conductors), sum(proc_cpu(f.pid) for f in fleets)

    profiler = _start_profiler(conductor.pid, f"idle-rabbit-{hosts}-{tag}")
    (cond0, fleet0), w0 = sample(), time.monotonic()
    time.sleep(window)
    (cond1, fleet1), elapsed = sample(), time.monotonic() - w0
    _stop_profiler(profiler)
    conductor_idle = (cond1 - cond0) / elapsed
    computes_idle = (fleet1 - fleet0) / elapsed

    conf = conductor_conf(control_exchange=exchange, **{"conductor.topic": f"conductor-{tag}"})
    transport = get_core_transport(conf, rabbit_url)
    api = ComputeAPI(conf, transport, timeout=120)
    accepted, lock = [], threading.Lock()
    names = iter(range(boots))
    profiler = _start_profiler(conductor.pid, f"boots-rabbit-{hosts}-{tag}")
    (cond0, fleet0), w0 = sample(), time.monotonic()

    def client():
        while True:
            with lock:
                i = next(names, None)
            if i is None:
                return
            vm = api.create(f"bench-{i}", flavor="m1.tiny", wait=False)
            with lock:
                accepted.append(vm)

    threads = [threading.Thread(target=client) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    accept_s = time.monotonic() - w0
    wait_for(lambda: db.count_instances().get("active", 0) == boots, timeout=600, interval=0.1)
    boot_s = time.monotonic() - w0
    cond1, fleet1 = sample()
    _stop_profiler(profiler)

    api.close()
    transport.cleanup()
    return {
        "transport": "rabbit",
        "database": None,  # filled in by the caller
        "hosts": hosts,
        "compute_processes": procs,
        "broker_sockets": sockets,
        "heartbeat_interval_s": heartbeat,
        "resource_report_interval_s": report,
        "idle_cpu_computes_only_pct": round(computes_idle * 100, 1),
        "idle_cpu_with_conductor_pct": round((computes_idle + conductor_idle) * 100, 1),
        "conductor_idle_cpu_pct": round(conductor_idle * 100, 1),
        "heartbeats_per_s": round(hosts / heartbeat, 1),
        "reports_per_s": round(hosts / report, 1),
        "conductor_cpu_per_message_us_rpc": round(
            conductor_idle / max(1e-9, hosts / heartbeat + hosts / report) * 1e6, 1
        ),
        "conductor_cpu_per_heartbeat_us_direct": None,
        "conductor_cpu_per_report_us_direct": None,
        "boots": boots,
        "boots_per_s": round(boots / boot_s, 1),
        "creates_accepted_per_s": round(boots / accept_s, 1),
        "process_cpu_per_boot_ms": round(((cond1 - cond0) + (fleet1 - fleet0)) / boots * 1000, 2),
        "conductor_cpu_per_boot_ms": round((cond1 - cond0) / boots * 1000, 2),
    }


def _broker_status() -> tuple[int, int] | None:
    """(sockets open, socket limit) of the local broker, from ``rabbitmqctl status``."""
    try:
        status = subprocess.run(["rabbitmqctl", "status"], capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r"Sockets: (\d+), limit: (\d+)", status)
    return None if match is None else (int(match.group(1)), int(match.group(2)))


def broker_sockets() -> int | None:
    status = _broker_status()
    return None if status is None else status[0]


def rabbit_host_limit() -> int:
    """Compute services the local broker can take: its socket limit less room
    for the fleets' pooled connections and everyone else (broker_sockets in
    core.md: what a run used); 500 when the limit cannot be read."""
    status = _broker_status()
    if status is None:
        print("rabbit: broker socket limit unknown; capping at 500 compute services", flush=True)
        return 500
    limit = max(100, (status[1] - 400) // 100 * 100)
    print(f"rabbit: broker allows {status[1]} sockets: up to {limit} compute services", flush=True)
    return limit


PROFILE_DIR: str | None = None


def _start_profiler(pid: int, tag: str) -> subprocess.Popen | None:
    """py-spy (--profile-dir) on the conductor over RabbitMQ (idle and boot
    windows) or on this process in memory (boot window): collapsed stacks of
    the thread holding the GIL, one line per stack with its sample count."""
    if PROFILE_DIR is None:
        return None
    os.makedirs(PROFILE_DIR, exist_ok=True)
    out = os.path.join(PROFILE_DIR, f"{tag}.txt")
    proc = subprocess.Popen(
        ["py-spy", "record", "--pid", str(pid), "--format", "raw", "--rate", "250", "--gil", "--nonblocking"]
        + ["-o", out],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1.0)  # py-spy attaches before the window opens
    return proc


def _stop_profiler(proc: subprocess.Popen | None) -> None:
    if proc is not None:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)


def phase(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def run_size(
    hosts: int, boots: int, window: float, heartbeat: float, report: float, tmp: str, database: str
) -> dict:
    tag = uuid.uuid4().hex[:8]
    with bench_database(database, tmp, tag) as db_url:
        return _run_size(hosts, boots, window, heartbeat, report, tag, db_url) | {"database": database}


def _run_size(
    hosts: int, boots: int, window: float, heartbeat: float, report: float, tag: str, db_url: str
) -> dict:
    phase(f"kombu+memory, {hosts} hosts: starting the compute services")
    conf = conductor_conf(
        control_exchange=f"bench-{tag}",
        **{
            "conductor.server": f"bench-{tag}",
            "conductor.service_down_time": max(60.0, heartbeat * 6),
            "conductor.sync_power_state_interval": 0,
            "conductor.workers": 64,
        },
    )
    conf.set_override("executor_thread_pool_size", 64)
    # One process with the conductor in it, as `nova-common serve`: the patches measured for it.
    messaging.setup(conf, role="conductor")
    # One transport carries the conductor and every compute service of this
    # process: size its connection pool as `nova-common serve` does (with 200
    # for 1,000 services, oslo.messaging's pool convoyed and creates timed out).
    reserve_connections(conf, conductor_publishers(conf) + 4 * hosts)
    transport = get_core_transport(conf, MEMORY_URL)
    db = Database(db_url)
    db_sync(db.engine)
    computes = []
    for n in range(hosts):
        cconf = compute_conf(f"b{tag}-{n:04d}", vcpus=64, memory_mb=262144)
        cconf.set_override("control_exchange", conf.control_exchange)
        cconf.set_override("heartbeat_interval", heartbeat, group="compute")
        cconf.set_override("resource_report_interval", report, group="compute")
        service = ComputeService(cconf, FakeDriver(cconf), transport=transport)
        computes.append(service)
    # The computes-only window: a core that answers registrations and drops
    # everything else, so the services heartbeat and report as they do in
    # production, into nothing (a service heartbeats only once registered).
    null_core = null_core_server(transport, conf.conductor.topic)
    for service in computes:
        service.start()
    wait_for(lambda: all(service.registered for service in computes), timeout=300, interval=0.5)
    time.sleep(1)
    c0, w0 = cpu(), time.monotonic()
    time.sleep(window)
    computes_only = (cpu() - c0) / (time.monotonic() - w0)
    null_core.stop()
    null_core.wait()

    phase("idle window without a conductor done; starting the conductor")
    conductor = ConductorService(conf, transport, db, reconcile_on_start=False)
    conductor.start()
    # Ask every service to register with the conductor now listening, as a
    # conductor does for a host it does not know; each registers from its own ticker.
    for service in computes:
        service.request_registration()
    manager = conductor.manager
    wait_for(lambda: len(manager._services) == hosts, timeout=120)
    time.sleep(max(report, heartbeat) + 1)  # everyone reported once
    stats0 = dict(manager.stats)
    c0, w0 = cpu(), time.monotonic()
    time.sleep(window)
    elapsed = time.monotonic() - w0
    with_conductor = (cpu() - c0) / elapsed
    stats1 = dict(manager.stats)
    heartbeats = stats1["heartbeats"] - stats0["heartbeats"]
    reports = stats1["reports"] - stats0["reports"]
    conductor_idle = max(0.0, with_conductor - computes_only)

    # Direct per-message cost inside the conductor (no RPC): heartbeat, changed report.
    host = computes[0].host
    n = 2000
    t0 = time.thread_time()
    for i in range(n):
        manager.heartbeat(host, 10_000 + i)
    manager.flush_heartbeats()
    per_heartbeat_us = (time.thread_time() - t0) / n * 1e6
    resources = computes[0].driver.get_host_resources()
    t0 = time.thread_time()
    for i in range(200):
        resources.memory_mb_used = i
        manager.report_resources(host, resources)
    per_report_us = (time.thread_time() - t0) / 200 * 1e6

    api = ComputeAPI(conf, transport, timeout=120)
    accepted, lock = [], threading.Lock()
    names = iter(range(boots))
    phase(f"booting {boots} instances")
    profiler = _start_profiler(os.getpid(), f"boots-memory-{hosts}-{tag}")
    c0, s0, w0 = cpu(), system_cpu(), time.monotonic()

    def client():
        while True:
            with lock:
                i = next(names, None)
            if i is None:
                return
            vm = api.create(f"bench-{i}", flavor="m1.tiny", wait=False)
            with lock:
                accepted.append(vm)

    threads = [threading.Thread(target=client) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    accept_s = time.monotonic() - w0
    wait_for(lambda: db.count_instances().get("active", 0) == boots, timeout=600, interval=0.1)
    boot_s = time.monotonic() - w0
    boot_cpu, boot_system = cpu() - c0, system_cpu() - s0
    _stop_profiler(profiler)

    stop_all([*computes, conductor])
    db.dispose()
    transport.cleanup()
    return {
        "transport": "kombu+memory",
        "database": None,  # filled in by the caller
        "hosts": hosts,
        "heartbeat_interval_s": heartbeat,
        "resource_report_interval_s": report,
        "idle_cpu_computes_only_pct": round(computes_only * 100, 1),
        "idle_cpu_with_conductor_pct": round(with_conductor * 100, 1),
        "conductor_idle_cpu_pct": round(conductor_idle * 100, 1),
        "heartbeats_per_s": round(heartbeats / elapsed, 1),
        "reports_per_s": round(reports / elapsed, 1),
        "conductor_cpu_per_message_us_rpc": round(
            conductor_idle / max(1, (heartbeats + reports) / elapsed) * 1e6, 1
        ),
        "conductor_cpu_per_heartbeat_us_direct": round(per_heartbeat_us, 1),
        "conductor_cpu_per_report_us_direct": round(per_report_us, 1),
        "boots": boots,
        "boots_per_s": round(boots / boot_s, 1),
        "creates_accepted_per_s": round(boots / accept_s, 1),
        "process_cpu_per_boot_ms": round(boot_cpu / boots * 1000, 2),
        "process_system_cpu_per_boot_ms": round(boot_system / boots * 1000, 2),
    }


def _keep_notes(path: str) -> str:
    """The hand-written "Reading it" section of an earlier results file, kept across runs."""
    try:
        text = open(path).read()
    except OSError:
        return ""
    index = text.find("\n## Reading it")
    return text[index:] if index >= 0 else ""


class NullCore:
    """Answers compute-report registrations and drops every other report."""

    def register(self, host, driver_info, heartbeat_interval, report_interval):
        from nova_common.virt import report_api

        return report_api.core_info("bench")

    def heartbeat(self, host, sequence):
        pass

    def report_resources(self, host, resources):
        pass

    def lifecycle_event(self, host, event):
        pass

    def deregister(self, host, reason):
        pass


def null_core_server(transport, topic: str):
    import oslo_messaging
    from nova_common.messaging.server import get_rpc_server
    from nova_common.virt import report_api

    endpoint = report_api.endpoint_class(
        "NullCoreEndpoint", report_api.COMPUTE_REPORT, report_api.REPORT_API_VERSION
    )
    server = get_rpc_server(
        transport, oslo_messaging.Target(topic=topic, server="null-core"), [endpoint(NullCore())]
    )
    server.start()
    return server


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--hosts", type=int, action="append")
    parser.add_argument(
        "--transport", choices=["memory", "rabbit"], action="append", help="default: both (quick: memory)"
    )
    parser.add_argument(
        "--max-rabbit-hosts",
        type=int,
        help="largest size run over RabbitMQ (default: what the local broker's socket limit allows, "
        "read with rabbitmqctl; 500 when it cannot be read). Each compute service holds its own "
        "connection: 1,000 services exhausted a broker started with 1,024 file descriptors and "
        "crashed it",
    )
    parser.add_argument(
        "--database",
        choices=["sqlite", "postgresql"],
        action="append",
        help="the conductor's database (default: sqlite; postgresql needs it at 127.0.0.1:5432)",
    )
    parser.add_argument("--boots", type=int, help="instances booted per size (default: max(500, hosts))")
    parser.add_argument(
        "--profile-dir",
        help="record with py-spy (the conductor's idle and boot windows over RabbitMQ, the whole "
        "process's boot window in memory) "
        "into this directory; the profiler takes CPU too, so rates from such a run are lower",
    )
    args = parser.parse_args()
    global PROFILE_DIR
    PROFILE_DIR = args.profile_dir
    sizes = args.hosts or ([50] if args.quick else [100, 1000])
    transports = args.transport or (["memory"] if args.quick else ["memory", "rabbit"])
    if args.max_rabbit_hosts is None and "rabbit" in transports:
        args.max_rabbit_hosts = rabbit_host_limit()
    databases = args.database or ["sqlite"]
    if "postgresql" in databases and not postgres_available():
        parser.error("--database postgresql: nothing answers at 127.0.0.1:5432 (or psycopg2 is missing)")
    import tempfile

    tmp = tempfile.mkdtemp(prefix="bench-core-")
    results = []
    for database in databases:
        for transport in transports:
            run = run_size if transport == "memory" else run_rabbit
            for hosts in sizes:
                if transport == "rabbit" and hosts > args.max_rabbit_hosts:
                    print(f"rabbit: {hosts} hosts capped at {args.max_rabbit_hosts}", flush=True)
                    hosts = args.max_rabbit_hosts
                boots = args.boots or (100 if args.quick else max(500, hosts))
                window = 5.0 if args.quick else 20.0
                result = run(hosts, boots, window, 10.0, 60.0, tmp, database)
                print(json.dumps(result), flush=True)
                results.append(result)
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, "core.json"), "w") as out:
        json.dump(results, out, indent=2)
    keys = list(dict.fromkeys(k for result in results for k in result))
    notes = _keep_notes(os.path.join(RESULTS, "core.md"))
    with open(os.path.join(RESULTS, "core.md"), "w") as out:
        out.write("# Compute core benchmark\n\n")
        out.write(
            f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}. See bench_core.py for method.\n\n"
        )
        out.write("| " + " | ".join(keys) + " |\n|" + "---|" * len(keys) + "\n")
        for result in results:
            out.write("| " + " | ".join(str(result.get(k, "")) for k in keys) + " |\n")
        out.write(notes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
