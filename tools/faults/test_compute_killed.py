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
    cloud.start_fakes(HOSTS, extra=SPAWN)
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
        tally.count_outcome(
            cloud.wait_server(server_id, lambda s: s is None or s["status"] in ("ACTIVE", "ERROR"), deadline)
        )
        restarted_at = time.monotonic()
        cloud.add_fake(host=victim, extra=SPAWN)
        assert len(cloud.wait_for_hosts(HOSTS, timeout=60)) == HOSTS
        tally.recover_s.append(time.monotonic() - restarted_at)
    cloud.audit(tally, set(accepted))
    assert tally.injected >= ROUNDS // 2, f"only {tally.injected} of {ROUNDS} kills landed mid-spawn"
    assert tally.clean, tally
    assert max(tally.detect_s) < 2 * SERVICE_DOWN_TIME, tally.detect_s
