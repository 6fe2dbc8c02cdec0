"""Release records: what was released, kept in the package's own directory.

Tags do not travel between clones (only ``main`` does), so every release of a
package is a tracked file ``<package>/releases/<version>.json``, written by
``tools/release`` in a commit of its own right after the "Release <dist>
<version>" commit that bumped the version and the changelog (a commit cannot
hold its own hash). A record says:

- ``distribution``, ``version``, ``package`` (its directory);
- ``source_commit``: the "Release" commit; ``date`` and ``source_date_epoch``:
  that commit's committer date (the build's SOURCE_DATE_EPOCH);
- ``virt_api``: the virt API range the release speaks, read from
  ``nova-common/nova_common/virt/api.py`` at the source commit
  (``max``: ``VIRT_API_VERSION``; ``min``: ``VIRT_API_MIN_VERSION`` where the
  module defines it, else the oldest version of the same major in
  ``VERSION_HISTORY``, since minor versions only add); for nova-common also
  ``report_api`` (``REPORT_API_VERSION`` of ``virt/report_api.py``);
- ``released_objects``: ``RELEASED_OBJECTS`` of that commit (the manifest);
- ``drivers`` (its ``nova.virt.drivers`` entry points) and ``requires``;
- ``build``: the setuptools that built it (pinned again when rebuilding);
- ``artifacts``: the sdist and the wheel, each with ``sha256`` (the file's
  bytes) and ``content_sha256`` (its member list and contents), and which of
  the two a rebuild must reproduce (``verify``). setuptools wheels built with
  SOURCE_DATE_EPOCH from the same tree are byte-identical, so a wheel is
  verified by its bytes; an sdist is not (the gzip header and the generated
  egg-info files carry the build time), so it is verified by its contents.

``build_release`` rebuilds any recorded release from ``git archive`` of its
source commit in a temporary directory (never from the working tree) and
checks the hashes. ``last_release`` is what ``tools/release`` counts new
release notes from.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import datetime
import hashlib
import io
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import tomllib
import zipfile
from typing import Any

SCHEMA = 1
RECORDS_DIR = "releases"
VIRT_API_PATH = "nova-common/nova_common/virt/api.py"
REPORT_API_PATH = "nova-common/nova_common/virt/report_api.py"
CORE_DISTRIBUTION = "nova-common"
KIT_DISTRIBUTION = "nova-contract-tests"
#: What a rebuild must reproduce, per artifact kind (see the module docstring).
VERIFY = {"wheel": "sha256", "sdist": "content_sha256"}


class RecordError(Exception):
    """A record cannot be read, written or reproduced; the message says why."""


def git(root: pathlib.Path, *args: str, check: bool = True) -> str:
    result = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)
    if check and result.returncode != 0:
        raise RecordError(f"git {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout.strip()


def version_key(version: str) -> tuple[int, ...]:
    match = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)", version)
    if not match:
        raise RecordError(f"version: {version!r} is not MAJOR.MINOR.PATCH")
    return tuple(int(part) for part in match.groups())


def api_key(version: str) -> tuple[int, int]:
    major, _, minor = version.partition(".")
    return int(major), int(minor)


@dataclasses.dataclass(frozen=True)
class Record:
    """One recorded release (the JSON file, as read)."""

    data: dict[str, Any]
    path: str  # relative to the repository root

    @property
    def distribution(self) -> str:
        return self.data["distribution"]

    @property
    def version(self) -> str:
        return self.data["version"]

    @property
    def package(self) -> str:
        return self.data["package"]

    @property
    def source_commit(self) -> str:
        return self.data["source_commit"]

    @property
    def epoch(self) -> int:
        return int(self.data["source_date_epoch"])

    @property
    def drivers(self) -> list[str]:
        return list(self.data.get("drivers") or [])

    @property
    def virt_api(self) -> tuple[str, str]:
        return self.data["virt_api"]["min"], self.data["virt_api"]["max"]

    @property
    def spec(self) -> str:
        return f"{self.distribution}=={self.version}"

    @property
    def order(self) -> tuple[int, tuple[int, ...]]:
        """Release order: by date, then by version."""
        return self.epoch, version_key(self.version)


def record_path(package_rel: str, version: str) -> str:
    return f"{package_rel}/{RECORDS_DIR}/{version}.json"


def _check_record(data: Any, path: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise RecordError(f"record {path}: not a JSON object")
    for field in ("distribution", "version", "package", "source_commit", "source_date_epoch", "artifacts"):
        if field not in data:
            raise RecordError(f"record {path}: field {field!r} is missing")
    version_key(data["version"])
    if pathlib.PurePosixPath(path).stem != data["version"]:
        raise RecordError(f"record {path}: version {data['version']!r} does not match the file name")
    return data


def load_records(root: pathlib.Path) -> list[Record]:
    """Every tracked release record of the repository at ``root``, in release order."""
    names = git(root, "ls-files", "--", f"*/{RECORDS_DIR}/*.json", f"{RECORDS_DIR}/*.json").splitlines()
    records = []
    for name in names:
        package_rel = name.rsplit(f"/{RECORDS_DIR}/", 1)[0] if "/" in name else "."
        if not (root / package_rel / "pyproject.toml").exists():
            continue  # a releases/ directory that is not a package's
        try:
            data = json.loads((root / name).read_text())
        except (OSError, ValueError) as error:
            raise RecordError(f"record {name}: cannot be read: {error}") from error
        records.append(Record(_check_record(data, name), name))
    return sorted(records, key=lambda record: record.order)


def records_of(root: pathlib.Path, distribution: str) -> list[Record]:
    return [record for record in load_records(root) if record.distribution == distribution]


def last_release(root: pathlib.Path, package_rel: str) -> Record | None:
    """The newest recorded release (by version) of the package in ``package_rel``."""
    mine = [record for record in load_records(root) if record.package == package_rel]
    return max(mine, key=lambda record: version_key(record.version), default=None)


def find_record(records: list[Record], spec: str) -> Record:
    """The record named by ``DIST==VERSION``; the error lists what is recorded."""
    distribution, sep, version = spec.partition("==")
    if not sep or not distribution or not version:
        raise RecordError(f"release: {spec!r} is not DIST==VERSION")
    for record in records:
        if record.distribution == distribution and record.version == version:
            return record
    known = sorted(r.version for r in records if r.distribution == distribution)
    raise RecordError(
        f"release: {spec} is not recorded (recorded {distribution}: {', '.join(known) or 'none'})"
    )


# -- what a source commit says about the contract ---------------------------------------------


def _module_constants(source: str, path: str, names: set[str]) -> dict[str, Any]:
    constants: dict[str, Any] = {}
    for node in ast.parse(source, filename=path).body:
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        value = getattr(node, "value", None)
        for target in targets:
            if isinstance(target, ast.Name) and target.id in names and value is not None:
                try:
                    constants[target.id] = ast.literal_eval(value)
                except ValueError as error:
                    raise RecordError(f"{path}: {target.id} is not a literal ({error})") from error
    return constants


def contract_facts(root: pathlib.Path, commit: str, distribution: str) -> dict[str, Any]:
    """The virt API range, report API and object manifest of the tree at ``commit``."""
    names = {"VIRT_API_VERSION", "VIRT_API_MIN_VERSION", "VERSION_HISTORY", "RELEASED_OBJECTS"}
    source = git(root, "show", f"{commit}:{VIRT_API_PATH}", check=False)
    if not source:
        raise RecordError(f"virt API: {VIRT_API_PATH} is not in commit {commit[:12]}")
    found = _module_constants(source, VIRT_API_PATH, names)
    for name in ("VIRT_API_VERSION", "RELEASED_OBJECTS"):
        if name not in found:
            raise RecordError(f"virt API: {VIRT_API_PATH} at {commit[:12]} defines no literal {name}")
    newest = found["VIRT_API_VERSION"]
    history = found.get("VERSION_HISTORY") or {newest: ""}
    oldest = found.get("VIRT_API_MIN_VERSION") or min(
        (v for v in history if api_key(v)[0] == api_key(newest)[0]), key=api_key, default=newest
    )
    facts: dict[str, Any] = {
        "virt_api": {"min": oldest, "max": newest},
        "released_objects": found["RELEASED_OBJECTS"],
    }
    if distribution == CORE_DISTRIBUTION:
        report = git(root, "show", f"{commit}:{REPORT_API_PATH}", check=False)
        constants = _module_constants(report, REPORT_API_PATH, {"REPORT_API_VERSION"}) if report else {}
        if "REPORT_API_VERSION" not in constants:
            raise RecordError(f"report API: {REPORT_API_PATH} at {commit[:12]} defines no REPORT_API_VERSION")
        facts["report_api"] = constants["REPORT_API_VERSION"]
    return facts


def project_at(root: pathlib.Path, commit: str, package_rel: str) -> dict[str, Any]:
    text = git(root, "show", f"{commit}:{package_rel}/pyproject.toml")
    return tomllib.loads(text)


# -- reproducible builds ---------------------------------------------------------------------


def file_sha256(path: pathlib.Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def content_sha256(path: pathlib.Path) -> str:
    """sha256 of an archive's regular members: sorted ``name NUL sha256(content) LF`` lines.

    Timestamps, modes, owners and member order do not count: two archives of
    the same files in the same places have the same content hash."""
    entries: list[tuple[str, str]] = []
    if path.name.endswith(".whl") or path.suffix == ".zip":
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if not info.is_dir():
                    entries.append((info.filename, hashlib.sha256(archive.read(info)).hexdigest()))
    else:
        with tarfile.open(path) as archive:
            for member in archive.getmembers():
                if member.isfile():
                    handle = archive.extractfile(member)
                    assert handle is not None
                    entries.append((member.name, hashlib.sha256(handle.read()).hexdigest()))
    digest = hashlib.sha256()
    for name, sha in sorted(entries):
        digest.update(f"{name}\0{sha}\n".encode())
    return digest.hexdigest()


def wheel_generator(wheel: pathlib.Path) -> str | None:
    """The setuptools version that wrote ``wheel`` (its WHEEL file's Generator line)."""
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            if name.endswith(".dist-info/WHEEL"):
                match = re.search(r"^Generator: setuptools \(([^)]+)\)", archive.read(name).decode(), re.M)
                return match.group(1) if match else None
    return None


def describe_artifact(path: pathlib.Path, kind: str) -> dict[str, str]:
    return {
        "file": path.name,
        "sha256": file_sha256(path),
        "content_sha256": content_sha256(path),
        "verify": VERIFY[kind],
    }


def build_from_commit(
    root: pathlib.Path,
    commit: str,
    package_rel: str,
    outdir: pathlib.Path,
    setuptools_version: str | None = None,
) -> dict[str, pathlib.Path]:
    """sdist and wheel of ``package_rel`` as it is in ``commit``, built from ``git
    archive`` in a temporary directory with SOURCE_DATE_EPOCH = the commit's date.
    Returns {"sdist": path, "wheel": path} inside ``outdir``."""
    epoch = git(root, "log", "-1", "--format=%ct", commit)
    outdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="nova-release-build-") as tmp:
        tree = pathlib.Path(tmp) / "tree"
        tree.mkdir()
        archive = subprocess.run(
            ["git", "-C", str(root), "archive", "--format=tar", commit, "--", package_rel],
            capture_output=True,
        )
        if archive.returncode != 0:
            raise RecordError(f"git archive {commit[:12]} {package_rel} failed: {archive.stderr.decode()}")
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as members:
            members.extractall(tree, filter="tar")
        built = pathlib.Path(tmp) / "out"
        env = {**os.environ, "SOURCE_DATE_EPOCH": epoch, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
        if setuptools_version:
            constraints = pathlib.Path(tmp) / "constraints.txt"
            constraints.write_text(f"setuptools=={setuptools_version}\n")
            env["PIP_CONSTRAINT"] = str(constraints)
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "build",
                "--sdist",
                "--wheel",
                "--outdir",
                str(built),
                str(tree / package_rel),
            ],
            capture_output=True,
            text=True,
            env=env,
        )
        if result.returncode != 0:
            raise RecordError(
                f"build of {package_rel} at {commit[:12]} failed:\n"
                f"{result.stdout[-2000:]}{result.stderr[-2000:]}"
            )
        (wheel,) = built.glob("*.whl")
        (sdist,) = built.glob("*.tar.gz")
        paths = {}
        for kind, path in (("sdist", sdist), ("wheel", wheel)):
            paths[kind] = outdir / path.name
            shutil.copyfile(path, paths[kind])
        return paths


