"""Virtualenvs holding recorded releases, built from their records and cached.

Every wheel comes from ``release_records.build_release`` (``git archive`` of the
recorded commit, verified against the record), so an environment runs the real
released code, never the working tree. Wheels are cached under
``<work>/wheels/<dist>-<version>/`` and environments under ``<work>/venvs/``;
a cached one is reused while its marker names the same wheels (by sha256).
Third-party dependencies come from the package index as the release's
``requires`` say; the recorded distributions always come from the local
wheels (pinned by path), never from an index, where a distribution of the same
name may exist.
"""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
import shutil
import subprocess
import sys

from nova_tools.release_records import Record, RecordError, build_release, file_sha256

DEFAULT_WORK_DIR = (
    pathlib.Path(os.environ.get("XDG_CACHE_HOME", pathlib.Path.home() / ".cache")) / "nova-tools"
)


class ReleaseEnvs:
    """Wheels and virtualenvs of recorded releases of the repository at ``root``."""

    def __init__(self, root: pathlib.Path, work_dir: pathlib.Path = DEFAULT_WORK_DIR) -> None:
        self.root = root
        self.work_dir = pathlib.Path(work_dir)

    def wheel(self, record: Record) -> pathlib.Path:
        """The verified wheel of ``record`` (built once, then taken from the cache)."""
        directory = self.work_dir / "wheels" / f"{record.distribution}-{record.version}"
        recorded = record.data["artifacts"]["wheel"]
        cached = directory / recorded["file"]
        if cached.exists() and file_sha256(cached) == recorded["sha256"]:
            return cached
        shutil.rmtree(directory, ignore_errors=True)
        return build_release(self.root, record, directory)["wheel"]

    def env(self, records: list[Record], extras: dict[str, str] | None = None) -> pathlib.Path:
        """A virtualenv holding exactly ``records`` (``extras``: distribution -> "core,api")."""
        extras = extras or {}
        wheels = [self.wheel(record) for record in records]
        requirements = [
            f"{wheel}[{extras[record.distribution]}]" if record.distribution in extras else str(wheel)
            for record, wheel in zip(records, wheels, strict=True)
        ]
        marker_data = {"requirements": requirements, "wheels": [file_sha256(w) for w in wheels]}
        key = hashlib.sha256(json.dumps(marker_data, sort_keys=True).encode()).hexdigest()[:12]
        name = "+".join(f"{r.distribution}-{r.version}" for r in records)
        venv = self.work_dir / "venvs" / f"{name}-{key}"
        marker = venv / "nova-tools-env.json"
        if marker.exists() and json.loads(marker.read_text()) == marker_data:
            return venv
        shutil.rmtree(venv, ignore_errors=True)
        venv.parent.mkdir(parents=True, exist_ok=True)
        run([sys.executable, "-m", "venv", str(venv)], f"venv {venv}")
        find_links = [f"--find-links={wheel.parent}" for wheel in wheels]
        run(
            [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", *find_links, *requirements],
            f"installing {', '.join(r.spec for r in records)}",
            env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
        )
        installed = installed_versions(venv)
        for record in records:
            if installed.get(record.distribution) != record.version:
                raise RecordError(
                    f"venv {venv}: {record.distribution} is {installed.get(record.distribution)}, "
                    f"not the recorded {record.version}"
                )
        marker.write_text(json.dumps(marker_data, sort_keys=True))
        return venv


def installed_versions(venv: pathlib.Path) -> dict[str, str]:
    code = (
        "import importlib.metadata as m, json; "
        "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))"
    )
    out = subprocess.run(
        [str(venv / "bin" / "python"), "-c", code], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


def run(command: list[str], what: str, env: dict[str, str] | None = None) -> None:
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise RecordError(
            f"{what} failed (exit {result.returncode}):\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
        )


def script(venv: pathlib.Path, name: str) -> pathlib.Path:
    path = venv / "bin" / name
    if not path.exists():
        raise RecordError(f"venv {venv}: no console script {name}")
    return path
