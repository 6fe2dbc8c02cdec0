"""tools/review-policy: every branch of the rule, table-driven, on Gerrit REST JSON."""

import json
import os
import pathlib
import subprocess
import sys

import pytest

from nova_tools import owners as owners_mod
from nova_tools import review_policy

TOOL = pathlib.Path(__file__).resolve().parents[1] / "review-policy"

CORE = ["core1@example.org", "core2@example.org", "core3@example.org"]
LIBVIRT = {"approvers": ["lv-lead@example.org"], "reviewers": ["lv-dev@example.org"]}
VMWARE = {"approvers": ["vm-lead@example.org"], "reviewers": []}


@pytest.fixture
def repo(tmp_path):
    (tmp_path / "nova-common").mkdir()
    (tmp_path / "nova-common" / "OWNERS").write_text(json.dumps({"team": "nova-core", "approvers": CORE}))
    for name, team in (("libvirt", LIBVIRT), ("vmware", VMWARE)):
        (tmp_path / "drivers" / name).mkdir(parents=True)
        (tmp_path / "drivers" / name / "OWNERS").write_text(json.dumps({"team": f"{name}-core", **team}))
    # core3 is also on the libvirt team
    (tmp_path / "drivers" / "libvirt" / "OWNERS").write_text(
        "team: libvirt-core\n"
        "approvers: [lv-lead@example.org, core3@example.org]\n"
        "reviewers: [lv-dev@example.org]\n"
    )
    return tmp_path


def change(files, votes, xssi=False):
    body = {
        "id": "nova~main~I0",
        "current_revision": "abc",
        "revisions": {"abc": {"files": {f: {"lines_inserted": 1} for f in ["/COMMIT_MSG", *files]}}},
        "labels": {
            "Code-Review": {
                "all": [
                    {"value": value, "email": email, "_account_id": 1000 + n, "username": email.split("@")[0]}
                    for n, (email, value) in enumerate(votes)
                ]
                + [{"value": 0, "email": "bystander@example.org", "_account_id": 99}]
            }
        },
    }
    text = json.dumps(body)
    return (")]}'\n" + text) if xssi else text


LV = ["drivers/libvirt/nova_driver_libvirt/driver.py", "drivers/libvirt/tests/test_driver.py"]
VM = ["drivers/vmware/nova_driver_vmware/driver.py"]
COMMON = ["nova-common/nova_common/virt/api.py"]

