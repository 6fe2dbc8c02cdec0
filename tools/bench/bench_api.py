#!/usr/bin/env python3
"""Benchmark of the compute REST API (issues 6 and 15), on the all-in-one with the fake driver.

In this process: ``nova-common serve``'s AllInOne (API on cheroot, 127.0.0.1,
the conductor, three fake compute services, kombu+memory, SQLite).

* list: ``GET /v2.1/servers/detail`` with 1,000 ACTIVE servers (quick: 200),
  requests/s from 1 and from 8 client threads (a new connection per request),
  the mean and p95 latency; once as served (the list cache of
  nova_common.api.server_list reusing unchanged rows and bodies) and, in the
  same run, on a second API server whose cache fetches and renders every row
  on every request (what a list cost before the cache): their ratio;
* where one uncached list request goes: the conductor RPC ``list_instances``
  (of which the database read), rendering, JSON encoding, each timed alone,
  and the stamps RPC a cached list makes instead;
* boot: create-to-ACTIVE latency through the API (``POST /servers``, then
  ``GET /servers/{id}`` every 5 ms until ACTIVE), p50/p95/max over 200 boots
  (quick: 40) from 4 client threads.

Writes tools/bench/results/api.md and api.json.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

from nova_common import messaging

messaging.init_process()  # before anything imports oslo.messaging

try:
    import jsonschema  # noqa: F401
    import sqlalchemy  # noqa: F401
    from nova_common.cmd.serve import AllInOne, DriverSpec
except ImportError as error:  # pragma: no cover
    print(f"bench_api: skipped, the api extra is not installed ({error})")
    sys.exit(0)

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results")
IMAGE = "155d900f-4e14-4e4c-a73d-069cbf4541e6"


class Client:
    def __init__(self, endpoint: str) -> None:
        url = urllib.parse.urlsplit(endpoint)
        self.host, self.port, self.prefix = url.hostname, url.port, url.path

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, bytes]:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
        try:
            data = None if body is None else json.dumps(body).encode()
            headers = {"Content-Type": "application/json"} if data else {}
            connection.request(method, self.prefix + path, body=data, headers=headers)
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


#: The previous results (tools/bench/results/api.md before issue 15): the stdlib
#: server, every row fetched over RPC and rendered per request.
BASELINE = {"detail_requests_per_s_1_threads": 7.8, "detail_requests_per_s_8_threads": 6.2}


def list_rate(client: Client, threads: int, window: float) -> dict:
    stop = time.monotonic() + window
    counts = [0] * threads
    latencies: list[float] = []
    lock = threading.Lock()

    def worker(index: int) -> None:
        mine = []
        while time.monotonic() < stop:
            start = time.perf_counter()
            status, body = client.call("GET", "/servers/detail")
            assert status == 200, status
            mine.append(time.perf_counter() - start)
            counts[index] += 1
        with lock:
            latencies.extend(mine)

    begin = time.monotonic()
    workers = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.monotonic() - begin
    return {
        "requests_per_s": round(sum(counts) / elapsed, 1),
        "mean_ms": round(statistics.mean(latencies) * 1000, 1),
        "p95_ms": round(percentile(latencies, 95) * 1000, 1),
    }


def boot_latencies(client: Client, boots: int, threads: int) -> list[float]:
    def one(index: int) -> float:
        start = time.perf_counter()
        status, body = client.call(
            "POST", "/servers", {"server": {"name": f"boot-{index}", "flavorRef": "1", "imageRef": IMAGE}}
        )
        assert status == 202, body
        server_id = json.loads(body)["server"]["id"]
        while True:
            status, body = client.call("GET", f"/servers/{server_id}")
            server = json.loads(body)["server"]
            if server["status"] == "ACTIVE" and server["OS-EXT-STS:task_state"] is None:
                return time.perf_counter() - start
            assert server["status"] == "BUILD", server["status"]
            time.sleep(0.005)

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(one, range(boots)))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    servers = 200 if args.quick else 1000
    boots = 40 if args.quick else 200
    window = 2.0 if args.quick else 10.0
    state = tempfile.mkdtemp(prefix="bench-api-")
    aio = AllInOne(
        state,
        drivers=[DriverSpec("fake", 3)],
        port=0,
        heartbeat_interval=1.0,
        conf_overrides={"conductor.sync_power_state_interval": 0},
        compute_overrides={"fake.vcpus": 2000},
    )
    aio.start(wait_for_hosts=60)
    load_before = os.getloadavg()[0]
    try:
        client = Client(aio.endpoint)
        # Boot latency first, on an empty cloud, then fill it for the list.
        latencies = boot_latencies(client, boots, threads=4)
        start = time.monotonic()
        accepted = []
        with ThreadPoolExecutor(16) as pool:
            accepted = list(
                pool.map(
                    lambda i: aio.compute_api.create(f"list-{i}", flavor="1", wait=False)["uuid"],
                    range(servers - boots),
                )
            )
        deadline = time.monotonic() + 300
        while aio.compute_api.count_by_state().get("active", 0) < servers:
            assert time.monotonic() < deadline, aio.compute_api.count_by_state()
            time.sleep(0.1)
        fill_s = time.monotonic() - start
        status, body = client.call("GET", "/servers/detail")
        assert status == 200 and len(json.loads(body)["servers"]) == servers
        result = {
            "servers": servers,
            "detail_response_kib": round(len(body) / 1024, 1),
            "fill_boots_per_s": round(len(accepted) / fill_s, 1),
        }
        # Where one GET /servers/detail goes: the conductor RPC (database read and
        # serialisation), rendering the 2.1 documents, JSON encoding.
        from nova_common.api import views

        def timed(fn, repeat: int = 5) -> float:
            start = time.perf_counter()
            for _ in range(repeat):
                value = fn()
            timed.value = value
            return round((time.perf_counter() - start) / repeat * 1000, 1)

        result["detail_rpc_instance_stamps_ms"] = timed(aio.compute_api.instance_stamps)
        result["detail_rpc_list_instances_ms"] = timed(aio.compute_api.list)
        rows, catalog = timed.value, views.Catalog(aio.compute_api.flavors())
        result["detail_db_list_instances_ms"] = timed(aio.conductor.db.list_instances)
        result["detail_render_ms"] = timed(
            lambda: [views.server_detail("http://h/v2.1", r, catalog) for r in rows]
        )
        result["detail_json_encode_ms"] = timed(lambda: json.dumps({"servers": timed.value}))
        from nova_common.api.server import APIServer
        from nova_common.api.wsgi import make_app

        uncached_app = make_app(aio.compute_api, middleware=False)
        uncached_app.servers.cache.reuse = False
        uncached = APIServer(uncached_app, "127.0.0.1", 0)
        uncached.start()
        try:
            for threads in (1, 8):
                rate = list_rate(client, threads, window)
                result.update({f"detail_{k}_{threads}_threads": v for k, v in rate.items()})
                rate = list_rate(Client(uncached.endpoint), threads, window)
                result.update({f"uncached_detail_{k}_{threads}_threads": v for k, v in rate.items()})
                key = f"detail_requests_per_s_{threads}_threads"
                result[f"same_run_ratio_{threads}_threads"] = round(
                    result[key] / result["uncached_" + key], 1
                )
                result[f"ratio_to_baseline_{threads}_threads"] = round(result[key] / BASELINE[key], 1)
        finally:
            uncached.stop()
        result.update(
            {
                "boots": boots,
                "boot_threads": 4,
                "create_to_active_p50_ms": round(percentile(latencies, 50) * 1000, 1),
                "create_to_active_p95_ms": round(percentile(latencies, 95) * 1000, 1),
                "create_to_active_max_ms": round(max(latencies) * 1000, 1),
            }
        )
        # The machine is shared: what else ran is part of the numbers.
        result["load_average_1min_before_after"] = f"{load_before:.1f} / {os.getloadavg()[0]:.1f}"
    finally:
        aio.stop()
    print(json.dumps(result), flush=True)
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, "api.json"), "w") as out:
        json.dump({"quick": args.quick, "cpus": os.cpu_count(), **result}, out, indent=2)
    with open(os.path.join(RESULTS, "api.md"), "w") as out:
        out.write("# Compute REST API benchmark\n\n")
        out.write(
            f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}, all-in-one in one process (API on "
            "cheroot, conductor, 3 fake compute services, kombu+memory, SQLite)"
            f"{', quick run' if args.quick else ''}. See bench_api.py for the method.\n\n"
        )
        out.write(
            "`uncached_*`: the same run against a second API server whose list cache fetches and renders "
            "every row per request. `ratio_to_baseline_*`: against the previous results "
            f"({BASELINE['detail_requests_per_s_1_threads']} and "
            f"{BASELINE['detail_requests_per_s_8_threads']} requests/s, "
            "the stdlib server without the cache).\n\n"
        )
        out.write("| metric | value |\n|---|---|\n")
        for key, value in result.items():
            out.write(f"| {key} | {value} |\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
