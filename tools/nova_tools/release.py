"""Release one package of the monorepo on its own cadence.

    tools/release drivers/libvirt            # bump, changelog, commit, record, sdist + wheel
    tools/release drivers/libvirt --dry-run  # say what would happen
    tools/release nova-common --version 1.0.0   # a chosen version (greater than the last)
    tools/release build nova-common==1.0.0 --out DIR   # rebuild a recorded release, verified
    tools/release list                       # the recorded releases

Steps, each refusing (non-zero exit, nothing changed) when it cannot go on:

1. The package's release notes added since its last recorded release (the
   source commit of ``<package>/releases/<version>.json``, never a tag: tags do
   not travel between clones; see :mod:`nova_tools.release_records`)
   (reno style, ``releasenotes/notes/*.yaml``) choose the semver level:
   ``critical`` or ``upgrade`` notes -> major, ``features`` or ``deprecations``
   -> minor, anything else -> patch. Before 1.0 a major change bumps the
   minor (semver's 0.x rule). No new notes: nothing to release. ``--version``
   chooses the version instead (it must be greater than the last release's).
2. The package's checks must pass: its tests (``pytest <pkg>/tests``) and, for
   a driver (an entry point in ``nova.virt.drivers``), the contract kit in
   process. ``[tool.nova-release] checks`` in the package's pyproject.toml
   replaces the defaults (a list of shell commands run from the repo root).
3. The version in ``pyproject.toml`` is bumped and the notes are collected
   into ``CHANGELOG.md``; both are committed ("Release <dist> <version>"),
   and the commit is verified to touch nothing outside the package.
4. That package alone is built (sdist and wheel) from ``git archive`` of the
   release commit with SOURCE_DATE_EPOCH = its date, into ``dist/<distribution>/``.
5. The release record ``<package>/releases/<version>.json`` (source commit, date,
   virt API range, object manifest, artifact hashes) is committed ("Record
   release <dist> <version>"), again touching nothing outside the package.
   A build failure undoes the release commit. The tag ``<distribution>-<version>``
   is still made on the release commit for local convenience; nothing reads it.
"""

from __future__ import annotations

import argparse
import datetime
import pathlib
import re
import shlex
import subprocess
import sys
import tomllib

import yaml

from nova_tools import release_records
from nova_tools.release_records import RecordError, git

SECTIONS = [
    ("prelude", "Prelude"),
    ("critical", "Critical issues"),
    ("security", "Security"),
    ("upgrade", "Upgrade notes"),
    ("features", "New features"),
    ("deprecations", "Deprecations"),
    ("fixes", "Bug fixes"),
    ("issues", "Known issues"),
    ("other", "Other notes"),
]
MAJOR_SECTIONS = {"critical", "upgrade"}
MINOR_SECTIONS = {"features", "deprecations"}


#: The release cannot go on; the message says why.
ReleaseError = RecordError


def read_project(package: pathlib.Path) -> dict:
    path = package / "pyproject.toml"
    if not path.exists():
        raise ReleaseError(f"package: {package} has no pyproject.toml")
    return tomllib.loads(path.read_text())


def new_notes(root: pathlib.Path, package_rel: str, since: str | None) -> list[pathlib.Path]:
    notes_dir = f"{package_rel}/releasenotes/notes"
    if since is None:
        names = git(root, "ls-files", "--", notes_dir).splitlines()
    else:
        ancestor = subprocess.run(["git", "-C", str(root), "merge-base", "--is-ancestor", since, "HEAD"])
        if ancestor.returncode != 0:
            raise ReleaseError(f"last release: source commit {since} is not an ancestor of HEAD")
        names = git(
            root, "diff", "--name-only", "--diff-filter=A", since, "HEAD", "--", notes_dir
        ).splitlines()
    return sorted(root / name for name in names if name.endswith((".yaml", ".yml")))


def load_note(path: pathlib.Path) -> dict[str, list[str] | str]:
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise ReleaseError(f"release note {path.name}: not valid YAML: {error}") from error
    unknown = set(data) - {name for name, _ in SECTIONS}
    if unknown:
        raise ReleaseError(f"release note {path.name}: unknown sections {sorted(unknown)}")
    return data