def make_record(
    root: pathlib.Path, commit: str, package_rel: str, artifacts: dict[str, pathlib.Path]
) -> dict[str, Any]:
    """The record of the release made by ``commit`` with the artifacts built from it."""
    project = project_at(root, commit, package_rel)["project"]
    distribution = project["name"]
    epoch = int(git(root, "log", "-1", "--format=%ct", commit))
    data: dict[str, Any] = {
        "schema": SCHEMA,
        "distribution": distribution,
        "version": project["version"],
        "package": package_rel,
        "source_commit": git(root, "rev-parse", f"{commit}^{{commit}}"),
        "date": datetime.datetime.fromtimestamp(epoch, datetime.UTC).isoformat(),
        "source_date_epoch": epoch,
        **contract_facts(root, commit, distribution),
        "drivers": sorted(project.get("entry-points", {}).get("nova.virt.drivers", {})),
        "requires": list(project.get("dependencies", [])),
        "build": {"setuptools": wheel_generator(artifacts["wheel"])},
        "artifacts": {kind: describe_artifact(path, kind) for kind, path in sorted(artifacts.items())},
    }
    return data


def write_record(root: pathlib.Path, data: dict[str, Any]) -> str:
    path = record_path(data["package"], data["version"])
    target = root / path
    if target.exists():
        raise RecordError(f"record {path} already exists")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    return path


