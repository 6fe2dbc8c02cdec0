"""Several conductors on one RabbitMQ vhost and one PostgreSQL database, as processes
(issue 18): liveness the same from every conductor and API process in either start
order, no heartbeat dropped and no deadlock; a conductor killed during a burst of creates
(the others take its builds over), one restarted during another's builds (it touches none
of them), deletes while the cluster changes, and a SIGTERM that ends within the graceful
timeout whatever the conductor is doing."""

import contextlib
import pathlib
import sys
import threading
import time

import pytest
from conftest import ROUNDS, SERVICE_DOWN_TIME, missing

from nova_tools.faults import Tally, TreeDeployment
from nova_tools.upgrade import postgresql_database

HOSTS = 4
SPAWN = "spawn_latency = 1\n"
#: What a conductor's log must never say with several conductors running.
TROUBLE = ("has not registered", "Dropped ", "DeadlockDetected", "deadlock detected", "Traceback")


@pytest.fixture
def cluster(broker, tmp_path, request):
    """``TreeDeployment`` with ``request.param`` conductors (default 2) on a PostgreSQL
    database of the test's own; the core is not started (each test chooses the order)."""
    count = getattr(request, "param", 2)
    with contextlib.ExitStack() as stack:
        try:
            url = stack.enter_context(postgresql_database(pathlib.Path(sys.prefix)))
        except Exception as error:  # reported as the missing backend
            missing(f"backend missing: PostgreSQL at 127.0.0.1:5432 ({error})")
        with TreeDeployment(
            tmp_path / "cloud",
            broker.url,
            service_down_time=SERVICE_DOWN_TIME,
            conductors=count,
            database_url=url,
        ) as cloud:
            try:
                yield cloud
            except Exception:
                print(cloud.logs())
                raise


def _trouble(cloud: TreeDeployment) -> dict[str, list[str]]:
    found = {}
    for name in cloud.conductor_names:
        lines = [line for line in cloud.conductor_log(name).splitlines() if any(t in line for t in TROUBLE)]
        if lines:
            found[name] = lines[:5]
    return found


def _states(cloud: TreeDeployment, endpoint: str) -> dict[str, str]:
    saved = cloud.endpoint
    cloud.endpoint = endpoint
    try:
        status, reply = cloud.http("GET", "/os-services")
    finally:
        cloud.endpoint = saved
    assert status == 200, (status, reply)
    return {s["host"]: s["state"] for s in reply["services"]}


@pytest.mark.parametrize("cluster", [2, 3], indirect=True, ids=["2-conductors", "3-conductors"])
@pytest.mark.parametrize("order", ["conductors-first", "computes-first"])
def test_liveness_is_the_same_everywhere_and_never_flaps(cluster, order, tallies):
    cloud = cluster
    tally = Tally(f"{len(cloud.conductor_names)} conductors, {order}: liveness watched")
    tallies.append(tally)
    if order == "conductors-first":
        cloud.start_core()
        cloud.start_fakes(HOSTS)
    else:
        for _ in range(HOSTS):
            cloud.add_fake()
        time.sleep(2)  # their registrations find no conductor yet: retried
        cloud.start_core()
        assert len(cloud.wait_for_hosts(HOSTS)) == HOSTS
    cloud.add_api()
    # Each API call is answered by whichever conductor takes it: over 4 x
    # service_down_time every conductor and both APIs are asked many times.
    down = []
    deadline = time.monotonic() + 4 * SERVICE_DOWN_TIME
    while time.monotonic() < deadline:
        for endpoint in cloud.endpoints:
            states = _states(cloud, endpoint)
            tally.injected += 1
            down += [(endpoint, host) for host, state in states.items() if state != "up"]
            assert len(states) == HOSTS
        time.sleep(0.1)
    assert not down, f"hosts read down while heartbeating: {down[:10]}"
    assert not _trouble(cloud), _trouble(cloud)
    tally.completed = tally.injected