def choose_level(notes: list[dict]) -> str:
    sections = {name for note in notes for name in note}
    if sections & MAJOR_SECTIONS:
        return "major"
    if sections & MINOR_SECTIONS:
        return "minor"
    return "patch"


def bump(version: str, level: str) -> str:
    match = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)", version)
    if not match:
        raise ReleaseError(f"version: {version!r} is not MAJOR.MINOR.PATCH")
    major, minor, patch = (int(part) for part in match.groups())
    if level == "major" and major == 0:
        level = "minor"  # semver: anything may change before 1.0
    if level == "major":
        return f"{major + 1}.0.0"
    if level == "minor":
        return f"{major}.{minor + 1}.0"
    return f"{major}.{minor}.{patch + 1}"


def default_checks(project: dict, package_rel: str) -> list[str]:
    checks = []
    if (pathlib.Path(package_rel) / "tests").is_dir():
        checks.append(f"{shlex.quote(sys.executable)} -m pytest -q {shlex.quote(package_rel)}/tests")
    drivers = project.get("project", {}).get("entry-points", {}).get("nova.virt.drivers", {})
    for name in drivers:
        checks.append(f"nova-contract-tests run --driver {shlex.quote(name)} -q")
    return checks


def run_checks(root: pathlib.Path, checks: list[str]) -> None:
    for command in checks:
        print(f"release: check: {command}", flush=True)
        result = subprocess.run(command, shell=True, cwd=root)
        if result.returncode != 0:
            raise ReleaseError(f"check failed (exit {result.returncode}): {command}")


def changelog_section(distribution: str, version: str, notes: list[dict], speaks: str | None = None) -> str:
    today = datetime.date.today().isoformat()
    lines = [f"## {distribution} {version} ({today})", ""]
    if speaks:
        lines += [speaks, ""]
    for key, title in SECTIONS:
        entries = []
        for note in notes:
            value = note.get(key)
            if isinstance(value, str):
                entries.append(value.strip())
            elif isinstance(value, list):
                entries.extend(str(item).strip() for item in value)
        if entries:
            lines += [f"### {title}", ""]
            lines += [f"- {' '.join(entry.split())}" for entry in entries]
            lines.append("")
    return "\n".join(lines)


def write_version(pyproject: pathlib.Path, old: str, new: str) -> None:
    text = pyproject.read_text()
    updated, count = re.subn(
        r'(?m)^(version\s*=\s*")' + re.escape(old) + r'(")',
        lambda m: m.group(1) + new + m.group(2),
        text,
        count=1,
    )
    if count != 1:
        raise ReleaseError(f'version: cannot find version = "{old}" in {pyproject}')
    pyproject.write_text(updated)


def speaks(root: pathlib.Path, distribution: str) -> str:
    """The changelog's line on the contract the release speaks (as its record will say)."""
    facts = release_records.contract_facts(root, "HEAD", distribution)
    line = f"Speaks virt API {facts['virt_api']['min']} to {facts['virt_api']['max']}"
    if "report_api" in facts:
        line += f" and compute-report API {facts['report_api']}"
    return line + "."


def commit_in_package(root: pathlib.Path, package_rel: str, message: str, paths: list[str]) -> str:
    """Commit ``paths`` alone; undo and refuse when the commit touches anything outside the package."""
    git(root, "add", "--", *paths)
    git(root, "commit", "-q", "-m", message, "--", *paths)
    touched = git(root, "diff-tree", "--no-commit-id", "--name-only", "-r", "HEAD").splitlines()
    outside = [path for path in touched if not path.startswith(package_rel + "/")]
    if outside:
        git(root, "reset", "-q", "--keep", "HEAD~1")
        raise ReleaseError(f"the commit {message!r} touched files outside {package_rel}: {outside}; undone")
    return git(root, "rev-parse", "HEAD")


def choose_version(current: str, last: str | None, level: str, wanted: str | None) -> str:
    if wanted is None:
        return bump(current, level)
    floor = last or "0.0.0"
    if release_records.version_key(wanted) <= release_records.version_key(floor):
        raise ReleaseError(f"--version: {wanted} is not greater than the last release {floor}")
    return wanted


