"""Published packages stand alone: drivers/libvirt, drivers/fake and contract-tests are
published from a clone of this repository, each published repository is cloned on its own,
nova-common (and, for the kit's tests, the reference driver) comes from a wheel that
tools/release built, and the repository's own tox.ini runs its own tests, the drivers' with
the kit vendored under _vendor/."""

import os
import pathlib
import subprocess
import sys

import pytest
import yaml

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
PACKAGES = ("drivers/libvirt", "drivers/fake", "contract-tests")


def run(command, cwd=None, env=None, timeout=1200):
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, (
        f"{' '.join(map(str, command))}:\n{result.stdout[-4000:]}{result.stderr[-4000:]}"
    )
    return result.stdout


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    """A clone of this repository with nova-common and nova-driver-fake released by tools/release."""
    root = tmp_path_factory.mktemp("standalone")
    clone = root / "source"
    run(["git", "clone", "-q", str(REPO_ROOT), str(clone)])
    run(["git", "-C", str(clone), "config", "user.email", "release@example.org"])
    run(["git", "-C", str(clone), "config", "user.name", "Release"])
    wheels = {}
    for package, variable in (("nova-common", "NOVA_COMMON"), ("drivers/fake", "NOVA_DRIVER_FAKE")):
        # a note of its own, so that there is something to release whatever was released before
        note = clone / package / "releasenotes" / "notes" / "standalone-test-0000000000000000.yaml"
        note.write_text("---\nother:\n  - Released by tools/tests/test_standalone.py.\n")
        run(["git", "-C", str(clone), "add", "-A"])
        run(["git", "-C", str(clone), "commit", "-q", "-m", f"Release note for {package}"])
        dist = root / "dist" / package.replace("/", "-")
        run(
            [
                sys.executable,
                str(clone / "tools" / "release"),
                package,
                "--skip-checks",
                "--outdir",
                str(dist),
            ],
            cwd=clone,
        )
        (wheel,) = dist.glob("*.whl")
        wheels[variable] = str(wheel)
    return root, clone, wheels


def isolated_env(wheels):
    """The caller's environment without this repository's virtualenv or paths."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TOX_", "VIRTUAL_ENV", "PYTHONPATH"))}
    return {**env, **wheels, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}


@pytest.mark.parametrize("package", PACKAGES)
def test_a_published_package_passes_its_own_tests_alone(released, package):
    root, clone, wheels = released
    name = package.replace("/", "-")
    target = root / "published" / f"{name}.git"
    run(
        [
            sys.executable,
            str(clone / "tools" / "publish"),
            package,
            "--source",
            str(clone),
            "--target",
            str(target),
            "--quiet",
        ]
    )
    alone = root / "alone" / name
    run(["git", "clone", "-q", str(target), str(alone)])
    # nothing of this repository around it: no enclosing work tree, no path out of it
    assert subprocess.run(["git", "-C", str(alone.parent), "rev-parse"], capture_output=True).returncode != 0
    files = run(["git", "-C", str(alone), "ls-files"]).split()
    assert {"tox.ini", "README.md", "pyproject.toml", ".ci/run"} <= set(files)
    if package.startswith("drivers/"):
        assert "OWNERS" in files and "_vendor/nova_contract_tests/runner.py" in files
    for path in ("tox.ini", ".ci/run", "pyproject.toml"):
        text = (alone / path).read_text()
        assert "../" not in text and str(REPO_ROOT) not in text, f"{path} reaches outside the repository"
    output = run([sys.executable, "-m", "tox", "-e", "py"], cwd=alone, env=isolated_env(wheels), timeout=1800)
    # nova-common came from the released wheel, not from a source tree
    python = alone / ".tox" / "py" / "bin" / "python"
    where = run(
        [
            str(python),
            "-c",
            "import nova_common, importlib.metadata as m;"
            " print(nova_common.__file__, m.version('nova-common'))",
        ]
    )
    path, version = where.split()
    assert "site-packages" in path and str(alone / ".tox") in path
    assert pathlib.Path(wheels["NOVA_COMMON"]).name.startswith(f"nova_common-{version}-")
    if package.startswith("drivers/"):
        # the vendored kit, not an installed one (tox.ini checks it too); no test skipped for want of it
        assert "not installed" not in output
        assert (
            run(
                [str(python), "-c", "import importlib.util as u; print(u.find_spec('nova_contract_tests'))"]
            ).strip()
            == "None"
        )


def test_the_kit_has_the_core_teams_owners():
    kit = yaml.safe_load((REPO_ROOT / "contract-tests" / "OWNERS").read_text())
    core = yaml.safe_load((REPO_ROOT / "nova-common" / "OWNERS").read_text())
    assert kit == core
