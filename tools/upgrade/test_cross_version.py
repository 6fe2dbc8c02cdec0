"""Old driver with new core, new driver with old core: the kit black-box at each pairing
(the driver's nova-compute from its own release's venv, the kit of the core's time from the
core's), then a deployment of that pairing running every server action.

Needs the recorded releases nova-common 1.0.0 and a later one, nova-driver-fake 1.0.0 and a
later one (and a kit release for each core); without them it fails under CI and skips
elsewhere, saying which is missing."""

import pytest

from nova_tools.compat_matrix import run_pair
from nova_tools.upgrade import Deployment

PAIRINGS = {
    "old-driver-new-core": lambda cores, fakes: (cores[1], fakes[0]),
    "new-driver-old-core": lambda cores, fakes: (cores[0], fakes[1]),
}


@pytest.mark.parametrize("pairing", sorted(PAIRINGS))
def test_kit_black_box_across_versions(pairing, cores, fakes, records, envs, rabbit_url, tmp_path):
    core, driver = PAIRINGS[pairing](cores, fakes)
    cell = run_pair(records, envs, core, driver, rabbit_url, tmp_path)
    assert cell["status"] == "passed", (
        f"{core.spec} with {driver.spec}: {cell.get('reason') or cell.get('failed_checks')}"
    )
    assert cell["driver_base"] != cell["core"], (
        "the driver's nova-common must be another release than the core"
    )


@pytest.mark.parametrize("pairing", sorted(PAIRINGS))
def test_deployment_across_versions_runs_every_action(
    pairing, cores, fakes, records, envs, rabbit_url, tmp_path
):
    core, driver = PAIRINGS[pairing](cores, fakes)
    with Deployment(envs, records, core, tmp_path / "cloud", rabbit_url) as cloud:
        try:
            cloud.start_core()
            cloud.add_compute(driver)
            cloud.wait_for_hosts(1)
            server = cloud.create_server("across")
            assert server["status"] == "ACTIVE"
            outcomes = cloud.exercise(server["id"])
            assert outcomes and all(o == "ok" or o.startswith("not supported") for o in outcomes.values())
            assert cloud.cli("server", "show", server["id"])["status"] == "ACTIVE"
            cloud.cli("server", "delete", server["id"])
            assert cloud.servers() == []
        except Exception:
            print(cloud.logs())
            raise