def _create(cloud, name, outcomes, accepted_at):
    """POST /servers with one request id, retried on 5xx and timeouts."""
    request_id = None
    for _ in range(4):
        try:
            status, reply, request_id = cloud.post_server(name, request_id=request_id)
        except OSError:
            status, reply = 0, None
        if status == 202:
            outcomes[name] = reply["server"]["id"]
            accepted_at[name] = time.monotonic()
            return
        time.sleep(0.5)
    outcomes[name] = None


def _burst(cloud, prefix, count):
    outcomes: dict = {}
    accepted_at: dict = {}
    threads = [
        threading.Thread(target=_create, args=(cloud, f"{prefix}-{n}", outcomes, accepted_at))
        for n in range(count)
    ]
    for thread in threads:
        thread.start()
    return threads, outcomes, accepted_at


def _begin(cloud, tallies, fault, hosts=HOSTS, extra=""):
    """Start the conductors, the API and ``hosts`` fake compute services; the
    fault's tally, already in the table."""
    tally = Tally(fault)
    tallies.append(tally)
    cloud.start_core()
    cloud.start_fakes(hosts, extra=extra)
    return tally


def _burst_done(cloud, prefix, count):
    """A burst of creates, each answered (202 or given up): {name: id or None}."""
    threads, outcomes, _ = _burst(cloud, prefix, count)
    for thread in threads:
        thread.join(60)
    return outcomes


def _settled(server):
    return server is None or server["status"] in ("ACTIVE", "ERROR")


