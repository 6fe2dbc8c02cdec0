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


# -- dates: UTC days, landing ------------------------------------------------------------------------


def commit_as(repo, email, files, date, message="change"):
    for path in files:
        target = repo / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(target.read_text() + "x\n" if target.exists() else "x\n")
    git(repo, "add", "-A")
    env = {"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date, "GIT_COMMITTER_NAME": "C"}
    subprocess.run(
        ["git", "-C", str(repo), "commit", "-q", "-m", message, f"--author=Dev <{email}>"],
        check=True,
        env={**os.environ, **env, "GIT_COMMITTER_EMAIL": "c@example.org"},
    )


def land(repo, files, uploaded, merged, title="change"):
    """A Gerrit landing: the change committed at ``uploaded`` on the main line's previous
    commit, merged at ``merged`` by a "Merge" commit."""
    git(repo, "checkout", "-q", "-b", "change", "HEAD~1")
    commit_as(repo, "a@example.org", files, uploaded, title)
    git(repo, "checkout", "-q", "master")
    git(repo, "merge", "-q", "--no-ff", "-m", f'Merge "{title}"', "change", date=merged)
    git(repo, "branch", "-q", "-D", "change")


@pytest.fixture
def gerrit_repo(tmp_path):
    repo = tmp_path / "gerrit"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "master")
    commit(repo, ["README"], "2014-01-01T00:00:00+00:00", "root")
    commit(repo, ["nova/compute/api.py"], "2014-01-02T00:00:00+00:00", "second")
    # uploaded in March, landed in April (UTC); in New York the landing is still March 31
    land(repo, ["nova/virt/libvirt/driver.py"], "2014-03-20T10:00:00+00:00", "2014-04-01T01:30:00+00:00")
    # landed at the last second of March, UTC, written in a zone east of UTC
    land(repo, ["nova/compute/manager.py"], "2014-03-30T10:00:00+00:00", "2014-04-01T01:59:59+02:00")
    return repo


def test_landed_date_is_the_merge_on_the_main_line(gerrit_repo):
    areas = review_load.AreaMap.from_dict(review_load.LAYOUTS["nova"])
    landed = review_load.review_load(str(gerrit_repo), areas, "quarter", date="landed")
    committed = review_load.review_load(str(gerrit_repo), areas, "quarter", date="committer")
    assert counts(landed, "2014-Q2") == {
        "one-driver": 1,
        "several-drivers": 0,
        "driver+common": 0,
        "common": 0,
    }
    # the root and the second commit, and the change landed at 23:59:59 UTC on March 31
    assert counts(landed, "2014-Q1")["common"] == 3
    assert "2014-Q2" not in committed.rows
    assert sum(committed.totals().values()) == sum(landed.totals().values()) == 4


def test_since_and_until_are_midnight_utc_whatever_the_local_zone(gerrit_repo):
    outputs = set()
    for zone in ("America/New_York", "Asia/Tokyo", "UTC"):
        result = subprocess.run(
            [
                sys.executable,
                str(TOOL),
                "--repo",
                str(gerrit_repo),
                "--layout",
                "nova",
                "--period",
                "month",
                "--since",
                "2014-04-01",
                "--until",
                "2014-05-01",
            ],
            capture_output=True,
            text=True,
            env={**os.environ, "TZ": zone},
        )
        assert result.returncode == 0, result.stderr
        outputs.add(result.stdout.rsplit("\n\n", 1)[0])
    assert len(outputs) == 1
    (table,) = outputs
    # only the change landed at 01:30 UTC on April 1 counts; 23:59:59 UTC on March 31 does not
    assert "2014-04" in table and "2014-03" not in table
    assert "2014-04-01 to 2014-04-30 (UTC days, by landed date)" in table


