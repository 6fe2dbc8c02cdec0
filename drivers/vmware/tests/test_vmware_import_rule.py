"""The driver imports nothing from nova-common beyond the contract and the scaffold."""

import ast
import pathlib

ALLOWED = ("nova_common.objects", "nova_common.virt", "nova_common.scaffold")
PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "nova_driver_vmware"


def forbidden_imports(package: pathlib.Path) -> list[str]:
    """``path:line imports name`` for every nova_common import outside ALLOWED."""
    found = []
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                if node.module == "nova_common":
                    names = [f"nova_common.{alias.name}" for alias in node.names]
                else:
                    names = [node.module]
            for name in names:
                allowed = any(name == a or name.startswith(a + ".") for a in ALLOWED)
                if (name == "nova_common" or name.startswith("nova_common.")) and not allowed:
                    found.append(f"{path.relative_to(package.parent)}:{node.lineno} imports {name}")
    return found


def test_driver_imports_only_contract_and_scaffold():
    assert forbidden_imports(PACKAGE) == []


def test_the_package_is_scanned():
    assert len(list(PACKAGE.rglob("*.py"))) >= 4


def test_rule_names_file_and_import(tmp_path):
    bad = tmp_path / "bad_driver"
    bad.mkdir()
    (bad / "mod.py").write_text(
        "from nova_common import conductor\n"
        "import nova_common.db.api\n"
        "from nova_common.compute import states\n"
        "import nova_common\n"
        "from nova_common import objects, virt\n"
        "from nova_common.virtual import x\n"
    )
    assert forbidden_imports(bad) == [
        "bad_driver/mod.py:1 imports nova_common.conductor",
        "bad_driver/mod.py:2 imports nova_common.db.api",
        "bad_driver/mod.py:3 imports nova_common.compute",
        "bad_driver/mod.py:4 imports nova_common",
        "bad_driver/mod.py:6 imports nova_common.virtual",
    ]


def test_no_other_driver_is_imported():
    """Drivers are released on their own cadence: none imports another."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            else:
                continue
            found += [
                f"{path.name}:{node.lineno} imports {name}"
                for name in names
                if name.startswith("nova_driver_") and not name.startswith("nova_driver_vmware")
            ]
    assert found == []
