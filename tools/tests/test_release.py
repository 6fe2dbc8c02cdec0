"""tools/release on a synthetic monorepo with three packages (real git, real builds)."""

import hashlib
import json
import pathlib
import subprocess
import sys
import tarfile
import tomllib
import zipfile

import pytest

RELEASE = pathlib.Path(__file__).resolve().parent.parent / "release"


def git(repo, *args):
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def write(path: pathlib.Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def make_package(
    repo: pathlib.Path, rel: str, name: str, version: str, test_body: str = "assert True"
) -> None:
    module = name.replace("-", "_")
    write(
        repo / rel / "pyproject.toml",
        f'[build-system]\nrequires = ["setuptools>=68"]\nbuild-backend = "setuptools.build_meta"\n\n'
        f'[project]\nname = "{name}"\nversion = "{version}"\nrequires-python = ">=3.10"\n\n'
        f'[tool.setuptools]\npackages = ["{module}"]\n',
    )
    write(repo / rel / module / "__init__.py", "VALUE = 1\n")
    write(repo / rel / "tests" / "test_it.py", f"def test_it():\n    {test_body}\n")


# What tools/release reads from the monorepo's spec (the literals of nova_common/virt/api.py).
VIRT_API = """
VIRT_API_VERSION = "1.2"
VERSION_HISTORY: dict[str, str] = {"1.0": "first", "1.1": "adds", "1.2": "adds more"}
RELEASED_OBJECTS: dict[str, dict[str, str]] = {
    "1.0": {"Instance": "1.0-aaaa"},
    "1.2": {"Instance": "1.1-bbbb"},
}
"""


def note(repo, rel, slug, section, text):
    write(repo / rel / "releasenotes" / "notes" / f"{slug}.yaml", f"---\n{section}:\n  - {text}\n")


@pytest.fixture
def repo(tmp_path):
    repo = tmp_path / "mono"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.email", "t@example.org")
    git(repo, "config", "user.name", "Test")
    make_package(repo, "drivers/alpha", "nova-driver-alpha", "0.1.0")
    make_package(repo, "drivers/beta", "nova-driver-beta", "1.4.2")
    make_package(repo, "nova-common", "nova-common", "0.1.0")
    write(repo / "nova-common/nova_common/virt/api.py", VIRT_API)
    write(repo / "nova-common/nova_common/virt/report_api.py", 'REPORT_API_VERSION = "1.3"\n')
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "initial")
    return repo


def release(repo, *args):
    return subprocess.run(
        [sys.executable, str(RELEASE), *args], cwd=repo, capture_output=True, text=True, timeout=300
    )


def version_of(repo, rel):
    return tomllib.loads((repo / rel / "pyproject.toml").read_text())["project"]["version"]


def commit_notes(repo, message="notes"):
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