CASES = [
    # id, files, votes, submittable, area, reason fragment
    (
        "driver: core +2 and team +1",
        LV,
        [("core1@example.org", 2), ("lv-dev@example.org", 1)],
        True,
        "driver:libvirt",
        "libvirt team +1",
    ),
    (
        "driver: core +2 and team approver +1",
        LV,
        [("core1@example.org", 2), ("lv-lead@example.org", 1)],
        True,
        "driver:libvirt",
        "lv-lead",
    ),
    (
        "driver: core +2 only",
        LV,
        [("core1@example.org", 2)],
        False,
        "driver:libvirt",
        "no +1 or +2 from the libvirt team",
    ),
    (
        "driver: team +1 only",
        LV,
        [("lv-dev@example.org", 1)],
        False,
        "driver:libvirt",
        "no +2 from a core approver",
    ),
    (
        "driver: two core +2, none from the team",
        LV,
        [("core1@example.org", 2), ("core2@example.org", 2)],
        False,
        "driver:libvirt",
        "no +1 or +2 from the libvirt team",
    ),
    (
        "driver: core who is also on the team, alone",
        LV,
        [("core3@example.org", 2)],
        False,
        "driver:libvirt",
        "same person",
    ),
    (
        "driver: core-and-team member counts as the team vote",
        LV,
        [("core3@example.org", 2), ("core1@example.org", 2)],
        True,
        "driver:libvirt",
        "core +2",
    ),
    (
        "driver: core-and-team member +1 with another core +2",
        LV,
        [("core1@example.org", 2), ("core3@example.org", 1)],
        True,
        "driver:libvirt",
        "libvirt team +1 from core3",
    ),
    (
        "driver: the other driver's team does not count",
        LV,
        [("core1@example.org", 2), ("vm-lead@example.org", 1)],
        False,
        "driver:libvirt",
        "no +1 or +2 from the libvirt team",
    ),
    (
        "driver: outsider +1 does not count",
        LV,
        [("core1@example.org", 2), ("someone@example.org", 1)],
        False,
        "driver:libvirt",
        "libvirt team",
    ),
    (
        "driver: team +1 with core +1 is not enough",
        LV,
        [("core1@example.org", 1), ("lv-dev@example.org", 1)],
        False,
        "driver:libvirt",
        "no +2 from a core approver",
    ),
    (
        "driver: any -2 blocks",
        LV,
        [("core1@example.org", 2), ("lv-dev@example.org", 1), ("core2@example.org", -2)],
        False,
        "driver:libvirt",
        "-2 from core2",
    ),
    (
        "driver: a -2 from an outsider blocks too",
        LV,
        [("core1@example.org", 2), ("lv-dev@example.org", 1), ("x@example.org", -2)],
        False,
        "driver:libvirt",
        "-2 from x@",
    ),
    (
        "driver: a -1 does not block",
        LV,
        [("core1@example.org", 2), ("lv-dev@example.org", 1), ("x@example.org", -1)],
        True,
        "driver:libvirt",
        "core +2",
    ),
    (
        "vmware: core +2 and team +1",
        VM,
        [("core2@example.org", 2), ("vm-lead@example.org", 1)],
        True,
        "driver:vmware",
        "vmware team",
    ),
    (
        "two drivers: core +2 and both teams' +1",
        LV + VM,
        [("core1@example.org", 2), ("lv-dev@example.org", 1), ("vm-lead@example.org", 1)],
        False,
        "common",
        "several drivers",
    ),
    (
        "two drivers: two core +2",
        LV + VM,
        [("core1@example.org", 2), ("core2@example.org", 2)],
        True,
        "common",
        "core +2",
    ),
    (
        "driver and common: core +2 and team +1",
        LV + COMMON,
        [("core1@example.org", 2), ("lv-dev@example.org", 1)],
        False,
        "common",
        "driver code and common code",
    ),
    (
        "driver and common: two core +2",
        LV + COMMON,
        [("core1@example.org", 2), ("core3@example.org", 2)],
        True,
        "common",
        "core +2",
    ),
    ("common: one core +2", COMMON, [("core1@example.org", 2)], False, "common", "1 core +2 of the 2 needed"),
    (
        "common: two core +2",
        COMMON,
        [("core1@example.org", 2), ("core2@example.org", 2)],
        True,
        "common",
        "core +2",
    ),
    (
        "common: the same core twice counts once",
        COMMON,
        [("core1@example.org", 2), ("core1@example.org", 2)],
        False,
        "common",
        "1 core +2",
    ),
    (
        "common: a driver approver's +2 is not core",
        COMMON,
        [("core1@example.org", 2), ("lv-lead@example.org", 2)],
        False,
        "common",
        "1 core +2",
    ),
    (
        "common: two core +2 and a -2",
        COMMON,
        [("core1@example.org", 2), ("core2@example.org", 2), ("core3@example.org", -2)],
        False,
        "common",
        "-2 from core3",
    ),
    (
        "a file directly under drivers/ is common",
        ["drivers/README.md"],
        [("core1@example.org", 2)],
        False,
        "common",
        "common code",
    ),
]


@pytest.mark.parametrize("name,files,votes,submittable,area,reason", CASES, ids=[c[0] for c in CASES])
def test_rule(repo, name, files, votes, submittable, area, reason):
    verdict = review_policy.evaluate(review_policy.parse_change(change(files, votes)), owners_mod.load(repo))
    assert verdict.submittable is submittable, verdict
    assert verdict.area == area
    assert any(reason in r for r in verdict.reasons), verdict.reasons
    assert "/COMMIT_MSG" not in verdict.files


def test_xssi_prefix_and_account_ids(repo):
    text = change(LV, [("core1@example.org", 2), ("lv-dev@example.org", 1)], xssi=True)
    assert review_policy.evaluate(review_policy.parse_change(text), owners_mod.load(repo)).submittable
    # an OWNERS entry may name a numeric account id
    (repo / "drivers" / "vmware" / "OWNERS").write_text("team: vmware-core\napprovers: [1001]\n")
    text = change(VM, [("core1@example.org", 2), ("anyone@example.org", 1)])
    assert review_policy.evaluate(review_policy.parse_change(text), owners_mod.load(repo)).submittable


