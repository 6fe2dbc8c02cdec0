"""Every library a package's code imports is declared in its pyproject.toml
(dependencies or an extra), not merely installed by something else."""

import ast
import pathlib
import re
import sys
import tomllib

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]

#: Import names whose distribution is not named after them.
DISTRIBUTIONS = {
    "libvirt": "libvirt-python",
    "pyVim": "pyvmomi",
    "pyVmomi": "pyvmomi",
    "sqlalchemy": "sqlalchemy",
    "webob": "webob",
    "yaml": "pyyaml",
}

PACKAGES = sorted(p.parent for p in REPO.glob("*/pyproject.toml")) + sorted(
    p.parent for p in REPO.glob("drivers/*/pyproject.toml")
)


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _distribution(module: str) -> str:
    if module.startswith("oslo_"):
        return _normal(module.replace("_", ".", 1))
    return _normal(DISTRIBUTIONS.get(module, module))


def _declared(pyproject: dict) -> set[str]:
    project = pyproject["project"]
    requirements = list(project.get("dependencies", []))
    for extra in project.get("optional-dependencies", {}).values():
        requirements += extra
    return {_normal(re.split(r"[\s\[<>=!~;]", r, maxsplit=1)[0]) for r in requirements}


def _imported(package_dir: pathlib.Path, own: set[str]) -> dict[str, str]:
    """distribution -> a file importing it."""
    found: dict[str, str] = {}
    for name in own:
        for path in sorted((package_dir / name).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Import):
                    modules = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    modules = [node.module]
                else:
                    continue
                for module in modules:
                    top = module.split(".")[0]
                    if top in sys.stdlib_module_names or top in own:
                        continue
                    found.setdefault(_distribution(top), str(path.relative_to(package_dir.parent)))
    return found


@pytest.mark.parametrize("package_dir", PACKAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_imported_library_is_declared(package_dir):
    pyproject = tomllib.loads((package_dir / "pyproject.toml").read_text())
    own = set(pyproject["tool"]["setuptools"]["packages"]["find"]["include"])
    own = {name.rstrip("*") for name in own}
    declared = _declared(pyproject)
    missing = {dist: path for dist, path in _imported(package_dir, own).items() if dist not in declared}
    assert not missing, f"{package_dir.name}/pyproject.toml does not declare (imported by): {missing}"


def test_the_check_sees_an_undeclared_import(tmp_path):
    package = tmp_path / "pkg"
    (package / "thing").mkdir(parents=True)
    (package / "thing" / "__init__.py").write_text("import kombu\nfrom oslo_utils import timeutils\n")
    found = _imported(package, {"thing"})
    assert set(found) == {"kombu", "oslo-utils"}
    assert _declared({"project": {"dependencies": ["kombu>=5.3", "oslo.utils"]}}) == set(found)
