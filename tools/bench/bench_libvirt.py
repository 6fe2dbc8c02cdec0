#!/usr/bin/env python3
"""Benchmark of the libvirt driver on libvirt's built-in test driver (``test:///default``).

Measures, in one process, with the driver called directly (no RPC):

* spawn + destroy pairs per second;
* ``list_instances`` and ``get_host_resources`` latency with 10 and with 1,000 owned domains, and
  the number of libvirt calls each makes (the target: the same number at 10 and at 1,000), counted
  by the driver's own call counter (``LibvirtDriver.counter``: every libvirt call on the connection
  and on the objects it hands out; client-side accessors such as ``name()`` are not calls);
* the same with a tenth of the domains suspended (managed save), where ``hasManagedSaveImage`` is
  asked per suspended domain;
* the one-time cost of a driver starting on a host that already has 1,000 domains (ownership is
  read once per domain, then cached).

Writes ``tools/bench/results/libvirt.md`` and ``libvirt.json``. ``--quick`` for a short run.
The test driver does no real work, so the times measure the driver and libvirt's client library,
not a hypervisor.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import os
import pathlib
import platform
import statistics
import sys
import time
import uuid

HERE = pathlib.Path(__file__).resolve().parent
RESULTS = HERE / "results"


def _imports():
    try:
        import libvirt  # noqa: F401
        from nova_common import messaging

        messaging.init_process()  # before anything imports oslo.messaging
        from nova_driver_libvirt import LibvirtDriver  # noqa: F401
    except ImportError as error:
        print(f"bench_libvirt: skipped, {error} (pip install -e drivers/libvirt)")
        sys.exit(0)


def make_driver(uri: str):
    from nova_common.scaffold import conf as scaffold_conf
    from nova_driver_libvirt import LibvirtDriver
    from oslo_config import cfg

    conf = cfg.ConfigOpts()
    scaffold_conf.register_opts(conf)
    LibvirtDriver.register_opts(conf)
    conf(args=[], default_config_files=[])
    conf.set_override("connection_uri", uri, group="libvirt")
    driver = LibvirtDriver(conf)
    driver.start()
    return driver


def make_instance(index: int):
    from nova_common import objects

    return objects.Instance(
        uuid=str(uuid.uuid4()),
        display_name=f"bench-{index}",
        flavor=objects.Flavor(flavorid="1", name="m1.nano", vcpus=1, memory_mb=1),
        image=objects.ImageMeta(id=str(uuid.uuid4()), name="cirros"),
    )


def no_network():
    from nova_common import objects

    return objects.NetworkInfo(objects=[])


def timed_calls(driver, method, repeat: int) -> dict:
    """Median/p95 latency of ``method`` and the libvirt calls one invocation makes."""
    method()  # warm: anything first seen is classified and cached
    with driver.counter.measure() as calls:
        method()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        method()
        samples.append(time.perf_counter() - started)
    samples.sort()
    return {
        "libvirt_calls": sum(calls.values()),
        "calls_by_name": dict(sorted(calls.items())),
        "median_ms": round(statistics.median(samples) * 1000, 3),
        "p95_ms": round(samples[int(0.95 * (len(samples) - 1))] * 1000, 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--domains", type=int, default=1000)
    args = parser.parse_args()
    _imports()
    import libvirt

    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
    uri = "test:///default"
    keep = libvirt.open(uri)  # keeps the shared default host alive across driver connections
    pairs = 30 if args.quick else 300
    large = 100 if args.quick else args.domains
    repeat = 5 if args.quick else 20
    result: dict = {
        "machine": {
            "date": datetime.datetime.now().isoformat(timespec="seconds"),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "libvirt": ".".join(str(libvirt.getVersion() // 10**k % 1000) for k in (6, 3, 0)),
            "libvirt_python": importlib.metadata.version("libvirt-python"),
            "nova_driver_libvirt": importlib.metadata.version("nova-driver-libvirt"),
        },
        "uri": uri,
    }

    driver = make_driver(uri)
    # 1. spawn + destroy pairs per second
    started = time.perf_counter()
    with driver.counter.measure() as calls:
        for index in range(pairs):
            instance = make_instance(index)
            driver.spawn(instance, no_network())
            driver.destroy(instance)
    elapsed = time.perf_counter() - started
    result["spawn_destroy"] = {
        "pairs": pairs,
        "seconds": round(elapsed, 3),
        "pairs_per_s": round(pairs / elapsed, 1),
        "libvirt_calls_per_pair": round(sum(calls.values()) / pairs, 1),
    }
    print(f"spawn+destroy: {pairs / elapsed:.1f} pairs/s", flush=True)

    # 2. bulk reads at 10 and at `large` owned domains
    instances = []
    rows = []
    for target in (10, large):
        while len(instances) < target:
            instance = make_instance(len(instances))
            driver.spawn(instance, no_network())
            instances.append(instance)
        for name in ("list_instances", "get_host_resources"):
            row = {"domains": target, "suspended": 0, "operation": name}
            row.update(timed_calls(driver, getattr(driver, name), repeat))
            rows.append(row)
            print(f"{name} @ {target}: {row['libvirt_calls']} calls, {row['median_ms']} ms", flush=True)
    # a tenth suspended (managed save): one hasManagedSaveImage per suspended domain
    suspended = instances[: large // 10]
    for instance in suspended:
        driver.suspend(instance)
    for name in ("list_instances", "get_host_resources"):
        row = {"domains": large, "suspended": len(suspended), "operation": name}
        row.update(timed_calls(driver, getattr(driver, name), repeat))
        rows.append(row)
    for instance in suspended:
        driver.resume(instance)
    result["bulk_reads"] = rows

    # 3. a driver starting on a host that already has `large` domains
    started = time.perf_counter()
    newcomer = make_driver(uri)
    start_s = time.perf_counter() - started
    start_calls = newcomer.counter.total
    with newcomer.counter.measure() as calls:
        listed = newcomer.list_instances()
    result["start_on_populated_host"] = {
        "domains": large,
        "start_seconds": round(start_s, 3),
        "start_libvirt_calls": start_calls,
        "first_list_libvirt_calls": sum(calls.values()),
        "listed": len(listed.objects),
    }
    newcomer.stop()

    started = time.perf_counter()
    for instance in instances:
        driver.destroy(instance)
    result["destroy_all_seconds"] = round(time.perf_counter() - started, 3)
    driver.stop()
    keep.close()

    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "libvirt.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / "libvirt.md").write_text(render(result))
    print(f"wrote {RESULTS / 'libvirt.md'}")
    return 0


def render(result: dict) -> str:
    machine = result["machine"]
    sd = result["spawn_destroy"]
    start = result["start_on_populated_host"]
    lines = [
        "# libvirt driver benchmark",
        "",
        f"{machine['date']}, {machine['cpus']} CPUs, {machine['platform']}, Python {machine['python']}, "
        f"libvirt {machine['libvirt']}, libvirt-python {machine['libvirt_python']}, "
        f"nova-driver-libvirt {machine['nova_driver_libvirt']}. Written by `tools/bench/bench_libvirt.py` "
        f"on libvirt's test driver (`{result['uri']}`): the times measure the driver and libvirt's "
        "client library, not a hypervisor. Driver called in process (no RPC).",
        "",
        "## spawn + destroy",
        "",
        "| pairs | seconds | pairs/s | libvirt calls per pair |",
        "|---|---|---|---|",
        f"| {sd['pairs']} | {sd['seconds']} | {sd['pairs_per_s']} | {sd['libvirt_calls_per_pair']} |",
        "",
        "## Bulk reads: libvirt calls per invocation do not grow with the number of domains",
        "",
        "| operation | owned domains | of which suspended | libvirt calls | median ms | p95 ms | calls |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in result["bulk_reads"]:
        detail = ", ".join(f"{k} {v}" for k, v in row["calls_by_name"].items())
        lines.append(
            f"| {row['operation']} | {row['domains']} | {row['suspended']} | {row['libvirt_calls']} | "
            f"{row['median_ms']} | {row['p95_ms']} | {detail} |"
        )
    lines += [
        "",
        "Target: the same number of libvirt calls at 10 and at 1,000 domains (met when every domain",
        "is running, paused or stopped). A suspended (managed-saved) domain costs one",
        "`hasManagedSaveImage` call, because libvirt's bulk stats cannot tell a saved shut-off domain",
        "from one whose image was removed (the state reason stays SAVED).",
        "",
        "## A driver starting on a populated host",
        "",
        "| domains | start s | libvirt calls at start | calls of the first list_instances | listed |",
        "|---|---|---|---|---|",
        f"| {start['domains']} | {start['start_seconds']} | {start['start_libvirt_calls']} | "
        f"{start['first_list_libvirt_calls']} | {start['listed']} |",
        "",
        "Ownership (our `<metadata>`) is read once per domain at start and cached by UUID; after that",
        "a listing is one `getAllDomainStats` call.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