@pytest.mark.parametrize(
    "body,field",
    [
        ("[1, 2]", "expected a JSON object"),
        ('{"labels": {}}', "revisions"),
        ('{"current_revision": "a", "revisions": {"a": {}}}', "revisions['a'].files"),
        (
            '{"current_revision": "a", "revisions": {"a": {"files": {}}}, "labels": {"Code-Review": {}}}',
            "labels['Code-Review'].all",
        ),
        (
            '{"current_revision": "a", "revisions": {"a": {"files": {}}}, '
            '"labels": {"Code-Review": {"all": [{"value": "2", "email": "a@b"}]}}}',
            "all[0].value",
        ),
        ("not json", "not JSON"),
    ],
)
def test_bad_change_names_the_field(repo, body, field):
    with pytest.raises(review_policy.ChangeError, match=field.replace("[", r"\[").replace("]", r"\]")):
        review_policy.evaluate(review_policy.parse_change(body), owners_mod.load(repo))


def test_bad_owners_names_file_and_field(repo):
    (repo / "drivers" / "vmware" / "OWNERS").write_text("approvers: lead@example.org\n")
    with pytest.raises(owners_mod.OwnersError, match=r"drivers/vmware/OWNERS: field 'approvers'"):
        owners_mod.load(repo)
    (repo / "drivers" / "vmware" / "OWNERS").write_text("approvers: [a]\nmaintainers: [b]\n")
    with pytest.raises(owners_mod.OwnersError, match="unknown field"):
        owners_mod.load(repo)


def test_gerrit_config_and_codeowners(repo):
    owners = owners_mod.load(repo)
    config = review_policy.gerrit_project_config(owners)
    assert "submittableIf = -label:Code-Review=MIN" in config
    assert "label-Code-Review = -2..+2 group nova-core" in config
    assert '[submit-requirement "Driver-Review-libvirt"]' in config
    assert 'applicableIf = file:"^drivers/libvirt/.*" -file:"^~(drivers/libvirt/.*)"' in config
    assert "label:Code-Review>=1,group=libvirt-core" in config
    assert "submittableIf = label:Code-Review=+2,count>=2" in config
    codeowners = review_policy.codeowners(owners, org="openstack")
    assert "* @openstack/nova-core" in codeowners.splitlines()
    assert "/drivers/libvirt/ @openstack/libvirt-core @openstack/nova-core" in codeowners.splitlines()
    plain = review_policy.codeowners(owners)
    assert "/drivers/vmware/ vm-lead@example.org core1@example.org" in plain


def test_cli(repo, tmp_path):
    good = tmp_path / "good.json"
    good.write_text(change(LV, [("core1@example.org", 2), ("lv-dev@example.org", 1)], xssi=True))
    bad = tmp_path / "bad.json"
    bad.write_text(change(COMMON, [("core1@example.org", 2)]))
    run = lambda *a, **kw: subprocess.run(  # noqa: E731
        [sys.executable, str(TOOL), "--root", str(repo), *a], capture_output=True, text=True, **kw
    )
    out = run("evaluate", str(good))
    assert out.returncode == 0 and out.stdout.startswith("SUBMITTABLE (driver:libvirt)"), out
    out = run("evaluate", "--json", "-", input=bad.read_text())
    assert out.returncode == 1
    assert json.loads(out.stdout)["submittable"] is False
    assert run("evaluate", str(tmp_path / "missing.json")).returncode == 2
    assert "Driver-Review-vmware" in run("gerrit-config").stdout
    assert run("--help").returncode == 0


def test_this_repository_has_valid_owners():
    owners = owners_mod.load(pathlib.Path(__file__).resolve().parents[2])
    assert owners.core.approvers
    for name in os.listdir(pathlib.Path(__file__).resolve().parents[2] / "drivers"):
        assert name in owners.drivers, f"drivers/{name} has no OWNERS file"
