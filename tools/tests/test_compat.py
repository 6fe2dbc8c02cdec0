"""The support window, the pairings and can-i-deploy, on synthetic release records and a
synthetic matrix (the matrix run itself is proven in tools/upgrade/test_harness.py)."""

import json
import pathlib
import subprocess
import sys

import pytest

from nova_tools import compat_matrix, compat_window
from nova_tools.compat_window import Window
from nova_tools.release_records import load_records

TOOLS = pathlib.Path(__file__).resolve().parent.parent
CORE_SERIES = ["1.0.0", "1.1.0", "1.1.1", "1.2.0", "1.3.0", "2.0.0", "2.1.0"]


def git(repo, *args):
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


class Repo:
    """A git repository holding nothing but packages and their release records."""

    def __init__(self, path: pathlib.Path) -> None:
        self.path = path
        self.clock = 1_700_000_000
        path.mkdir()
        git(path, "init", "-q", "-b", "main")

    def record(self, package, distribution, version, drivers=(), virt=("1.0", "1.0")):
        self.clock += 3600
        (self.path / package / "releases").mkdir(parents=True, exist_ok=True)
        (self.path / package / "pyproject.toml").write_text(f'[project]\nname = "{distribution}"\n')
        data = {
            "distribution": distribution,
            "version": version,
            "package": package,
            "source_commit": f"{self.clock:040x}",
            "source_date_epoch": self.clock,
            "date": "",
            "drivers": list(drivers),
            "virt_api": {"min": virt[0], "max": virt[1]},
            "artifacts": {},
        }
        (self.path / package / "releases" / f"{version}.json").write_text(json.dumps(data))
        git(self.path, "add", "-A")
        return data

    def core(self, version):
        return self.record("nova-common", "nova-common", version)

    def kit(self, version):
        return self.record("contract-tests", "nova-contract-tests", version)

    def fake(self, version):
        return self.record("drivers/fake", "nova-driver-fake", version, drivers=["fake"])


@pytest.fixture
def repo(tmp_path):
    return Repo(tmp_path / "repo")


def by_spec(records):
    return {r.spec: r for r in records}


def test_a_driver_stands_on_the_newest_fix_of_its_base_series(repo):
    """A patch release of nova-common after a driver's release is what its nodes
    install with it (found live: fake 1.0.1 released on 1.1.0 ran on 1.1.0's scaffold,
    whose bug 1.1.1 fixed)."""
    repo.core("1.0.0")
    repo.core("1.1.0")
    repo.fake("1.0.1")  # released on 1.1.0
    repo.core("1.1.1")
    repo.core("1.2.0")
    spec = by_spec(load_records(repo.path))
    assert (
        compat_window.base_core(load_records(repo.path), spec["nova-driver-fake==1.0.1"]).version == "1.1.1"
    )


def test_window_counts_series_both_ways_and_retires_the_old_major(repo):
    for version in CORE_SERIES:
        repo.core(version)
        repo.fake(version)  # each fake release stands on the core released just before it
    records = load_records(repo.path)
    spec = by_spec(records)
    window = Window(older_drivers=2, older_cores=1, old_major_series=1)

    def inside(core, fake):
        return compat_window.outside_window(
            records, window, spec[f"nova-common=={core}"], spec[f"nova-driver-fake=={fake}"]
        )

    assert compat_window.base_core(records, spec["nova-driver-fake==1.1.1"]).version == "1.1.1"
    assert inside("1.2.0", "1.0.0") is None  # two series back
    assert "3 series newer than the driver's base; the window keeps 2 (older_drivers)" in inside(
        "1.3.0", "1.0.0"
    )
    assert inside("1.1.0", "1.1.1") is None  # same series (patch releases)
    assert inside("1.0.0", "1.1.0") is None  # a driver one series newer than the core
    assert "2 series older than the driver's base; the window keeps 1 (older_cores)" in inside(
        "1.0.0", "1.2.0"
    )
    assert inside("2.0.0", "1.3.0") is None  # the first series of the new major keeps old drivers
    assert "major 1 is retired after the first 1 series of major 2" in inside("2.1.0", "1.3.0")
    assert "the driver stands on a newer major (2)" in inside("1.3.0", "2.0.0")
    retire_at_once = Window(older_drivers=2, older_cores=1, old_major_series=0)
    reason = compat_window.outside_window(
        records, retire_at_once, spec["nova-common==2.0.0"], spec["nova-driver-fake==1.3.0"]
    )
    assert "retired after the first 0 series" in reason