def test_feature_note_is_a_minor_release_touching_only_that_package(repo, tmp_path):
    note(repo, "drivers/alpha", "feature-a", "features", "Alpha can now pause.")
    note(repo, "drivers/beta", "fix-b", "fixes", "Beta stops leaking.")
    commit_notes(repo)
    result = release(repo, "drivers/alpha", "--outdir", str(tmp_path / "dist"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert version_of(repo, "drivers/alpha") == "0.2.0"
    assert version_of(repo, "drivers/beta") == "1.4.2"
    assert git(repo, "log", "-2", "--format=%s").splitlines() == [
        "Record release nova-driver-alpha 0.2.0",
        "Release nova-driver-alpha 0.2.0",
    ]
    changed = git(repo, "show", "--name-only", "--format=", "HEAD~1").split()
    assert sorted(changed) == ["drivers/alpha/CHANGELOG.md", "drivers/alpha/pyproject.toml"]
    recorded = git(repo, "show", "--name-only", "--format=", "HEAD").split()
    assert recorded == ["drivers/alpha/releases/0.2.0.json"]
    changelog = (repo / "drivers/alpha/CHANGELOG.md").read_text()
    assert "## nova-driver-alpha 0.2.0" in changelog and "Alpha can now pause." in changelog
    assert "Speaks virt API 1.0 to 1.2." in changelog
    assert "Beta stops leaking." not in changelog
    built = sorted(p.name for p in (tmp_path / "dist").iterdir())
    assert built == ["nova_driver_alpha-0.2.0-py3-none-any.whl", "nova_driver_alpha-0.2.0.tar.gz"]


def test_second_release_uses_only_new_notes_and_fix_is_patch(repo, tmp_path):
    note(repo, "drivers/beta", "feature-b", "features", "Beta snapshots.")
    commit_notes(repo)
    assert release(repo, "drivers/beta", "--outdir", str(tmp_path / "d1")).returncode == 0
    assert version_of(repo, "drivers/beta") == "1.5.0"
    note(repo, "drivers/beta", "fix-b", "fixes", "Beta snapshot names are escaped.")
    commit_notes(repo)
    result = release(repo, "drivers/beta", "--outdir", str(tmp_path / "d2"))
    assert result.returncode == 0, result.stderr
    assert version_of(repo, "drivers/beta") == "1.5.1"
    section = (repo / "drivers/beta/CHANGELOG.md").read_text().split("## nova-driver-beta 1.5.0")[0]
    assert "escaped" in section and "Beta snapshots." not in section


def test_upgrade_note_is_major_after_1_0_and_minor_before(repo, tmp_path):
    note(repo, "drivers/beta", "up-b", "upgrade", "Beta needs libfoo 2.")
    note(repo, "drivers/alpha", "up-a", "upgrade", "Alpha renames an option.")
    commit_notes(repo)
    assert release(repo, "drivers/beta", "--outdir", str(tmp_path / "b")).returncode == 0
    assert release(repo, "drivers/alpha", "--outdir", str(tmp_path / "a")).returncode == 0
    assert version_of(repo, "drivers/beta") == "2.0.0"
    assert version_of(repo, "drivers/alpha") == "0.2.0"


def test_refuses_when_tests_fail(repo, tmp_path):
    write(repo / "drivers/alpha/tests/test_it.py", "def test_it():\n    assert False, 'broken'\n")
    note(repo, "drivers/alpha", "feature-a", "features", "Alpha.")
    commit_notes(repo)
    result = release(repo, "drivers/alpha", "--outdir", str(tmp_path / "dist"))
    assert result.returncode == 1
    assert "refused: check failed" in result.stderr
    assert version_of(repo, "drivers/alpha") == "0.1.0"
    assert git(repo, "log", "-1", "--format=%s").strip() == "notes"
    assert not (repo / "drivers/alpha/releases").exists()
    assert not (tmp_path / "dist").exists()


def test_refuses_without_new_notes_or_with_local_changes(repo):
    result = release(repo, "drivers/alpha")
    assert result.returncode == 1 and "no release notes added to drivers/alpha" in result.stderr
    note(repo, "drivers/alpha", "feature-a", "features", "Alpha.")
    result = release(repo, "drivers/alpha")
    assert result.returncode == 1 and "uncommitted changes" in result.stderr


def test_dry_run_changes_nothing(repo):
    note(repo, "drivers/alpha", "feature-a", "features", "Alpha.")
    commit_notes(repo)
    head = git(repo, "rev-parse", "HEAD")
    result = release(repo, "drivers/alpha", "--dry-run")
    assert result.returncode == 0 and "0.1.0 -> 0.2.0 (minor" in result.stdout
    assert git(repo, "rev-parse", "HEAD") == head and git(repo, "status", "--porcelain") == ""


def test_bad_note_names_the_file(repo):
    write(repo / "drivers/alpha/releasenotes/notes/bad.yaml", "---\nfeaturez:\n  - typo\n")
    commit_notes(repo)
    result = release(repo, "drivers/alpha", "--dry-run")
    assert result.returncode == 1 and "release note bad.yaml: unknown sections ['featurez']" in result.stderr


def record_of(repo, rel, version):
    return json.loads((repo / rel / "releases" / f"{version}.json").read_text())


def sha256(path):
    return hashlib.sha256(pathlib.Path(path).read_bytes()).hexdigest()


def test_the_record_names_the_release_commit_the_contract_and_the_artifacts(repo, tmp_path):
    note(repo, "nova-common", "feature-c", "features", "Core schedules faster.")
    commit_notes(repo)
    result = release(repo, "nova-common", "--outdir", str(tmp_path / "dist"))
    assert result.returncode == 0, result.stdout + result.stderr
    record = record_of(repo, "nova-common", "0.2.0")
    source = git(repo, "rev-parse", "HEAD~1").strip()
    assert record["source_commit"] == source
    assert git(repo, "log", "-1", "--format=%s", source).strip() == "Release nova-common 0.2.0"
    assert record["source_date_epoch"] == int(git(repo, "log", "-1", "--format=%ct", source).strip())
    assert (record["distribution"], record["version"], record["package"]) == (
        "nova-common",
        "0.2.0",
        "nova-common",
    )
    assert record["virt_api"] == {"min": "1.0", "max": "1.2"}
    assert record["report_api"] == "1.3"
    assert record["released_objects"] == {"1.0": {"Instance": "1.0-aaaa"}, "1.2": {"Instance": "1.1-bbbb"}}
    wheel = record["artifacts"]["wheel"]
    sdist = record["artifacts"]["sdist"]
    assert (wheel["file"], sdist["file"]) == (
        "nova_common-0.2.0-py3-none-any.whl",
        "nova_common-0.2.0.tar.gz",
    )
    assert wheel["sha256"] == sha256(tmp_path / "dist" / wheel["file"])
    assert sdist["sha256"] == sha256(tmp_path / "dist" / sdist["file"])
    assert (wheel["verify"], sdist["verify"]) == ("sha256", "content_sha256")
    assert record["build"]["setuptools"]
    changelog = (repo / "nova-common/CHANGELOG.md").read_text()
    assert "Speaks virt API 1.0 to 1.2 and compute-report API 1.3." in changelog
    # a driver's record has no report API of its own, and names its entry points
    note(repo, "drivers/alpha", "feature-a", "features", "Alpha.")
    commit_notes(repo)
    assert release(repo, "drivers/alpha", "--outdir", str(tmp_path / "a")).returncode == 0
    assert "report_api" not in record_of(repo, "drivers/alpha", "0.2.0")


def test_release_twice_then_a_clone_without_tags_rebuilds_both_from_the_records(repo, tmp_path):
    note(repo, "drivers/alpha", "feature-a", "features", "Alpha pauses.")
    commit_notes(repo)
    assert release(repo, "drivers/alpha", "--outdir", str(tmp_path / "r1")).returncode == 0
    note(repo, "drivers/alpha", "fix-a", "fixes", "Alpha unpauses.")
    commit_notes(repo)
    assert release(repo, "drivers/alpha", "--outdir", str(tmp_path / "r2")).returncode == 0
    git(repo, "tag", "-d", *git(repo, "tag", "--list").split())  # the records alone must do

    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--no-tags", str(repo), str(clone)], check=True)
    assert git(clone, "tag", "--list") == ""
    # the working tree of the clone is not what gets built
    write(clone / "drivers/alpha/nova_driver_alpha/__init__.py", "VALUE = 'edited, not released'\n")
    for version, first in (("0.2.0", tmp_path / "r1"), ("0.2.1", tmp_path / "r2")):
        out = tmp_path / f"rebuilt-{version}"
        result = release(clone, "build", f"nova-driver-alpha=={version}", "--out", str(out))
        assert result.returncode == 0, result.stdout + result.stderr
        assert "verified" in result.stdout
        wheel = f"nova_driver_alpha-{version}-py3-none-any.whl"
        assert sha256(out / wheel) == sha256(first / wheel)  # byte for byte
        with zipfile.ZipFile(out / wheel) as archive:
            assert archive.read("nova_driver_alpha/__init__.py") == b"VALUE = 1\n"
        sdist = f"nova_driver_alpha-{version}.tar.gz"
        assert members(out / sdist) == members(first / sdist)

    # the next release in the clone counts notes from the record, not from a tag
    git(clone, "checkout", "-q", "--", ".")
    git(clone, "config", "user.email", "t@example.org")
    git(clone, "config", "user.name", "Test")
    note(clone, "drivers/alpha", "fix-b", "fixes", "Alpha resumes.")
    commit_notes(clone)
    result = release(clone, "drivers/alpha", "--dry-run")
    assert "0.2.1 -> 0.2.2 (patch; 1 note(s) since nova-driver-alpha 0.2.1)" in result.stdout, result.stdout


def members(sdist):
    with tarfile.open(sdist) as archive:
        return {m.name: archive.extractfile(m).read() for m in archive.getmembers() if m.isfile()}


def test_build_refuses_a_tampered_record_and_an_unknown_release(repo, tmp_path):
    note(repo, "drivers/beta", "fix-b", "fixes", "Beta.")
    commit_notes(repo)
    assert release(repo, "drivers/beta", "--outdir", str(tmp_path / "d")).returncode == 0
    result = release(repo, "build", "nova-driver-beta==9.9.9", "--out", str(tmp_path / "x"))
    assert result.returncode == 1
    assert "nova-driver-beta==9.9.9 is not recorded (recorded nova-driver-beta: 1.4.3)" in result.stderr
    path = repo / "drivers/beta/releases/1.4.3.json"
    record = json.loads(path.read_text())
    record["artifacts"]["wheel"]["sha256"] = "0" * 64
    path.write_text(json.dumps(record))
    commit_notes(repo, "tamper")
    result = release(repo, "build", "nova-driver-beta==1.4.3", "--out", str(tmp_path / "y"))
    assert result.returncode == 1
    assert (
        "nova-driver-beta==1.4.3 is not reproduced: wheel nova_driver_beta-1.4.3-py3-none-any.whl"
        in result.stderr
    )
    assert "(same file list and contents; the bytes differ)" in result.stderr


def test_version_can_be_chosen_but_must_rise(repo, tmp_path):
    note(repo, "drivers/alpha", "feature-a", "features", "Alpha.")
    commit_notes(repo)
    result = release(repo, "drivers/alpha", "--version", "1.0.0", "--outdir", str(tmp_path / "d"))
    assert result.returncode == 0, result.stderr
    assert version_of(repo, "drivers/alpha") == "1.0.0"
    assert record_of(repo, "drivers/alpha", "1.0.0")["version"] == "1.0.0"
    note(repo, "drivers/alpha", "fix-a", "fixes", "Alpha again.")
    commit_notes(repo)
    result = release(repo, "drivers/alpha", "--version", "1.0.0", "--dry-run")
    assert (
        result.returncode == 1
        and "--version: 1.0.0 is not greater than the last release 1.0.0" in result.stderr
    )


def test_list_shows_the_records(repo, tmp_path):
    note(repo, "nova-common", "feature-c", "features", "Core.")
    commit_notes(repo)
    assert release(repo, "nova-common", "--outdir", str(tmp_path / "d")).returncode == 0
    result = release(repo, "list", "--json")
    assert result.returncode == 0
    (only,) = json.loads(result.stdout)
    assert (only["distribution"], only["version"]) == ("nova-common", "0.2.0")
