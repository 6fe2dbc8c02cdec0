"""A compute service SIGKILLed while it spawns: the build moves to another host within
2 x service_down_time, and in the end nothing is lost, orphaned, duplicated or stuck."""

import time

from conftest import ROUNDS, SERVICE_DOWN_TIME

from nova_tools.faults import Tally

HOSTS = 4
SPAWN = "spawn_latency = 2\n"  # seconds: the window the kill lands in


def test_compute_killed_mid_spawn(deployment, tallies):
    cloud = deployment
    tally = Tally("compute SIGKILL mid-spawn")
    tallies.append(tally)
    for _ in range(HOSTS):
        cloud.add_fake(extra=SPAWN)
    assert len(cloud.wait_for_hosts(HOSTS)) == HOSTS
    accepted = {}
    deadline = 2 * SERVICE_DOWN_TIME + 30
    for round_ in range(ROUNDS):
        status, reply, _ = cloud.post_server(f"kill-{round_}")
        assert status == 202, reply
        server_id = reply["server"]["id"]
        accepted[server_id] = f"kill-{round_}"
        placed = cloud.wait_server(
            server_id, lambda s: s and s.get("OS-EXT-SRV-ATTR:host") and s["status"] == "BUILD", 30
        )
        victim = placed and placed.get("OS-EXT-SRV-ATTR:host")
        if not victim or placed["status"] != "BUILD":
            continue  # it finished before the kill could land: not an injection
        cloud.kill_compute(victim)
        killed_at = time.monotonic()
        tally.injected += 1
        moved = cloud.wait_server(
            server_id,
            lambda s, victim=victim: (
                s is None or s["status"] == "ERROR" or s.get("OS-EXT-SRV-ATTR:host") != victim
            ),
            deadline,
        )
        if moved is not None and (moved["status"] == "ERROR" or moved.get("OS-EXT-SRV-ATTR:host") != victim):
            tally.detect_s.append(time.monotonic() - killed_at)
        final = cloud.wait_server(
            server_id, lambda s: s is None or s["status"] in ("ACTIVE", "ERROR"), deadline
        )
        if final is None:
            tally.lost += 1
        elif final["status"] == "ACTIVE":
            tally.completed += 1
        elif final["status"] == "ERROR" and final.get("fault"):
            tally.failed_cleanly += 1
        else:
            tally.stuck += 1
        restarted_at = time.monotonic()
        cloud.add_fake(host=victim, extra=SPAWN)
        assert len(cloud.wait_for_hosts(HOSTS, timeout=60)) == HOSTS
        tally.recover_s.append(time.monotonic() - restarted_at)
    cloud.settle()
    status, listing = cloud.http("GET", "/servers/detail")
    assert status == 200
    servers = {s["id"]: s for s in listing["servers"]}
    tally.lost += sum(1 for server_id in accepted if server_id not in servers)
    names = [s["name"] for s in servers.values()]
    tally.duplicated = sum(names.count(n) - 1 for n in set(names))
    for host, held in cloud.hypervisor_instances().items():
        for uuid in held:
            if uuid not in servers or servers[uuid].get("OS-EXT-SRV-ATTR:host") != host:
                tally.orphaned += 1
    assert tally.injected >= ROUNDS // 2, f"only {tally.injected} of {ROUNDS} kills landed mid-spawn"
    assert tally.clean, tally
    assert max(tally.detect_s) < 2 * SERVICE_DOWN_TIME, tally.detect_s