def test_the_kit_of_a_core_is_the_one_released_in_its_time(repo):
    repo.core("1.0.0")
    repo.kit("1.0.0")  # released right after the core, same batch
    repo.core("1.1.0")
    repo.core("1.2.0")
    repo.kit("1.2.0")
    records = load_records(repo.path)
    spec = by_spec(records)
    assert compat_window.kit_for(records, spec["nova-common==1.0.0"]).version == "1.0.0"
    assert (
        compat_window.kit_for(records, spec["nova-common==1.1.0"]).version == "1.0.0"
    )  # the newest not newer
    assert compat_window.kit_for(records, spec["nova-common==1.2.0"]).version == "1.2.0"


def test_window_file_errors_name_the_key(tmp_path):
    path = tmp_path / "window.toml"
    path.write_text("[window]\nolder_drivers = -1\n")
    with pytest.raises(
        compat_window.WindowError, match=r"\[window\] older_drivers = -1 is not a whole number"
    ):
        compat_window.load_window(path)
    path.write_text("[window]\nolder_driver = 1\n")
    with pytest.raises(compat_window.WindowError, match=r"unknown keys \['older_driver'\]"):
        compat_window.load_window(path)
    assert compat_window.load_window(compat_window.DEFAULT_WINDOW) == Window(2, 1, 1)


@pytest.fixture
def deployed(repo, tmp_path):
    """Cores 1.0.0, 1.1.0, 1.2.0, 1.3.0, a kit, fakes 1.0.0 and 1.1.0; a matrix where
    1.1.0 x fake 1.0.0 passed, 1.2.0 x fake 1.0.0 failed, 1.0.0 x fake 1.0.0 never ran."""
    repo.core("1.0.0")
    repo.kit("1.0.0")
    repo.fake("1.0.0")
    repo.core("1.1.0")
    repo.core("1.2.0")
    repo.fake("1.1.0")
    repo.core("1.3.0")
    records = load_records(repo.path)
    spec = by_spec(records)

    def cell(core, fake, status, failed=()):
        c, d = spec[f"nova-common=={core}"], spec[f"nova-driver-fake=={fake}"]
        return {
            "core": core,
            "driver": "nova-driver-fake",
            "driver_version": fake,
            "kit": "1.0.0",
            "status": status,
            "sources": compat_matrix.sources(records, c, d),
            "failed_checks": [{"id": i, "message": "boom"} for i in failed],
            "report": compat_matrix.report_name(core, "nova-driver-fake", fake),
        }

    matrix = {
        "generated": "now",
        "window": Window().as_dict(),
        "cells": [cell("1.1.0", "1.0.0", "passed"), cell("1.2.0", "1.0.0", "failed", ["pause.state-after"])],
        "outside_window": [],
    }
    results = tmp_path / "results"
    compat_matrix.write_matrix(results, matrix)
    return repo, results


def can_i_deploy(repo, results, *args):
    return subprocess.run(
        [sys.executable, str(TOOLS / "can-i-deploy"), "--results", str(results), *args],
        cwd=repo.path,
        capture_output=True,
        text=True,
    )


def test_can_i_deploy_yes_for_a_passed_pair(deployed):
    repo, results = deployed
    result = can_i_deploy(repo, results, "nova-common==1.1.0", "--with", "nova-driver-fake==1.0.0")
    assert result.returncode == 0 and result.stdout.splitlines()[0] == "yes", result.stdout + result.stderr


