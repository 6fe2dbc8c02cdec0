"""A rolling upgrade: a 1.0.0 deployment (core and three fake compute services with running
instances), the core upgraded, then each compute service one at a time. Every instance
survives, every server action keeps working or answers NotSupported, nothing is lost from the
database, and the pinned virt API version rises once the last old service is gone.

The fake driver keeps its instances in the compute process; for them to outlive a restart of
that process (as a real hypervisor's do) its release must keep them in ``[fake] state_file``,
which this test sets for every compute service."""

import re
import subprocess

import pytest
from conftest import RELEASES_REPO

from nova_tools.release_records import version_key
from nova_tools.upgrade import Deployment

#: How the conductor logs the version it pins compute RPC to ([upgrade_levels] compute = auto).
PIN_LOGGED = re.compile(r"upgrade_levels.*?compute.*?(\d+\.\d+)", re.I)


def pinned(cloud) -> str | None:
    found = PIN_LOGGED.findall(cloud.conductor.tail(10_000)) if cloud.conductor else []
    return found[-1] if found else None


def snapshot(cloud, ids):
    servers = {s["id"]: s for s in cloud.servers()}
    return {i: (servers[i]["status"], servers[i]["OS-EXT-SRV-ATTR:host"]) for i in ids if i in servers}


def keeps_instances_across_restarts(record) -> bool:
    """Whether that fake driver release has ``[fake] state_file`` (read from its source commit)."""
    source = subprocess.run(
        [
            "git",
            "-C",
            str(RELEASES_REPO),
            "show",
            f"{record.source_commit}:drivers/fake/nova_driver_fake/driver.py",
        ],
        capture_output=True,
        text=True,
    ).stdout
    return '"state_file"' in source


def newest_of_line(records, release):
    """The newest recorded release of ``release``'s distribution speaking the same virt API range:
    the deployment starts from the 1.0 line's latest fixes, as an operator's would."""
    line = [r for r in records if r.distribution == release.distribution and r.virt_api == release.virt_api]
    return max(line, key=lambda r: version_key(r.version))


def test_rolling_upgrade_keeps_every_instance_and_row(cores, fakes, records, envs, rabbit_url, tmp_path):
    old_core, new_core = cores
    old_fake, new_fake = newest_of_line(records, fakes[0]), fakes[1]
    for release in (old_fake, new_fake):
        if not keeps_instances_across_restarts(release):
            # Not a missing backend: the recorded release cannot keep an instance across a
            # restart of its compute process, so the test could only fail. It runs once an
            # old and a new fake release with [fake] state_file are recorded.
            pytest.skip(
                f"nova-driver-fake {release.version} keeps instances only in its compute process "
                "(no [fake] state_file): the rolling upgrade needs releases that survive a restart"
            )
    state = tmp_path / "hypervisors"
    state.mkdir()
    with Deployment(envs, records, old_core, tmp_path / "cloud", rabbit_url) as cloud:
        try:
            cloud.compute_config = f"[fake]\nstate_file = {state}/${{host}}.json\n"
            cloud.start_core()
            # A 1.0.0 deployment: the compute hosts run the old core's nova-common too.
            hosts = [cloud.add_compute(old_fake, scaffold=old_core).host for _ in range(3)]
            assert len(cloud.wait_for_hosts(3)) == 3
            kept = [cloud.create_server(f"keep-{i}")["id"] for i in range(6)]
            cloud.cli("server", "stop", kept[0])
            expected = snapshot(cloud, kept)
            assert len({host for _, host in expected.values()}) == 3, expected
            rows = cloud.database_rows()

            def still_all_there(stage):
                cloud.settle()  # an instance its hypervisor lost is ERROR (or gone) by now
                assert snapshot(cloud, kept) == expected, f"after {stage}"
                now = cloud.database_rows()
                lost = {
                    t: sorted(rows[t] - now.get(t, set()))[:5] for t in rows if rows[t] - now.get(t, set())
                }
                assert not lost, f"rows lost after {stage}: {lost}"
                probe = cloud.create_server(f"probe-{stage}")
                outcomes = cloud.exercise(probe["id"])
                assert all(o == "ok" or o.startswith("not supported") for o in outcomes.values()), outcomes
                cloud.cli("server", "delete", probe["id"])

            # The new core pins every host to the oldest service. (Set with the upgrade, as an
            # operator would: 1.0.0 reads [upgrade_levels] compute as a version and refuses every
            # registration when it is "auto".)
            cloud.core_extra_config = "[upgrade_levels]\ncompute = auto\n"
            cloud.upgrade_core(new_core)
            assert len(cloud.wait_for_hosts(3)) == 3
            still_all_there(f"the core upgrade to {new_core.version}")
            old_pin = pinned(cloud)
            assert old_pin == old_fake.virt_api[1], f"the new core pinned {old_pin} with only old services"
            for number, host in enumerate(hosts, 1):
                cloud.upgrade_compute(host, new_fake)
                assert len(cloud.wait_for_hosts(3)) == 3
                still_all_there(f"upgrading {host} to {new_fake.version}")
                if number < len(hosts):
                    assert pinned(cloud) == old_pin, f"pin moved with {len(hosts) - number} old services left"
            new_max = new_fake.virt_api[1]
            assert pinned(cloud) == new_max, (
                f"pinned {pinned(cloud)} after the last old service left; expected {new_max}"
            )
        except Exception:
            print(cloud.logs())
            raise
