#!/usr/bin/env python3
"""Benchmark of active-active conductors (issue 18): boots/s at 1,000 compute services
with one, two and three ``nova-common conductor`` processes over RabbitMQ and
PostgreSQL, in one run.

Each size gets a RabbitMQ node of its own (tools/nova_tools/private_broker.py, with a
file limit of 20,000: each compute service holds a connection; the shared broker is
never restarted) and a PostgreSQL database of its own at 127.0.0.1:5432. The compute
services are threads of eight ``compute_fleet.py`` processes; 16 client threads create
``--boots`` instances (m1.tiny) and the run waits for all to be ACTIVE. Method and
columns as in bench_core.py's RabbitMQ rows; conductor CPU is summed over the
conductors. On this machine everything (PostgreSQL, RabbitMQ, fleets, conductors)
shares two CPUs, so more conductors buy no CPU: compare the rows as ratios.

Writes tools/bench/results/conductors.md and conductors.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, ".."))

from bench_core import RESULTS, _keep_notes, _run_rabbit, postgres_available, postgres_database  # noqa: E402

from nova_tools import private_broker  # noqa: E402

COLUMNS = (
    "conductors",
    "hosts",
    "boots",
    "boots_per_s",
    "creates_accepted_per_s",
    "conductor_idle_cpu_pct",
    "conductor_cpu_per_boot_ms",
    "process_cpu_per_boot_ms",
)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="100 services, 200 boots")
    parser.add_argument("--hosts", type=int, help="compute services (default 1,000)")
    parser.add_argument("--boots", type=int, help="instances booted per row (default: as many as hosts)")
    parser.add_argument("--conductors", type=int, action="append", help="default: 1, 2 and 3")
    args = parser.parse_args()
    missing = private_broker.unavailable() or (
        None if postgres_available() else "PostgreSQL at 127.0.0.1:5432 (or psycopg2)"
    )
    if missing:
        print(f"bench_conductors: skipped, backend missing: {missing}", flush=True)
        return 1 if os.environ.get("CI") == "true" else 0
    hosts = args.hosts or (100 if args.quick else 1000)
    boots = args.boots or (200 if args.quick else hosts)
    window = 5.0 if args.quick else 20.0
    tmp = tempfile.mkdtemp(prefix="bench-conductors-")
    results = []
    for count in args.conductors or [1, 2, 3]:
        tag = uuid.uuid4().hex[:8]
        with (
            private_broker.PrivateRabbit(max_files=20000) as broker,
            postgres_database(f"bench_conductors_{tag}") as db_url,
        ):
            result = _run_rabbit(
                hosts, boots, window, 10.0, 60.0, tmp, tag, db_url, broker.url, conductors=count
            )
        result["database"] = "postgresql"
        print(json.dumps(result), flush=True)
        results.append(result)
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, "conductors.json"), "w") as out:
        json.dump(results, out, indent=2)
    path = os.path.join(RESULTS, "conductors.md")
    notes = _keep_notes(path)
    base = results[0]["boots_per_s"] or 1
    with open(path, "w") as out:
        out.write("# Active-active conductors benchmark\n\n")
        out.write(
            f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}; RabbitMQ (a node of the run's own) and "
            "PostgreSQL on the same machine. See bench_conductors.py for method.\n\n"
        )
        out.write(
            "| " + " | ".join(COLUMNS) + " | boots/s vs 1 conductor |\n|" + "---|" * (len(COLUMNS) + 1) + "\n"
        )
        for result in results:
            ratio = result["boots_per_s"] / base
            out.write("| " + " | ".join(str(result.get(k, "")) for k in COLUMNS) + f" | {ratio:.2f} |\n")
        out.write(notes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
