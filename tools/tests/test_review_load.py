"""tools/review-load on synthetic histories built here."""

import json
import os
import pathlib
import subprocess
import sys

import pytest

from nova_tools import review_load

TOOL = pathlib.Path(__file__).resolve().parents[1] / "review-load"


def git(repo, *args, date="2014-01-15T12:00:00+00:00"):
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "A",
        "GIT_AUTHOR_EMAIL": "a@example.org",
        "GIT_COMMITTER_NAME": "C",
        "GIT_COMMITTER_EMAIL": "c@example.org",
        "GIT_AUTHOR_DATE": date,
        "GIT_COMMITTER_DATE": date,
    }
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=env
    )


def commit(repo, files, date, message="change"):
    for path in files:
        target = repo / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(target.read_text() + "x\n" if target.exists() else "x\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message, date=date)


@pytest.fixture
def nova(tmp_path):
    """A Nova-shaped history across three quarters of 2014, with a merge."""
    repo = tmp_path / "nova"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "master")
    commit(repo, ["nova/compute/manager.py"], "2014-01-10T10:00:00+00:00")  # common
    commit(repo, ["nova/virt/libvirt/driver.py"], "2014-01-11T10:00:00+00:00")  # one driver
    commit(
        repo,
        ["nova/tests/unit/virt/libvirt/test_driver.py", "nova/virt/libvirt/vif.py"],
        "2014-02-01T10:00:00+00:00",
    )  # one driver (tests)
    commit(repo, ["nova/virt/vmwareapi/vmops.py"], "2014-04-02T10:00:00+00:00")  # one driver
    commit(
        repo, ["nova/virt/libvirt/driver.py", "nova/virt/hyperv/driver.py"], "2014-04-03T10:00:00+00:00"
    )  # several
    commit(
        repo, ["nova/virt/driver.py", "nova/virt/libvirt/driver.py"], "2014-05-01T10:00:00+00:00"
    )  # driver+common
    commit(repo, ["nova/virt/disk/api.py"], "2014-05-02T10:00:00+00:00")  # common (shared helper)
    commit(
        repo, ["nova/tests/virt/xenapi/test_vm_utils.py"], "2014-07-01T10:00:00+00:00"
    )  # one driver (old test layout)
    git(repo, "checkout", "-q", "-b", "topic")
    commit(repo, ["nova/virt/hyperv/vmops.py"], "2014-07-02T10:00:00+00:00")  # one driver
    git(repo, "checkout", "-q", "master")
    commit(repo, ["nova/api/openstack/compute/servers.py"], "2014-07-03T10:00:00+00:00")  # common
    git(repo, "merge", "-q", "--no-ff", "-m", "Merge topic", "topic", date="2014-07-04T10:00:00+00:00")
    git(repo, "commit", "-q", "--allow-empty", "-m", "empty", date="2014-07-05T10:00:00+00:00")
    return repo


def counts(report, key):
    return {area: report.rows[key].get(area, 0) for area in review_load.AREAS}


def test_nova_layout_by_quarter(nova):
    areas = review_load.AreaMap.from_dict(review_load.LAYOUTS["nova"])
    report = review_load.review_load(str(nova), areas, "quarter")
    assert counts(report, "2014-Q1") == {
        "one-driver": 2,
        "several-drivers": 0,
        "driver+common": 0,
        "common": 1,
    }
    assert counts(report, "2014-Q2") == {
        "one-driver": 1,
        "several-drivers": 1,
        "driver+common": 1,
        "common": 1,
    }
    # the merge commit is excluded; the empty commit has no path and is skipped
    assert counts(report, "2014-Q3") == {
        "one-driver": 2,
        "several-drivers": 0,
        "driver+common": 0,
        "common": 1,
    }
    assert report.skipped == 1
    assert sum(report.totals().values()) == 10


def test_periods_and_date_range(nova):
    areas = review_load.AreaMap.from_dict(review_load.LAYOUTS["nova"])
    by_month = review_load.review_load(str(nova), areas, "month", since="2014-04-01", until="2014-05-31")
    assert sorted(by_month.rows) == ["2014-04", "2014-05"]
    assert counts(by_month, "2014-04")["several-drivers"] == 1
    by_year = review_load.review_load(str(nova), areas, "year")
    assert list(by_year.rows) == ["2014"]


def test_this_repository_layout(tmp_path):
    repo = tmp_path / "split"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    commit(repo, ["drivers/libvirt/nova_driver_libvirt/driver.py"], "2026-01-01T00:00:00+00:00")
    commit(repo, ["drivers/libvirt/x.py", "drivers/vmware/y.py"], "2026-01-02T00:00:00+00:00")
    commit(repo, ["drivers/fake/x.py", "nova-common/nova_common/virt/api.py"], "2026-01-03T00:00:00+00:00")
    commit(repo, ["nova-common/nova_common/rpc.py", "tox.ini"], "2026-01-04T00:00:00+00:00")
    commit(repo, ["drivers/README.md"], "2026-01-05T00:00:00+00:00")  # not inside a driver: common
    areas = review_load.AreaMap.from_dict(review_load.LAYOUTS["this"])
    report = review_load.review_load(str(repo), areas, "month")
    assert counts(report, "2026-01") == {
        "one-driver": 1,
        "several-drivers": 1,
        "driver+common": 1,
        "common": 2,
    }


def test_area_map_file_with_ignore(tmp_path, nova):
    area_file = tmp_path / "areas.toml"
    area_file.write_text(
        'drivers = ["^nova/virt/(?P<driver>[^/]+)/"]\nnot_drivers = ["disk"]\nignore = ["^nova/tests/"]\n'
    )
    report = review_load.review_load(str(nova), review_load.AreaMap.load(str(area_file)), "year")
    # test-only commits are ignored entirely (skipped), libvirt+tests counts as one driver
    assert report.skipped == 2
    assert report.rows["2014"]["one-driver"] == 4


@pytest.mark.parametrize(
    "data,message",
    [
        ({"drivers": ["^nova/virt/"]}, "has no (?P<driver>...) group"),
        ({"drivers": ["(unclosed"]}, "invalid pattern"),
        ({"drivers": "nope"}, "field 'drivers' must be a list"),
        ({"driver": []}, "unknown field"),
    ],
)
def test_bad_area_map_names_the_field(data, message):
    with pytest.raises(
        review_load.AreaMapError, match=message.replace("(", r"\(").replace(")", r"\)").replace("?", r"\?")
    ):
        review_load.AreaMap.from_dict(data, "areas.toml")


def test_cli_table_json_png(nova, tmp_path):
    out_json, out_png = tmp_path / "load.json", tmp_path / "load.png"
    result = subprocess.run(
        [
            sys.executable,
            str(TOOL),
            "--repo",
            str(nova),
            "--layout",
            "nova",
            "--period",
            "quarter",
            "--json",
            str(out_json),
            "--png",
            str(out_png),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "2014-Q2" in result.stdout and "several-drivers" in result.stdout
    data = json.loads(out_json.read_text())
    assert data["periods"]["2014-Q2"]["several-drivers"] == 1
    assert data["total"]["commits"] == 10
    pytest.importorskip("matplotlib", reason="matplotlib is not installed; the PNG chart needs it")
    assert out_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_errors(tmp_path):
    result = subprocess.run(
        [sys.executable, str(TOOL), "--repo", str(tmp_path / "nope")], capture_output=True, text=True
    )
    assert result.returncode == 2 and "--repo" in result.stderr
    assert subprocess.run([sys.executable, str(TOOL), "--help"], capture_output=True).returncode == 0