def test_can_i_deploy_no_names_the_reason_of_each_pair(deployed):
    repo, results = deployed
    failed = can_i_deploy(repo, results, "nova-common==1.2.0", "--with", "nova-driver-fake==1.0.0")
    assert failed.returncode == 1 and failed.stdout.startswith("no")
    assert "failed the kit 1.0.0: pause.state-after: boom" in failed.stdout
    never = can_i_deploy(repo, results, "nova-common==1.0.0", "--with", "nova-driver-fake==1.0.0")
    assert never.returncode == 1 and "never tested" in never.stdout
    outside = can_i_deploy(repo, results, "nova-common==1.3.0", "--with", "nova-driver-fake==1.0.0")
    assert outside.returncode == 1
    assert "outside the support window" in outside.stdout and "(older_drivers)" in outside.stdout
    # several drivers: one bad pair is enough for a no, and only the bad one is listed
    mixed = can_i_deploy(
        repo,
        results,
        "nova-common==1.1.0",
        "--with",
        "nova-driver-fake==1.0.0",
        "--with",
        "nova-driver-fake==1.1.0",
    )
    assert mixed.returncode == 1
    assert "nova-driver-fake==1.1.0: never tested" in mixed.stdout and "==1.0.0: passed" not in mixed.stdout


def test_can_i_deploy_a_side_alone_checks_the_newest_other_side(deployed):
    repo, results = deployed
    result = can_i_deploy(repo, results, "nova-driver-fake==1.0.0", "--json")
    (check,) = json.loads(result.stdout)["checks"]
    assert check["pair"] == "nova-common==1.3.0 with nova-driver-fake==1.0.0" and result.returncode == 1


def test_can_i_deploy_refuses_stale_cells_and_bad_input(deployed):
    repo, results = deployed
    matrix = json.loads((results / "matrix.json").read_text())
    matrix["cells"][0]["sources"]["driver"] = "0" * 40
    (results / "matrix.json").write_text(json.dumps(matrix))
    stale = can_i_deploy(repo, results, "nova-common==1.1.0", "--with", "nova-driver-fake==1.0.0")
    assert stale.returncode == 1 and "tested from other source commits" in stale.stdout
    unknown = can_i_deploy(repo, results, "nova-common==9.0.0")
    assert unknown.returncode == 2
    assert (
        "nova-common==9.0.0 is not recorded (recorded nova-common: 1.0.0, 1.1.0, 1.2.0, 1.3.0)"
        in unknown.stderr
    )
    kit = can_i_deploy(repo, results, "nova-contract-tests==1.0.0")
    assert kit.returncode == 2 and "the contract kit, not something deployed" in kit.stderr
    malformed = can_i_deploy(repo, results, "nova-common-1.0.0")
    assert malformed.returncode == 2 and "'nova-common-1.0.0' is not DIST==VERSION" in malformed.stderr


def test_matrix_pages_show_the_grid_with_links(deployed):
    _, results = deployed
    page = (results / "matrix.html").read_text()
    assert '<a href="reports/1.1.0--nova-driver-fake-1.0.0.json">pass</a>' in page
    assert 'title="pause.state-after"' in page
    markdown = (results / "matrix.md").read_text()
    assert "| 1.2.0 | [FAIL](reports/1.2.0--nova-driver-fake-1.0.0.json) |" in markdown
    assert "- nova-common 1.2.0 x nova-driver-fake 1.0.0: pause.state-after" in markdown


def test_driver_configs_come_from_the_file_and_the_command_line(tmp_path):
    path = tmp_path / "drivers.toml"
    path.write_text('[libvirt]\nconfig = """\n[libvirt]\nconnection_uri = test:///default\n"""\n')
    vcsim = tmp_path / "vcsim.conf"
    vcsim.write_text("[vmware]\nhost_ip = 127.0.0.1\n")
    configs = compat_matrix.load_driver_configs(path, [f"vmware={vcsim}"])
    assert configs == {
        "libvirt": "[libvirt]\nconnection_uri = test:///default\n",
        "vmware": vcsim.read_text(),
    }
    with pytest.raises(compat_matrix.RecordError, match=r"--driver-config: 'vmware' is not NAME=FILE"):
        compat_matrix.load_driver_configs(path, ["vmware"])
    shipped = compat_matrix.load_driver_configs(compat_matrix.DEFAULT_DRIVER_CONFIG)
    assert "connection_uri = test:///default" in shipped["libvirt"]
