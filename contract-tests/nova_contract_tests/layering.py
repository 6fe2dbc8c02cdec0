"""The layering rule a driver package must keep, as a check its own tests call.

A driver imports from nova-common only the contract (``nova_common.objects``,
``nova_common.virt``) and the compute-service scaffold
(``nova_common.scaffold``): everything else is the core's to change at will.

    # tests/test_import_rule.py of a driver package
    from nova_contract_tests.layering import forbidden_imports

    def test_driver_imports_only_contract_and_scaffold():
        assert forbidden_imports(pathlib.Path(nova_driver_foo.__file__).parent) == []
"""

from __future__ import annotations

import ast
import pathlib

#: What a driver may import from nova-common.
ALLOWED = ("nova_common.objects", "nova_common.virt", "nova_common.scaffold")


def _imported_names(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
        if node.module == "nova_common":
            return [f"nova_common.{alias.name}" for alias in node.names]
        return [node.module]
    return []


def forbidden_imports(package: str | pathlib.Path) -> list[str]:
    """``path:line imports name`` for every nova_common import outside :data:`ALLOWED`
    in the ``*.py`` files under ``package`` (paths relative to its parent)."""
    package = pathlib.Path(package)
    found = []
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            for name in _imported_names(node):
                if name != "nova_common" and not name.startswith("nova_common."):
                    continue
                if not any(name == allowed or name.startswith(allowed + ".") for allowed in ALLOWED):
                    found.append(f"{path.relative_to(package.parent)}:{node.lineno} imports {name}")
    return found
