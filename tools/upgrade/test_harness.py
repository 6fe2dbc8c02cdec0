"""The harness itself, proven on throwaway releases of the current tree (1.99.x in a clone,
numbered above every real release).

Nothing here needs a release in the repository's records: the clone records its own
(tools/release --version 1.99.0 --skip-checks), so the harness, the matrix and
can-i-deploy run end to end from records, git archive and virtualenvs alone."""

import json
import socket
import subprocess
import sys

import pytest
from conftest import REPO_ROOT, missing

from nova_tools import broker
from nova_tools.release_envs import ReleaseEnvs, installed_versions
from nova_tools.release_records import find_record, load_records
from nova_tools.upgrade import Deployment, postgresql_database

PACKAGES = ("nova-common", "contract-tests", "drivers/fake")


def run(command, cwd, timeout=900):
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, (
        f"{' '.join(map(str, command))}:\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
    )
    return result.stdout


def release_in(clone, package, version, dist):
    note = clone / package / "releasenotes" / "notes" / f"throwaway-{version}.yaml"
    note.write_text(f"---\nother:\n  - Throwaway release {version} of the upgrade harness's own test.\n")
    run(["git", "add", "-A"], clone)
    run(["git", "commit", "-q", "-m", f"Throwaway note for {package} {version}"], clone)
    command = [
        sys.executable,
        "tools/release",
        package,
        "--skip-checks",
        "--version",
        version,
        "--outdir",
        dist,
    ]
    run(command, clone)


@pytest.fixture(scope="module")
def throwaway(tmp_path_factory):
    """A --no-tags clone of the current tree with nova-common, the kit and the fake driver
    released as 1.99.0, and the fake driver once more as 1.99.1."""
    root = tmp_path_factory.mktemp("throwaway")
    clone = root / "clone"
    run(["git", "clone", "-q", "--no-tags", str(REPO_ROOT), str(clone)], root)
    run(["git", "config", "user.email", "harness@example.org"], clone)
    run(["git", "config", "user.name", "Harness"], clone)
    for package in PACKAGES:
        release_in(clone, package, "1.99.0", str(root / "dist"))
    release_in(clone, "drivers/fake", "1.99.1", str(root / "dist"))
    return clone, root / "work"


@pytest.fixture
def rabbit(throwaway):
    reason = broker.unavailable(broker.DEFAULT_URL)
    if reason:
        missing(reason)
    with broker.fresh_vhost(broker.DEFAULT_URL, "harness") as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, throwaway):
    """None (the deployment's own SQLite file) or a PostgreSQL database of its own."""
    if request.param == "sqlite":
        yield None
        return
    try:
        socket.create_connection(("127.0.0.1", 5432), timeout=2).close()
    except OSError as error:
        missing(f"no PostgreSQL at 127.0.0.1:5432 ({error})")
    clone, work = throwaway
    core = find_record(load_records(clone), "nova-common==1.99.0")
    core_env = ReleaseEnvs(clone, work).env([core], extras={"nova-common": "api"})
    with postgresql_database(core_env) as url:
        yield url


def test_a_deployment_from_recorded_releases_boots_and_deletes_a_server(
    throwaway, database, rabbit, tmp_path
):
    clone, work = throwaway
    records = load_records(clone)
    core = find_record(records, "nova-common==1.99.0")
    fake = find_record(records, "nova-driver-fake==1.99.0")
    envs = ReleaseEnvs(clone, work)
    with Deployment(envs, records, core, tmp_path / "cloud", rabbit, database_url=database) as cloud:
        try:
            cloud.start_core()
            compute = cloud.add_compute(fake)
            assert [s["host"] for s in cloud.wait_for_hosts(1)] == [compute.host]
            server = cloud.create_server("harness-1")
            assert server["status"] == "ACTIVE" and server["OS-EXT-SRV-ATTR:host"] == compute.host
            assert [s["id"] for s in cloud.servers()] == [server["id"]]
            cloud.cli("server", "delete", server["id"])
            assert cloud.servers() == []
        except Exception:
            print(cloud.logs())
            raise
    # each side ran the recorded release, installed from its wheel, not the working tree
    core_env = envs.env([core], extras={"nova-common": "api"})
    assert installed_versions(core_env)["nova-common"] == "1.99.0"
    where = subprocess.run(
        [str(core_env / "bin" / "python"), "-c", "import nova_common; print(nova_common.__file__)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert where.startswith(str(core_env / "lib")) and "site-packages/nova_common/" in where, where
    assert installed_versions(cloud.compute_env(fake))["nova-driver-fake"] == "1.99.0"


def test_the_matrix_and_can_i_deploy_from_recorded_releases(throwaway, rabbit, tmp_path):
    clone, work = throwaway
    results = tmp_path / "compat"
    command = [sys.executable, "tools/compat-matrix", "--results", str(results), "--work-dir", str(work)]
    # Only the throwaway core: the clone also holds the repository's real releases.
    command += ["--core", "1.99.0", "--driver", "nova-driver-fake"]
    output = run([*command, "--transport-url", broker.DEFAULT_URL], clone, timeout=1800)
    assert "0 not passing" in output, output
    matrix = json.loads((results / "matrix.json").read_text())
    cells = {
        (c["core"], c["driver_version"]): c
        for c in matrix["cells"]
        if c["driver_version"].startswith("1.99.")
    }
    assert sorted(cells) == [("1.99.0", "1.99.0"), ("1.99.0", "1.99.1")]
    for cell in cells.values():
        assert cell["status"] == "passed", cell
        assert cell["kit"] == "1.99.0" and cell["driver_base"] == "1.99.0"
        report = json.loads((results / cell["report"]).read_text())
        assert report["summary"]["failed"] == 0 and report["summary"]["passed"] > 0
        assert report["kit_version"] == "1.99.0" and report["driver"]["version"] == cell["driver_version"]
        assert f'href="{cell["report"]}"' in (results / "matrix.html").read_text()
    assert "nova-driver-fake 1.99.1" in (results / "matrix.md").read_text()

    deploy = [sys.executable, "tools/can-i-deploy", "--results", str(results)]
    yes = subprocess.run(
        [*deploy, "nova-common==1.99.0", "--with", "nova-driver-fake==1.99.1"],
        cwd=clone,
        capture_output=True,
        text=True,
    )
    assert yes.returncode == 0 and yes.stdout.startswith("yes"), yes.stdout + yes.stderr

    # a second run keeps what it has (same source commits) and runs nothing
    again = run([*command, "--transport-url", broker.DEFAULT_URL], clone)
    assert "nova-common 1.99.0 x" not in again
    # a pair dropped from the matrix is "never tested"
    matrix["cells"] = [c for c in matrix["cells"] if c["driver_version"] != "1.99.0"]
    (results / "matrix.json").write_text(json.dumps(matrix))
    no = subprocess.run(
        [*deploy, "nova-common==1.99.0", "--with", "nova-driver-fake==1.99.0"],
        cwd=clone,
        capture_output=True,
        text=True,
    )
    assert no.returncode == 1 and "never tested" in no.stdout, no.stdout + no.stderr
