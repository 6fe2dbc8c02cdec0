"""The layering rule every driver package keeps: it imports nothing of
nova-common beyond the contract (``nova_common.objects``, ``nova_common.virt``)
and the service scaffold (``nova_common.scaffold``), so the core's scheduler,
conductor, database and API can change without touching any driver.

A driver's test suite checks it in one line::

    from nova_contract_tests.layering import forbidden_imports
    def test_layering():
        assert forbidden_imports(pathlib.Path(nova_driver_foo.__file__).parent) == []
"""

from __future__ import annotations

import ast
import pathlib

#: What a driver may import from nova-common.
ALLOWED: tuple[str, ...] = ("nova_common.objects", "nova_common.virt", "nova_common.scaffold")


def _imported_names(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
        if node.module == "nova_common":
            return [f"nova_common.{alias.name}" for alias in node.names]
        return [node.module]
    return []


def forbidden_imports(package: pathlib.Path, allowed: tuple[str, ...] = ALLOWED) -> list[str]:
    """``path:line imports name`` for every nova_common import in ``package``
    (a directory, scanned recursively) outside ``allowed``."""
    package = pathlib.Path(package)
    if not package.is_dir():
        raise ValueError(f"package: {str(package)!r} is not a directory")
    found = []
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            for name in _imported_names(node):
                within = any(name == a or name.startswith(a + ".") for a in allowed)
                if (name == "nova_common" or name.startswith("nova_common.")) and not within:
                    found.append(f"{path.relative_to(package.parent)}:{node.lineno} imports {name}")
    return found