@pytest.mark.parametrize("cluster", [2, 3], indirect=True, ids=["2-conductors", "3-conductors"])
def test_a_conductor_killed_during_a_burst_of_creates(cluster, tallies):
    cloud = cluster
    tally = _begin(
        cloud,
        tallies,
        f"{len(cloud.conductor_names)} conductors, one SIGKILLed during a burst of creates",
        extra=SPAWN,
    )
    accepted: set[str] = set()
    for round_ in range(max(1, ROUNDS // 2)):
        for name in cloud.conductor_names:  # the last round's victim is back
            if name not in cloud.conductors:
                cloud.restart_conductor(name)
        victim = cloud.conductor_names[round_ % len(cloud.conductor_names)]
        threads, outcomes, accepted_at = _burst(cloud, f"kill-{round_}", 8)
        time.sleep(0.5)  # some creates accepted and building, some in flight
        cloud.kill_conductor(victim)
        tally.injected += 1
        killed_at = time.monotonic()
        for thread in threads:
            thread.join(120)
        worst = 0.0
        for name, server_id in outcomes.items():
            if server_id is None:
                continue
            accepted.add(server_id)
            final = cloud.wait_server(server_id, _settled, 2 * SERVICE_DOWN_TIME + 60)
            tally.count_outcome(final)
            worst = max(worst, time.monotonic() - max(killed_at, accepted_at[name]))
        tally.detect_s.append(worst)
        # The round's builds had to end within 2 x service_down_time of the kill (or of
        # their acceptance, for a create retried after its first call died with the
        # conductor); the spawn itself takes ~1 s of that.
        assert worst <= 2 * SERVICE_DOWN_TIME + 1.5, f"round {round_}: {worst:.1f} s"
    cloud.audit(tally, accepted)
    assert tally.clean, tally
    assert accepted, "no create was accepted: the fault was not exercised"
    assert not [lines for name, lines in _trouble(cloud).items() if "Traceback" in "".join(lines)]


def test_a_conductor_restarted_during_anothers_builds_touches_none_of_them(cluster, tallies):
    cloud = cluster
    tally = _begin(
        cloud,
        tallies,
        "2 conductors, one restarted (SIGTERM) during the other's builds",
        extra="spawn_latency = 3\n",
    )
    accepted: set[str] = set()
    for round_ in range(max(1, ROUNDS // 2)):
        outcomes = _burst_done(cloud, f"restart-{round_}", 8)
        restarted = cloud.conductor_names[1]
        stopped = time.monotonic()
        status = cloud.conductors.pop(restarted).stop()
        assert status == 0, status
        assert time.monotonic() - stopped < 5 + 5, "SIGTERM took longer than the graceful timeout"
        cloud.restart_conductor(restarted)
        tally.injected += 1
        tally.recover_s.append(time.monotonic() - stopped)
        for server_id in outcomes.values():
            if server_id is None:
                continue
            accepted.add(server_id)
            final = cloud.wait_server(server_id, _settled, 60)
            tally.count_outcome(final)
            assert final is not None and final["status"] == "ACTIVE", final
    # A build is taken over only when its owner is gone: no conductor was, here
    # (the restarted one finished its own builds within its graceful timeout).
    taken = [
        line
        for name in cloud.conductor_names
        for line in cloud.conductor_log(name).splitlines()
        if "Taking over" in line
    ]
    assert not taken, taken
    cloud.audit(tally, accepted)
    assert tally.clean, tally
    assert tally.completed == len(accepted)


def test_deletes_while_the_cluster_changes_leave_nothing_behind(cluster, tallies):
    cloud = cluster
    tally = _begin(
        cloud,
        tallies,
        "2 conductors, deletes while one is killed and restarted",
        extra="operation_latency = 0.3\n",
    )
    for round_ in range(max(1, ROUNDS // 2)):
        outcomes = _burst_done(cloud, f"delete-{round_}", 8)
        ids = [i for i in outcomes.values() if i]
        for server_id in ids:
            assert cloud.wait_server(server_id, _settled, 60)["status"] == "ACTIVE"
        deleters = [threading.Thread(target=cloud.http, args=("DELETE", f"/servers/{i}")) for i in ids]
        for thread in deleters:
            thread.start()
        time.sleep(0.1)
        cloud.kill_conductor(cloud.conductor_names[0])
        tally.injected += 1
        for thread in deleters:
            thread.join(60)
        cloud.restart_conductor(cloud.conductor_names[0])
        retried = [i for i in ids if (cloud.server(i) or {"status": "DELETED"})["status"] != "DELETED"]
        for server_id in retried:  # a DELETE that died with the conductor is retried, as a client does
            cloud.http("DELETE", f"/servers/{server_id}")
        for server_id in ids:
            gone = cloud.wait_server(server_id, lambda s: s is None, 2 * SERVICE_DOWN_TIME + 30)
            if gone is None:
                tally.completed += 1
            else:
                tally.stuck += 1
    cloud.audit(tally, set())
    assert tally.clean, tally
    assert not any(cloud.hypervisor_instances().values()), cloud.hypervisor_instances()


def test_sigterm_stops_a_busy_conductor_within_its_graceful_timeout(cluster, tallies):
    """Builds that outlast ``graceful_shutdown_timeout`` (5 s here) are handed to the
    other conductor, which finishes them; the stopped one exits in time."""
    cloud = cluster
    tally = _begin(
        cloud,
        tallies,
        "2 conductors, SIGTERM with 20 s spawns in flight",
        hosts=2,
        extra="spawn_latency = 20\n",
    )
    outcomes = _burst_done(cloud, "long", 4)
    time.sleep(0.5)
    for name in cloud.conductor_names:
        started = time.monotonic()
        status = cloud.conductors.pop(name).stop(timeout=30)
        tally.injected += 1
        took = time.monotonic() - started
        tally.recover_s.append(took)
        assert status == 0 and took < 5 + 4, f"{name}: exit {status} after {took:.1f} s"
        cloud.restart_conductor(name)
    for server_id in outcomes.values():
        assert server_id is not None
        tally.count_outcome(cloud.wait_server(server_id, _settled, 90))
    cloud.audit(tally, {i for i in outcomes.values() if i})
    assert tally.clean and tally.completed == 4, tally
