"""Vendoring the kit into a driver repository, and catching drift."""

import json
import subprocess
import sys

from nova_contract_tests import vendoring
from nova_contract_tests.cli import main


def test_vendor_writes_manifest_and_verify_is_clean(tmp_path, capsys):
    assert main(["vendor", str(tmp_path)]) == 0
    target = tmp_path / "_vendor" / "nova_contract_tests"
    manifest = json.loads((target / "VENDORED.json").read_text())
    assert manifest["kit_version"] and "runner.py" in manifest["files"]
    assert "scenarios/transitions.py" in manifest["files"]
    assert len(manifest["files"]["runner.py"]) == 64
    assert main(["verify-vendored", str(tmp_path)]) == 0
    assert "matches its manifest" in capsys.readouterr().out


def test_verify_reports_added_removed_and_modified(tmp_path, capsys):
    vendoring.vendor(tmp_path)
    target = vendoring.vendor_dir(tmp_path)
    (target / "runner.py").write_text("# patched locally\n")
    (target / "matrix.py").unlink()
    (target / "local_hack.py").write_text("x = 1\n")
    assert main(["verify-vendored", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "added: local_hack.py" in out
    assert "removed: matrix.py" in out
    assert "modified: runner.py" in out


def test_verify_without_vendored_copy_is_a_clear_error(tmp_path, capsys):
    assert main(["verify-vendored", str(tmp_path)]) == 2
    assert "run `nova-contract-tests vendor` first" in capsys.readouterr().err


def test_vendored_copy_runs_like_the_installed_kit(tmp_path):
    vendoring.vendor(tmp_path)
    vendored = tmp_path / "_vendor"
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "import nova_contract_tests, pathlib;"
        "kit_file = pathlib.Path(nova_contract_tests.__file__);"
        "assert kit_file.is_relative_to(sys.argv[1]), kit_file;"
        "from nova_contract_tests.config import KitConfig; from nova_contract_tests.runner import run_kit;"
        "report = run_kit(KitConfig(driver='fake'));"
        "print(report.summary); sys.exit(0 if report.ok else 1)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(vendored)], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "'failed': 0" in result.stdout
