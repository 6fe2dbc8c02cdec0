"""tools/release on a synthetic monorepo with two packages (real git, real builds)."""

import pathlib
import subprocess
import sys
import tomllib

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
    assert "nova-driver-alpha-0.2.0" in git(repo, "tag", "--list")
    changed = git(repo, "show", "--name-only", "--format=", "HEAD").split()
    assert sorted(changed) == ["drivers/alpha/CHANGELOG.md", "drivers/alpha/pyproject.toml"]
    changelog = (repo / "drivers/alpha/CHANGELOG.md").read_text()
    assert "## nova-driver-alpha 0.2.0" in changelog and "Alpha can now pause." in changelog
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
    assert git(repo, "tag", "--list") == ""
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
    assert git(repo, "rev-parse", "HEAD") == head and git(repo, "tag", "--list") == ""


def test_bad_note_names_the_file(repo):
    write(repo / "drivers/alpha/releasenotes/notes/bad.yaml", "---\nfeaturez:\n  - typo\n")
    commit_notes(repo)
    result = release(repo, "drivers/alpha", "--dry-run")
    assert result.returncode == 1 and "release note bad.yaml: unknown sections ['featurez']" in result.stderr
