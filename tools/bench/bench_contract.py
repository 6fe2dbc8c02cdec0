#!/usr/bin/env python3
"""Benchmark of the contract layer (issue 2).

1. The kit's wall time against the fake driver: in process, black-box over
   kombu+memory (service in this process), black-box over RabbitMQ (service
   as its own nova-compute-fake process).
2. get_info through our RPC API (HostClient -> VirtEndpoint -> dispatcher ->
   fake driver) next to a bare oslo.messaging call carrying the same payload
   (the same serialised Instance in, the same serialised InstanceInfo out),
   over kombu+memory and over RabbitMQ, in the same run: p50/p95 latency and
   calls/s. Target: ours <= 1.25x the bare call.

Writes tools/bench/results/contract.md and contract.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
import uuid

from nova_common import messaging

messaging.init_process()  # before anything imports oslo.messaging

import oslo_messaging  # noqa: E402
from nova_common import objects  # noqa: E402
from nova_common.messaging import conf as messaging_conf  # noqa: E402
from nova_common.messaging.serializer import ObjectSerializer  # noqa: E402
from nova_common.messaging.transport import get_transport  # noqa: E402
from nova_common.scaffold import conf as scaffold_conf  # noqa: E402
from nova_common.scaffold.service import ComputeService  # noqa: E402
from nova_common.virt.rpcapi import VirtAPIClient  # noqa: E402
from nova_contract_tests.config import KitConfig  # noqa: E402
from nova_contract_tests.runner import run_kit  # noqa: E402
from nova_driver_fake import FakeDriver  # noqa: E402
from oslo_config import cfg  # noqa: E402
from oslo_utils import timeutils  # noqa: E402

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
RABBIT_URL = os.environ.get("RABBIT_URL", "rabbit://guest:guest@127.0.0.1:5672/")
MEMORY_URL = "kombu+memory:////"


def rabbit_available() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5672), timeout=1):
            return True
    except OSError:
        return False


def make_conf(host: str) -> cfg.ConfigOpts:
    conf = cfg.ConfigOpts()
    scaffold_conf.register_opts(conf)
    messaging_conf.register_opts(conf)
    FakeDriver.register_opts(conf)
    conf(args=[], default_config_files=[])
    conf.set_override("host", host)
    return conf


def sample_instance() -> objects.Instance:
    return objects.Instance(
        uuid=str(uuid.uuid4()),
        display_name="bench",
        flavor=objects.Flavor(flavorid="1", name="m1.small", vcpus=1, memory_mb=2048, root_gb=20),
        image=objects.ImageMeta(id=str(uuid.uuid4()), name="cirros"),
    )


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(ordered[len(ordered) // 2] * 1000, 3),
        "p95_ms": round(ordered[int(len(ordered) * 0.95)] * 1000, 3),
        "calls_per_s": round(len(samples) / sum(samples), 1),
        "mean_ms": round(statistics.fmean(samples) * 1000, 3),
    }


def time_calls(call, count: int) -> list[float]:
    for _ in range(min(50, count)):
        call()
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return samples


class BareEndpoint:
    """The same payload as get_info, without our client, endpoint or objects."""

    target = oslo_messaging.Target(version="1.0")

    def __init__(self, reply: dict) -> None:
        self.reply = reply

    def get_info(self, ctxt, instance):
        return self.reply


def latency(url: str, count: int) -> dict[str, dict[str, float]]:
    host = "bench-" + uuid.uuid4().hex[:6]
    conf = make_conf(host)
    transport = get_transport(conf, url)
    driver = FakeDriver(conf)
    service = ComputeService(conf, driver, transport=transport)
    service.start()
    instance = sample_instance()
    client = VirtAPIClient(conf, transport=transport).host(host)
    client.spawn(instance=instance, network_info=objects.NetworkInfo(objects=[]))

    serializer = ObjectSerializer()
    instance_primitive = serializer.serialize_entity({}, instance)
    reply_primitive = serializer.serialize_entity({}, driver.get_info(instance))
    bare_server = oslo_messaging.get_rpc_server(
        transport, oslo_messaging.Target(topic="bench-bare", server=host), [BareEndpoint(reply_primitive)]
    )
    bare_server.start()
    bare_client = oslo_messaging.get_rpc_client(
        transport, oslo_messaging.Target(topic="bench-bare", server=host, version="1.0")
    )
    try:
        # Interleave rounds so drift on a shared machine hits both alike.
        ours, bare = [], []
        rounds = 5
        for _ in range(rounds):
            ours += time_calls(lambda: client.get_info(instance=instance), count // rounds)
            bare += time_calls(
                lambda: bare_client.call({}, "get_info", instance=instance_primitive), count // rounds
            )
    finally:
        bare_server.stop()
        service.stop()
        bare_server.wait()
        transport.cleanup()
    result = {"ours": percentiles(ours), "bare": percentiles(bare)}
    result["ratio_p50"] = round(result["ours"]["p50_ms"] / result["bare"]["p50_ms"], 3)
    result["ratio_mean"] = round(result["ours"]["mean_ms"] / result["bare"]["mean_ms"], 3)
    return result


def kit_times() -> dict[str, object]:
    times: dict[str, object] = {}
    started = time.perf_counter()
    report = run_kit(KitConfig(driver="fake"))
    times["in-process"] = {"seconds": round(time.perf_counter() - started, 3), **report.summary}

    conf = make_conf("bench-kit-memory")
    transport = get_transport(conf, MEMORY_URL)
    service = ComputeService(conf, FakeDriver(conf), transport=transport)
    service.start()
    started = time.perf_counter()
    report = run_kit(KitConfig(transport_url=MEMORY_URL, host="bench-kit-memory"))
    times["black-box kombu+memory"] = {"seconds": round(time.perf_counter() - started, 3), **report.summary}
    service.stop()
    transport.cleanup()

    if rabbit_available():
        host = "bench-kit-" + uuid.uuid4().hex[:6]
        script = os.path.join(os.path.dirname(sys.executable), "nova-compute-fake")
        config = f"/tmp/{host}.conf"
        with open(config, "w") as handle:
            handle.write(f"[DEFAULT]\nhost = {host}\ntransport_url = {RABBIT_URL}\n")
        process = subprocess.Popen(
            [script, "--config-file", config], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        for line in process.stdout:
            if "serving host" in line:
                break
        try:
            started = time.perf_counter()
            report = run_kit(KitConfig(transport_url=RABBIT_URL, host=host))
            times["black-box RabbitMQ (separate process)"] = {
                "seconds": round(time.perf_counter() - started, 3),
                **report.summary,
            }
        finally:
            process.terminate()
            process.wait(timeout=60)
            os.unlink(config)
    else:
        times["black-box RabbitMQ (separate process)"] = "skipped: RabbitMQ not listening on 127.0.0.1:5672"
    return times


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    count = 500 if args.quick else 5000
    results: dict[str, object] = {
        "benchmark": "contract",
        "date": timeutils.utcnow().isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "oslo.messaging": oslo_messaging.__dict__.get("__version__") or _version("oslo.messaging"),
        "calls_per_transport": count,
        "kit_wall_time": kit_times(),
        "get_info_latency": {"kombu+memory": latency(MEMORY_URL, count)},
    }
    if rabbit_available():
        results["get_info_latency"]["RabbitMQ"] = latency(RABBIT_URL, count)
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, "contract.json"), "w") as handle:
        json.dump(results, handle, indent=2)
        handle.write("\n")
    with open(os.path.join(RESULTS, "contract.md"), "w") as handle:
        handle.write(render(results))
    print(render(results))
    return 0


def _version(dist: str) -> str:
    from importlib.metadata import version

    return version(dist)


def render(results: dict) -> str:
    lines = [
        "# Contract benchmark",
        "",
        f"{results['date']}, {results['machine']['cpus']} CPUs, Python {results['machine']['python']}, "
        f"oslo.messaging {results['oslo.messaging']}. Written by `tools/bench/bench_contract.py`.",
        "",
        "## Kit wall time against the fake driver",
        "",
        "| mode | seconds | passed | failed | skipped |",
        "|---|---|---|---|---|",
    ]
    for mode, entry in results["kit_wall_time"].items():
        if isinstance(entry, dict):
            counts = " | ".join(str(entry[k]) for k in ("passed", "failed", "skipped"))
            lines.append(f"| {mode} | {entry['seconds']} | {counts} |")
        else:
            lines.append(f"| {mode} | {entry} | | | |")
    lines += [
        "",
        "## get_info: our RPC API vs a bare oslo.messaging call, same payload "
        f"({results['calls_per_transport']} calls)",
        "",
        "| transport | path | p50 ms | p95 ms | mean ms | calls/s |",
        "|---|---|---|---|---|---|",
    ]
    for transport, entry in results["get_info_latency"].items():
        for path in ("ours", "bare"):
            e = entry[path]
            numbers = " | ".join(str(e[k]) for k in ("p50_ms", "p95_ms", "mean_ms", "calls_per_s"))
            lines.append(f"| {transport} | {path} | {numbers} |")
        lines.append(
            f"| {transport} | **ours / bare** | {entry['ratio_p50']}x | | {entry['ratio_mean']}x | |"
        )
    lines += ["", "Target: ours <= 1.25x the bare call."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
