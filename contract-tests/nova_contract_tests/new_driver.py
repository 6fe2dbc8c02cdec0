"""``nova-contract-tests new-driver NAME --output DIR``: a driver package to start from.

The package (from ``templates/new_driver``) installs with pip, hosts its
driver in a ``nova-compute-NAME`` console script, and passes the kit's
mandatory operations on the first run: its driver implements them over an
in-memory table and leaves every gated operation to the base class
(NotSupported), advertising no capability, so the kit reports those
operations as missing. Its tests run the kit (``make_kit_test``), the
layering rule and a unit test with a config built in the test.
"""

from __future__ import annotations

import keyword
import pathlib
import re
import uuid

from nova_common.virt import api

_TEMPLATES = pathlib.Path(__file__).resolve().parent / "templates" / "new_driver"
_NAME = re.compile(r"[a-z][a-z0-9_]*")
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")


def validate_name(name: str) -> None:
    """Raise ValueError naming the field and the value unless ``name`` can be a driver's name."""
    if not isinstance(name, str) or not _NAME.fullmatch(name) or keyword.iskeyword(name):
        raise ValueError(
            f"name: {name!r} is not a lower-case Python identifier "
            "(a letter a-z, then letters a-z, digits and underscores; not a Python keyword)"
        )


def validate_approvers(approvers: list[str]) -> None:
    """Raise ValueError naming the value unless every entry is one account (no blanks, no YAML)."""
    for account in approvers:
        if not re.fullmatch(r"[\w.+@-]+", account or ""):
            raise ValueError(f"approver: {account!r} is not an account (an email, a username or an id)")


def distribution_suffix(name: str) -> str:
    """The ``NAME`` part of the distribution ``nova-driver-NAME`` (underscores as hyphens)."""
    return name.replace("_", "-")


def _requirement(distribution: str) -> str:
    """``distribution`` from the release installed here on, within its major version: what the
    generated package was generated (and its kit run) against."""
    from nova_common.virt.driver_info import package_version

    version = package_version(distribution)
    if version == "0.0.0":  # run from a source tree: no release to pin against
        return distribution
    major, minor = (int(part) for part in version.split(".")[:2])
    return f"{distribution}>={major}.{minor},<{major + 1}"


def _values(name: str, approvers: list[str]) -> dict[str, str]:
    package = f"nova_driver_{name}"
    return {
        "name": name,
        "package": package,
        "class_name": "".join(part.capitalize() for part in name.split("_") if part) + "Driver",
        "distribution": f"nova-driver-{distribution_suffix(name)}",
        # nova-compute-<entry-point name>, exactly: what tools and operators derive from the name.
        "console_script": f"nova-compute-{name}",
        "virt_api_version": api.VIRT_API_VERSION,
        "nova_common_requirement": _requirement("nova-common"),
        "kit_requirement": _requirement("nova-contract-tests"),
        "approvers": "\n".join(f"  - {account}" for account in approvers),
    }


def _fill(template: str, values: dict[str, str], source: pathlib.Path) -> str:
    unknown = sorted(set(_PLACEHOLDER.findall(template)) - set(values))
    if unknown:
        raise KeyError(f"{source}: unknown placeholder(s) {', '.join(unknown)}")
    return _PLACEHOLDER.sub(lambda match: values[match.group(1)], template)


def _target(relative: pathlib.Path, package: str) -> pathlib.Path:
    parts = [package if part == "PACKAGE" else part for part in relative.parts]
    target = pathlib.Path(*parts).with_suffix("")  # drop .tmpl
    if target.parent.name == "notes":
        # reno's naming: a unique suffix per note, so notes of parallel changes never collide.
        target = target.with_name(f"{target.stem}-{uuid.uuid4().hex[:16]}{target.suffix}")
    return target


def _check_output(output: pathlib.Path) -> None:
    if output.exists() and not output.is_dir():
        raise ValueError(f"output: {str(output)!r} exists and is not a directory")
    if output.is_dir() and any(output.iterdir()):
        raise ValueError(f"output: {str(output)!r} is not empty; give a new or empty directory")


def generate(name: str, output: str | pathlib.Path, approvers: list[str] | None = None) -> list[pathlib.Path]:
    """Write the package for driver ``name`` into ``output`` (new or empty);
    return the files written, relative to ``output``."""
    validate_name(name)
    approvers = approvers or [f"{name}-lead@example.org"]
    validate_approvers(approvers)
    output = pathlib.Path(output)
    _check_output(output)
    values = _values(name, approvers)
    written = []
    for source in sorted(_TEMPLATES.rglob("*.tmpl")):
        target = _target(source.relative_to(_TEMPLATES), values["package"])
        text = _fill(source.read_text(), values, source)
        (output / target).parent.mkdir(parents=True, exist_ok=True)
        (output / target).write_text(text)
        written.append(target)
    return written