def verify_artifacts(record: Record, built: dict[str, pathlib.Path]) -> list[str]:
    """What differs between the recorded artifacts and ``built`` (empty: reproduced)."""
    problems = []
    for kind, recorded in record.data["artifacts"].items():
        path = built[kind]
        if path.name != recorded["file"]:
            problems.append(f"{kind}: built {path.name}, recorded {recorded['file']}")
            continue
        field = recorded.get("verify", VERIFY[kind])
        actual = file_sha256(path) if field == "sha256" else content_sha256(path)
        if actual != recorded[field]:
            also = ""
            if field == "sha256" and content_sha256(path) == recorded["content_sha256"]:
                also = " (same file list and contents; the bytes differ)"
            problems.append(f"{kind} {path.name}: {field} {actual}, recorded {recorded[field]}{also}")
    return problems


def build_release(root: pathlib.Path, record: Record, outdir: pathlib.Path) -> dict[str, pathlib.Path]:
    """Rebuild a recorded release into ``outdir`` and check it against its record."""
    try:
        git(root, "cat-file", "-e", f"{record.source_commit}^{{commit}}")
    except RecordError:
        raise RecordError(
            f"{record.spec}: source commit {record.source_commit} is not in this repository"
        ) from None
    built = build_from_commit(
        root, record.source_commit, record.package, outdir, record.data.get("build", {}).get("setuptools")
    )
    problems = verify_artifacts(record, built)
    if problems:
        raise RecordError(f"{record.spec} is not reproduced: " + "; ".join(problems))
    return built


