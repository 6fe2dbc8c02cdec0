"""The conductor SIGKILLed during a burst of creates, then started again: every create the API
accepted ends ACTIVE or in ERROR with a fault, none is made twice (the client retries with its
request id), and no VM is left on a hypervisor the database does not know."""

import threading
import time

from conftest import ROUNDS, SERVICE_DOWN_TIME

from nova_tools.faults import Tally

HOSTS = 4
BURST = 8
SPAWN = "spawn_latency = 1\n"


def _create_retrying(cloud, name, outcomes, attempts=3):
    """POST /servers with one request id, retried on 5xx and timeouts as a careful client does."""
    request_id = None
    for _ in range(attempts):
        try:
            status, reply, request_id = cloud.post_server(name, request_id=request_id)
        except OSError as error:  # the API process answered nothing in time
            status, reply = 0, str(error)
        if status == 202:
            outcomes[name] = reply["server"]["id"]
            return
        time.sleep(1)
    outcomes[name] = None


def test_conductor_killed_during_a_burst_of_creates(deployment, tallies):
    cloud = deployment
    tally = Tally("conductor SIGKILL during a burst of creates")
    tallies.append(tally)
    cloud.start_fakes(HOSTS, extra=SPAWN)
    accepted: dict[str, str | None] = {}
    deadline = 2 * SERVICE_DOWN_TIME + 60
    for round_ in range(max(1, ROUNDS // 2)):
        outcomes: dict[str, str | None] = {}
        threads = [
            threading.Thread(target=_create_retrying, args=(cloud, f"burst-{round_}-{n}", outcomes))
            for n in range(BURST)
        ]
        for thread in threads:
            thread.start()
        time.sleep(0.5)  # some creates accepted and building, some in flight
        cloud.kill_conductor()
        tally.injected += 1
        killed_at = time.monotonic()
        time.sleep(1)
        cloud.restart_conductor()
        tally.recover_s.append(time.monotonic() - killed_at)
        for thread in threads:
            thread.join(180)
        accepted.update(outcomes)
        for server_id in outcomes.values():
            if server_id is None:
                continue  # never accepted: nothing was promised
            tally.count_outcome(
                cloud.wait_server(
                    server_id, lambda s: s is None or s["status"] in ("ACTIVE", "ERROR"), deadline
                )
            )
        tally.detect_s.append(time.monotonic() - killed_at)
    cloud.audit(tally, {server_id for server_id in accepted.values() if server_id})
    assert tally.clean, tally
    assert any(accepted.values()), "no create was accepted: the fault was not exercised"