def test_a_period_the_range_does_not_cover_is_partial(nova):
    areas = review_load.AreaMap.from_dict(review_load.LAYOUTS["nova"])
    report = review_load.review_load(str(nova), areas, "quarter", since="2014-02-01", until="2014-07-01")
    assert sorted(report.rows) == ["2014-Q1", "2014-Q2"]
    assert report.partial == {"2014-Q1"}
    assert report.as_dict()["periods"]["2014-Q1"]["partial"] is True
    assert "2014-Q1*" in report.table() and "partial period" in report.table()
    whole = review_load.review_load(str(nova), areas, "quarter", since="2014-01-01", until="2014-07-01")
    assert whole.partial == frozenset()
    # no bounds: the history's first and last days bound the range
    open_ended = review_load.review_load(str(nova), areas, "quarter")
    assert open_ended.partial == {"2014-Q1", "2014-Q3"}


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"since": "2014-13-01"}, "since: '2014-13-01' is not a date"),
        ({"until": "yesterday"}, "until: 'yesterday' is not a date"),
        ({"since": "2014-05-01", "until": "2014-04-01"}, "until: '2014-04-01' is not after since"),
        ({"date": "merged"}, "date: unknown value 'merged'"),
    ],
)
def test_bad_dates_name_the_field(nova, kwargs, message):
    areas = review_load.AreaMap.from_dict(review_load.LAYOUTS["nova"])
    with pytest.raises(review_load.AreaMapError, match=message):
        review_load.review_load(str(nova), areas, "quarter", **kwargs)


# -- by team -----------------------------------------------------------------------------------------


@pytest.fixture
def split_repo(tmp_path):
    repo = tmp_path / "split"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "master")
    (repo / "nova-common").mkdir()
    (repo / "nova-common" / "OWNERS").write_text("team: nova-core\napprovers: [core@example.org]\n")
    for name, member in (("libvirt", "lv@example.org"), ("vmware", "vm@example.org")):
        (repo / "drivers" / name).mkdir(parents=True)
        (repo / "drivers" / name / "OWNERS").write_text(f"team: {name}-core\napprovers: [{member}]\n")
    commit(repo, ["tox.ini"], "2026-01-01T00:00:00+00:00", "owners")

    def by(email, files, date):
        commit_as(repo, email, files, date)

    by("LV@example.org", ["drivers/libvirt/a.py"], "2026-01-02T00:00:00+00:00")  # own driver
    by("lv@example.org", ["drivers/libvirt/a.py", "nova-common/x.py"], "2026-01-03T00:00:00+00:00")
    by("lv@example.org", ["nova-common/y.py"], "2026-02-03T00:00:00+00:00")  # common
    by("lv@example.org", ["drivers/vmware/v.py"], "2026-02-04T00:00:00+00:00")  # another team's driver
    by("vm@example.org", ["drivers/vmware/v.py"], "2026-02-05T00:00:00+00:00")
    by("core@example.org", ["nova-common/z.py", "drivers/vmware/v.py"], "2026-02-06T00:00:00+00:00")
    by("someone@example.org", ["nova-common/z.py"], "2026-02-07T00:00:00+00:00")  # in no team
    return repo


def test_by_team_from_owners_files(split_repo):
    areas = review_load.AreaMap.from_dict(review_load.LAYOUTS["this"])
    teams = review_load.Teams.from_owners(str(split_repo))
    report = review_load.review_load(str(split_repo), areas, "month", teams=teams)
    libvirt = report.teams["libvirt-core"]
    assert dict(libvirt["2026-01"]) == {"own-driver": 1, "own-driver+common": 1}
    assert dict(libvirt["2026-02"]) == {"common": 1, "other-drivers": 1}
    assert dict(report.teams["vmware-core"]["2026-02"]) == {"own-driver": 1}
    assert dict(report.teams["nova-core"]["2026-02"]) == {"other-drivers": 1}
    data = report.as_dict()["teams"]["libvirt-core"]["2026-02"]
    assert data["commits"] == 2 and data["share"]["common"] == 0.5
    table = report.team_table()
    assert "team libvirt-core" in table and "own-driver+common" in table


def test_by_team_from_a_mapping_file(split_repo, tmp_path):
    mapping = tmp_path / "teams.toml"
    mapping.write_text(
        '[[team]]\nname = "virt"\ndriver = "libvirt"\nmembers = ["lv@example.org", "vm@example.org"]\n'
    )
    result = subprocess.run(
        [
            sys.executable,
            str(TOOL),
            "--repo",
            str(split_repo),
            "--period",
            "year",
            "--teams",
            str(mapping),
            "--json",
            str(tmp_path / "t.json"),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    row = json.loads((tmp_path / "t.json").read_text())["teams"]["virt"]["2026"]
    assert {k: row[k] for k in review_load.TEAM_AREAS} == {
        "own-driver": 1,
        "own-driver+common": 1,
        "common": 1,
        "other-drivers": 2,
    }
    mapping.write_text('[[team]]\nname = "virt"\nmembers = "lv@example.org"\n')
    result = subprocess.run(
        [sys.executable, str(TOOL), "--repo", str(split_repo), "--teams", str(mapping)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2 and "team[0]: field 'members' must be a non-empty list" in result.stderr