# -- command line (tools/release build | list) ---------------------------------------------------

COMMANDS = ("build", "list")


def repo_root() -> pathlib.Path:
    return pathlib.Path(git(pathlib.Path.cwd(), "rev-parse", "--show-toplevel"))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="tools/release", description="recorded releases")
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="rebuild a recorded release from its source commit and verify it")
    build.add_argument("release", help="DIST==VERSION, e.g. nova-common==1.0.0")
    build.add_argument("--out", "--outdir", dest="out", required=True, help="where the sdist and wheel go")
    listing = sub.add_parser("list", help="the recorded releases")
    listing.add_argument("--json", action="store_true", help="the records as JSON")
    args = parser.parse_args(argv)
    try:
        root = repo_root()
        records = load_records(root)
        if args.command == "list":
            if args.json:
                print(json.dumps([r.data for r in records], indent=2, sort_keys=True))
            for record in [] if args.json else records:
                low, high = record.virt_api
                print(
                    f"{record.spec:40} {record.data['date'][:10]}  virt API {low}-{high}  "
                    f"{record.source_commit[:12]}"
                )
            return 0
        record = find_record(records, args.release)
        built = build_release(root, record, pathlib.Path(args.out))
        for kind, path in sorted(built.items()):
            verified = record.data["artifacts"][kind].get("verify", VERIFY[kind])
            print(f"release: {path} ({verified} as recorded)")
        print(f"release: {record.spec} rebuilt from {record.source_commit[:12]} and verified")
        return 0
    except RecordError as error:
        print(f"release: refused: {error}", file=sys.stderr)
        return 1