def release(
    package_arg: str, dry_run: bool, skip_checks: bool, outdir: str | None, version_wanted: str | None = None
) -> str:
    root = release_records.repo_root()
    package = (pathlib.Path.cwd() / package_arg).resolve()
    try:
        package_rel = package.relative_to(root).as_posix()
    except ValueError:
        raise ReleaseError(f"package: {package_arg} is not inside the repository {root}") from None
    project = read_project(package)
    distribution = project["project"]["name"]
    version = project["project"]["version"]
    if git(root, "status", "--porcelain", "--", package_rel):
        raise ReleaseError(f"package: {package_rel} has uncommitted changes; commit or stash them first")
    last = release_records.last_release(root, package_rel)
    since = f"{distribution} {last.version}" if last else "the start"
    note_paths = new_notes(root, package_rel, last.source_commit if last else None)
    if not note_paths:
        raise ReleaseError(f"nothing to release: no release notes added to {package_rel} since {since}")
    notes = [load_note(path) for path in note_paths]
    level = choose_level(notes)
    new_version = choose_version(version, last.version if last else None, level, version_wanted)
    record_rel = release_records.record_path(package_rel, new_version)
    print(
        f"release: {distribution} {version} -> {new_version} "
        f"({'chosen' if version_wanted else level}; {len(notes)} note(s) since {since})",
        flush=True,
    )
    if (root / record_rel).exists():
        raise ReleaseError(f"{distribution} {new_version} is already recorded ({record_rel})")
    checks = project.get("tool", {}).get("nova-release", {}).get("checks") or default_checks(
        project, package_rel
    )
    if dry_run:
        print(f"release: dry run; would check: {checks}; would record {record_rel}")
        return new_version
    if not skip_checks:
        run_checks(root, checks)

    if new_version != version:
        write_version(package / "pyproject.toml", version, new_version)
    changelog = package / "CHANGELOG.md"
    previous = changelog.read_text() if changelog.exists() else "# Changelog\n\n"
    head, _, rest = previous.partition("\n\n")
    section = changelog_section(distribution, new_version, notes, speaks(root, distribution))
    changelog.write_text(f"{head}\n\n{section}\n{rest}")
    source = commit_in_package(
        root,
        package_rel,
        f"Release {distribution} {new_version}",
        [f"{package_rel}/pyproject.toml", f"{package_rel}/CHANGELOG.md"],
    )
    target = pathlib.Path(outdir) if outdir else root / "dist" / distribution
    print(f"release: building {distribution} {new_version} from {source[:12]} into {target}", flush=True)
    try:
        artifacts = release_records.build_from_commit(root, source, package_rel, target)
    except RecordError as error:
        git(root, "reset", "-q", "--keep", "HEAD~1")
        raise ReleaseError(f"{error}\n(the release commit is undone)") from None
    record = release_records.make_record(root, source, package_rel, artifacts)
    release_records.write_record(root, record)
    commit_in_package(root, package_rel, f"Record release {distribution} {new_version}", [record_rel])
    git(
        root,
        "tag",
        "-f",
        "-a",
        f"{distribution}-{new_version}",
        source,
        "-m",
        f"{distribution} {new_version}",
    )
    low, high = record["virt_api"]["min"], record["virt_api"]["max"]
    print(f"release: recorded {record_rel} (source {source[:12]}, virt API {low}-{high})")
    return new_version


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in release_records.COMMANDS:
        return release_records.main(argv)
    parser = argparse.ArgumentParser(
        prog="tools/release", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("package", help="package directory, e.g. drivers/libvirt or contract-tests")
    parser.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    parser.add_argument(
        "--skip-checks", action="store_true", help="do not run the tests and the kit (not for real releases)"
    )
    parser.add_argument(
        "--outdir", "--out", help="where to put the sdist and wheel (default: dist/<distribution>/)"
    )
    parser.add_argument("--version", dest="version", help="release this version (greater than the last)")
    args = parser.parse_args(argv)
    try:
        release(args.package, args.dry_run, args.skip_checks, args.outdir, args.version)
    except ReleaseError as error:
        print(f"release: refused: {error}", file=sys.stderr)
        return 1
    return 0
