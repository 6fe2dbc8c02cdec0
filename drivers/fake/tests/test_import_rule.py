"""A driver imports nothing from nova-common beyond the contract and the scaffold."""

import ast
import pathlib

ALLOWED = ("nova_common.objects", "nova_common.virt", "nova_common.scaffold")
PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "nova_driver_fake"


def forbidden_imports(package: pathlib.Path) -> list[str]:
    found = []
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
                names = names[:1] if node.module != "nova_common" else names[1:]
            for name in names:
                if (name == "nova_common" or name.startswith("nova_common.")) and not name.startswith(
                    ALLOWED
                ):
                    found.append(f"{path.relative_to(package.parent)}:{node.lineno} imports {name}")
    return found


def test_driver_imports_only_contract_and_scaffold():
    assert forbidden_imports(PACKAGE) == []


def test_rule_catches_a_forbidden_import(tmp_path):
    bad = tmp_path / "bad_driver"
    bad.mkdir()
    (bad / "mod.py").write_text("from nova_common import conductor\nimport nova_common.db.api\n")
    assert forbidden_imports(bad) == [
        "bad_driver/mod.py:1 imports nova_common.conductor",
        "bad_driver/mod.py:2 imports nova_common.db.api",
    ]
