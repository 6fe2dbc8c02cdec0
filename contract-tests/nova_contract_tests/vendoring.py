"""Copy the kit into a driver repository, and check that copy for drift.

``vendor(dest)`` copies this package to ``dest/_vendor/nova_contract_tests``
with a ``VENDORED.json`` manifest: kit version, the source commit (when the
kit runs from a git checkout) and a sha256 per file. ``verify(dest)`` lists
files added, removed and modified since. A driver's tests use the vendored
copy by putting ``dest/_vendor`` first on ``sys.path``; the kit's imports are
absolute, so the copy runs exactly as an installed kit does.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import pathlib
import shutil
import subprocess
from typing import Any

PACKAGE = "nova_contract_tests"
MANIFEST = "VENDORED.json"
_SOURCE = pathlib.Path(__file__).resolve().parent


def _files(root: pathlib.Path) -> dict[str, str]:
    """Relative path -> sha256 of every kit source file under ``root``."""
    found = {}
    for path in sorted(root.rglob("*")):
        if path.is_dir() or "__pycache__" in path.parts or path.suffix in (".pyc", ".pyo"):
            continue
        relative = path.relative_to(root).as_posix()
        if relative == MANIFEST:
            continue
        found[relative] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def _source_commit() -> str | None:
    try:
        result = subprocess.run(
            ["git", "-C", str(_SOURCE), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=30
        )
    except OSError:
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def vendor_dir(dest: str | pathlib.Path) -> pathlib.Path:
    return pathlib.Path(dest) / "_vendor" / PACKAGE


def vendor(dest: str | pathlib.Path) -> dict[str, Any]:
    """Copy the kit under ``dest/_vendor/`` (replacing an older copy); return the manifest."""
    from nova_contract_tests.runner import kit_version

    target = vendor_dir(dest)
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(_SOURCE, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", MANIFEST))
    manifest = {
        "package": PACKAGE,
        "kit_version": kit_version(),
        "source_commit": _source_commit(),
        "files": _files(target),
    }
    (target / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


@dataclasses.dataclass
class Drift:
    added: list[str]
    removed: list[str]
    modified: list[str]

    @property
    def clean(self) -> bool:
        return not (self.added or self.removed or self.modified)


def verify(dest: str | pathlib.Path) -> Drift:
    """Compare the vendored copy under ``dest`` with its manifest."""
    target = vendor_dir(dest)
    manifest_path = target / MANIFEST
    if not manifest_path.exists():
        raise FileNotFoundError(f"dest: no {MANIFEST} under {target}; run `nova-contract-tests vendor` first")
    recorded: dict[str, str] = json.loads(manifest_path.read_text())["files"]
    actual = _files(target)
    return Drift(
        added=sorted(set(actual) - set(recorded)),
        removed=sorted(set(recorded) - set(actual)),
        modified=sorted(name for name in set(actual) & set(recorded) if actual[name] != recorded[name]),
    )
