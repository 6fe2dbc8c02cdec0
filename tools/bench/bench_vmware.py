#!/usr/bin/env python3
"""Benchmark of the VMware driver against vcsim (tools/vcsim/run), driver called directly.

* ``list_instances`` and ``get_info`` with 10 and with 500 owned VMs (plus vcsim's
  own VMs, which are not ours): SOAP round trips per call and wall time. The
  bench counts round trips itself, by wrapping pyvmomi's
  ``SoapStubAdapter.InvokeMethod``/``InvokeAccessor`` before the driver logs in
  (it does not trust the driver's own counter, and checks the two agree).
  Target: round trips independent of the VM count.
* ``get_host_resources`` likewise (cluster, datastores and owned VMs in one retrieval).
* spawn + destroy pairs per second.

vcsim answers from memory, so the times measure the driver, pyvmomi and the
SOAP round trips over loopback TLS, not a real vCenter. Writes
tools/bench/results/vmware.md and .json. ``--quick``: 10 and 50 VMs.
"""

from __future__ import annotations

import argparse
import datetime
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
REPO = HERE.parent.parent


class SoapCounter:
    """Counts every SOAP request pyvmomi sends (all stubs of this process)."""

    def __init__(self) -> None:
        from pyVmomi import SoapAdapter

        self.calls = 0
        stub_class = SoapAdapter.SoapStubAdapter
        for name in ("InvokeMethod", "InvokeAccessor"):
            original = getattr(stub_class, name)

            def counted(stub, *args, _original=original, **kwargs):
                self.calls += 1
                return _original(stub, *args, **kwargs)

            setattr(stub_class, name, counted)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    try:
        from nova_common import messaging

        messaging.init_process()  # before anything imports oslo.messaging
        from nova_driver_vmware.driver import VMwareDriver
    except ImportError as error:
        print(f"bench_vmware: skipped, {error} (pip install -e drivers/vmware)")
        return 0
    sys.path.insert(0, str(REPO / "drivers" / "vmware" / "tests"))
    from nova_common import objects
    from vcsim_support import Vcsim, unavailable

    why = unavailable()
    if why:
        print(f"bench_vmware: skipped, {why}")
        return 0
    load_before = round(os.getloadavg()[0], 2)
    sizes = [10, 50] if args.quick else [10, 500]
    soap = SoapCounter()  # before the first login
    sim = Vcsim(vms=1).start()
    rows = []
    pairs = {}
    try:
        from oslo_config import cfg

        conf = cfg.ConfigOpts()
        VMwareDriver.register_opts(conf)
        conf(args=[], default_config_files=[])
        for line in sim.config().splitlines():  # the [vmware] section vcsim_support writes
            if "=" in line:
                key, value = (part.strip() for part in line.split("=", 1))
                conf.set_override(key, value, group="vmware")
        driver = VMwareDriver(conf)
        driver.start()
        net = objects.NetworkInfo(objects=[])

        def instance(n: int) -> objects.Instance:
            return objects.Instance(
                uuid=str(uuid.uuid4()),
                display_name=f"bench-{n}",
                host="bench",
                flavor=objects.Flavor(flavorid="1", name="m1.nano", vcpus=1, memory_mb=64, root_gb=0),
                image=objects.ImageMeta(id=str(uuid.uuid4()), name="cirros"),
            )

        n = 40 if args.quick else 200
        soap_before = soap.calls
        started = time.perf_counter()
        for i in range(n):
            inst = instance(i)
            driver.spawn(inst, net)
            driver.destroy(inst)
        elapsed = time.perf_counter() - started
        pairs = {
            "pairs": n,
            "seconds": round(elapsed, 2),
            "pairs_per_s": round(n / elapsed, 1),
            "soap_round_trips_per_pair": round((soap.calls - soap_before) / n, 1),
        }
        print(json.dumps(pairs), flush=True)

        owned: list[objects.Instance] = []
        for size in sizes:
            while len(owned) < size:
                inst = instance(len(owned))
                driver.spawn(inst, net)
                owned.append(inst)
            for name, call in (
                ("list_instances", driver.list_instances),
                ("get_info", lambda: driver.get_info(owned[len(owned) // 2])),
                ("get_host_resources", driver.get_host_resources),
            ):
                call()  # warm
                times, trips = [], []
                for _ in range(100 if name == "get_info" else 20):
                    before, own_before = soap.calls, driver.session.round_trips
                    t0 = time.perf_counter()
                    result = call()
                    times.append((time.perf_counter() - t0) * 1000)
                    trips.append(soap.calls - before)
                    assert driver.session.round_trips - own_before == trips[-1], "counters disagree"
                if name == "list_instances":
                    assert len(result.objects) == size
                rows.append(
                    {
                        "operation": name,
                        "owned_vms": size,
                        "soap_round_trips": max(trips),
                        "p50_ms": round(statistics.median(times), 2),
                        "p95_ms": round(sorted(times)[int(len(times) * 0.95) - 1], 2),
                    }
                )
                print(json.dumps(rows[-1]), flush=True)
        for inst in owned:
            driver.destroy(inst)
        driver.stop()
    finally:
        sim.stop()
    trips = {(r["operation"], r["owned_vms"]): r["soap_round_trips"] for r in rows}
    constant = all(
        trips[("list_instances", s)] == trips[("list_instances", sizes[0])] for s in sizes
    ) and all(
        trips[(op, s)] == trips[(op, sizes[0])] for op in ("get_info", "get_host_resources") for s in sizes
    )
    meta = {
        "when": datetime.datetime.now().isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "load_1min_before_after": [load_before, round(os.getloadavg()[0], 2)],
        "python": platform.python_version(),
        "backend": "vcsim (govmomi 0.24.2, Debian) over https on 127.0.0.1",
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "vmware.json").write_text(
        json.dumps(
            {"meta": meta, "spawn_destroy": pairs, "reads": rows, "round_trips_constant": constant}, indent=2
        )
        + "\n"
    )
    lines = [
        "# VMware driver benchmark",
        "",
        f"{meta['when']}, {meta['cpus']} CPUs (1-minute load {meta['load_1min_before_after'][0]} before,"
        f" {meta['load_1min_before_after'][1]} after: other work shares the machine),"
        f" Python {meta['python']},"
        f" {meta['backend']}. Driver called "
        "directly (no RPC); SOAP round trips counted by the bench on pyvmomi's SoapStubAdapter "
        "(InvokeMethod + InvokeAccessor), max over the samples. bench_vmware.py.",
        "",
        f"spawn + destroy: {pairs['pairs']} pairs in {pairs['seconds']} s"
        f" = **{pairs['pairs_per_s']} pairs/s** ({pairs['soap_round_trips_per_pair']} SOAP round trips"
        " per pair, task polls included).",
        "",
        "| operation | owned VMs | SOAP round trips per call | p50 ms | p95 ms |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['operation']} | {r['owned_vms']} | {r['soap_round_trips']} | {r['p50_ms']} | {r['p95_ms']} |"
        for r in rows
    ]
    lines += ["", f"Target, round trips independent of the VM count: **{'met' if constant else 'missed'}**."]
    (RESULTS / "vmware.md").write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
