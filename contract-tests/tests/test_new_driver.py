"""``nova-contract-tests new-driver``: the generated package installs, passes its own tests
(the kit among them) and the kit's mandatory operations, and reports gated ones as missing."""

import json
import os
import pathlib
import subprocess
import sys
import venv
from xml.etree import ElementTree

import pytest

from nova_common.virt import api
from nova_contract_tests import cli, new_driver
from nova_contract_tests.blackbox import broker_unavailable
from nova_contract_tests.layering import forbidden_imports
from nova_contract_tests.pytest_support import require

REPO = pathlib.Path(__file__).resolve().parents[2]
RABBIT_URL = os.environ.get("RABBIT_URL", "rabbit://guest:guest@127.0.0.1:5672/")


@pytest.mark.parametrize(
    "name", ["My-Driver", "MyDriver", "1driver", "my driver", "", "class", "_hidden", "é"]
)
def test_a_bad_name_is_refused_naming_the_field_and_value(name, tmp_path):
    with pytest.raises(ValueError, match=r"^name: .* is not a lower-case Python identifier") as raised:
        new_driver.generate(name, tmp_path / "out")
    assert repr(name) in str(raised.value)
    assert not (tmp_path / "out").exists()


def test_a_non_empty_output_directory_is_refused_and_left_alone(tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(ValueError, match=r"^output: .* is not empty"):
        new_driver.generate("mydriver", tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_an_output_that_is_a_file_is_refused(tmp_path):
    target = tmp_path / "file"
    target.write_text("")
    with pytest.raises(ValueError, match=r"^output: .* exists and is not a directory"):
        new_driver.generate("mydriver", target)


def test_a_bad_approver_is_refused(tmp_path):
    with pytest.raises(ValueError, match=r"^approver: 'a b' is not an account"):
        new_driver.generate("mydriver", tmp_path / "out", approvers=["a b"])


def test_cli_reports_a_bad_name_with_exit_status_2(tmp_path, capsys):
    assert cli.main(["new-driver", "Bad-Name", "--output", str(tmp_path / "out")]) == 2
    assert "name: 'Bad-Name' is not a lower-case Python identifier" in capsys.readouterr().err


def test_generated_package_layout(tmp_path):
    written = new_driver.generate("my_hv", tmp_path, approvers=["alice@example.org"])
    names = {path.as_posix() for path in written}
    assert {
        "pyproject.toml",
        "OWNERS",
        "README.md",
        "tox.ini",
        "nova_driver_my_hv/__init__.py",
        "nova_driver_my_hv/driver.py",
        "nova_driver_my_hv/conf.py",
        "nova_driver_my_hv/cmd.py",
        "tests/conftest.py",
        "tests/test_contract.py",
        "tests/test_import_rule.py",
        "tests/test_driver.py",
    } <= names
    assert any(name.startswith("releasenotes/notes/initial-release-") for name in names)
    pyproject = (tmp_path / "pyproject.toml").read_text()
    assert 'name = "nova-driver-my-hv"' in pyproject
    assert 'nova-compute-my_hv = "nova_driver_my_hv.cmd:main"' in pyproject
    assert (
        '[project.entry-points."nova.virt.drivers"]\nmy_hv = "nova_driver_my_hv.driver:MyHvDriver"'
        in pyproject
    )
    assert (
        '[project.entry-points."oslo.config.opts"]\nnova_driver_my_hv = "nova_driver_my_hv.conf:list_opts"'
        in pyproject
    )
    assert "  - alice@example.org" in (tmp_path / "OWNERS").read_text()
    for path in written:
        assert "{{" not in (tmp_path / path).read_text(), f"{path} keeps a placeholder"
    assert forbidden_imports(tmp_path / "nova_driver_my_hv") == []


def test_generated_driver_implements_the_mandatory_operations_only(tmp_path):
    new_driver.generate("inmem", tmp_path)
    sys.path.insert(0, str(tmp_path))
    try:
        from nova_driver_inmem.driver import InmemDriver
    finally:
        sys.path.remove(str(tmp_path))
    for op in api.OPERATIONS.values():
        own = op.name in vars(InmemDriver)
        assert own == (op.mandatory and op.name != "get_driver_info"), op.name


def _run(argv, **kwargs):
    # The venv's own interpreter, not this test run's path or virtualenv.
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTHON", "VIRTUAL_ENV"))}
    return subprocess.run(argv, capture_output=True, text=True, timeout=600, env=env, **kwargs)


def _output(result: subprocess.CompletedProcess) -> str:
    return result.stdout[-5000:] + result.stderr[-3000:]


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A fresh venv holding ./nova-common, ./contract-tests and a generated package with its test extra."""
    if not (REPO / "nova-common").is_dir():
        pytest.skip("the kit published on its own: installing a generated driver needs the platform checkout")
    root = tmp_path_factory.mktemp("new-driver")
    package = root / "nova-driver-kitgen"
    new_driver.generate("kitgen", package)
    venv.EnvBuilder(with_pip=True).create(root / "venv")
    bin_dir = root / "venv" / "bin"
    install = _run(
        [
            str(bin_dir / "python"),
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            str(REPO / "nova-common"),
            str(REPO / "contract-tests"),
            f"{package}[test]",
        ]
    )
    assert install.returncode == 0, _output(install)
    return package, bin_dir


def test_generated_package_passes_its_own_tests(installed, tmp_path):
    """Its unit tests, the layering rule, the kit in process and (with a broker) black-box."""
    package, bin_dir = installed
    junit = tmp_path / "junit.xml"
    own_tests = _run(
        [
            str(bin_dir / "python"),
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            f"--junitxml={junit}",
            "tests",
        ],
        cwd=package,
    )
    assert own_tests.returncode == 0, _output(own_tests)
    outcomes = {
        case.get("name"): "skipped" if case.find("skipped") is not None else "passed"
        for case in ElementTree.parse(junit).iter("testcase")
        if case.find("failure") is None and case.find("error") is None
    }
    assert outcomes["test_driver_imports_only_contract_and_scaffold"] == "passed"
    assert outcomes["test_capacity_is_enforced_and_a_refusal_leaves_nothing"] == "passed"
    assert outcomes["test_contract_in_process[spawn.boots-running]"] == "passed"
    if broker_unavailable(RABBIT_URL) is None:
        assert outcomes["test_contract_black_box_over_rabbitmq"] == "passed"


def _check_kit_output(stdout: str, report_path: pathlib.Path) -> None:
    lines = stdout.splitlines()
    report = json.loads(report_path.read_text())
    assert report["summary"]["failed"] == 0 and report["driver"]["capabilities"] == []
    for op in api.OPERATIONS.values():
        status = report["operations"][op.name]["status"]
        mine = [line for line in lines if line.split(" ", 1)[-1].startswith(f"{op.name}.")]
        skipped = [line for line in mine if line.startswith("SKIP ")]
        # A skip is only ever for a capability the driver does not advertise, or
        # for a test hook the generated driver does not provide.
        assert all(
            "is not advertised by the driver" in line or "needs the driver test hook" in line
            for line in skipped
        ), skipped
        assert not [line for line in mine if line.startswith("FAIL ")]
        if op.mandatory:
            assert status == "complete", (op.name, status)
            assert any(line.startswith("PASS ") for line in mine), mine
        else:
            assert status == "missing", (op.name, status)
            assert skipped and all(
                f"capability '{op.capability}'" in line or "test hook" in line for line in skipped
            ), skipped
            assert f"PASS {op.name}.not-advertised-answers-not-supported" in mine


def test_kit_in_process_passes_mandatory_operations_and_skips_gated_ones(installed, tmp_path):
    _package, bin_dir = installed
    report = tmp_path / "report.json"
    kit = _run(
        [str(bin_dir / "nova-contract-tests"), "run", "--driver", "kitgen", "--json-report", str(report)]
    )
    assert kit.returncode == 0, _output(kit)
    _check_kit_output(kit.stdout, report)


def _blackbox(bin_dir: pathlib.Path, report: pathlib.Path, *transport: str) -> subprocess.CompletedProcess:
    return _run(
        [
            str(bin_dir / "python"),
            str(REPO / "tools" / "kit-blackbox"),
            "--driver",
            "kitgen",
            *transport,
            "--",
            "--json-report",
            str(report),
        ]
    )


def test_kit_black_box_over_kombu_memory(installed, tmp_path):
    _package, bin_dir = installed
    report = tmp_path / "report.json"
    kit = _blackbox(bin_dir, report)
    assert kit.returncode == 0, _output(kit)
    _check_kit_output(kit.stdout, report)


def test_kit_black_box_against_the_console_script_over_rabbitmq(installed, tmp_path):
    """tools/kit-blackbox starts nova-compute-kitgen as its own process and runs the kit at it."""
    require(broker_unavailable(RABBIT_URL))
    _package, bin_dir = installed
    report = tmp_path / "report.json"
    kit = _blackbox(bin_dir, report, "--transport-url", RABBIT_URL)
    assert kit.returncode == 0, _output(kit)
    _check_kit_output(kit.stdout, report)


def test_console_script_is_installed(installed):
    _package, bin_dir = installed
    script = _run([str(bin_dir / "nova-compute-kitgen"), "--help"])
    assert script.returncode == 0 and "usage: nova-compute-kitgen" in script.stdout
