"""The fake hypervisor's instance table on disk (``[fake] state_file``).

A real hypervisor's instances outlive a restart of the compute service; the
fake's live in the compute process. With a state file they outlive it too, so
a rolling upgrade (stop the service, install the new release, start it) keeps
every instance, as it would on libvirt or vCenter.

The format is shared by every release of the fake that has the option (1.0.1
and later), so a file written by an older release is read by a newer one:

    {"format": 1,
     "instances": {"<uuid>": {"instance": <Instance primitive>,
                              "power_state": "running", "volumes": {mountpoint: volume_id},
                              "console": [...], "snapshots": [image_id, ...], "nics": 1}}}

The file is written whole (temporary file, then rename) after every change,
readable by its owner only.
"""

from __future__ import annotations

import json
import os
import pathlib
import tempfile
from typing import Any

FORMAT = 1


class StateFileError(Exception):
    """The state file cannot be used; the message names the file and why."""


def load(path: str) -> dict[str, dict[str, Any]]:
    """The instances recorded in ``path`` (none when it does not exist yet)."""
    file = pathlib.Path(path)
    if not file.exists():
        return {}
    try:
        document = json.loads(file.read_text())
    except (OSError, ValueError) as error:
        raise StateFileError(f"[fake] state_file {path}: cannot be read ({error})") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        found = document.get("format") if isinstance(document, dict) else type(document).__name__
        raise StateFileError(
            f"[fake] state_file {path}: format {found!r}, this release reads format {FORMAT}"
        )
    instances = document.get("instances")
    if not isinstance(instances, dict):
        raise StateFileError(f"[fake] state_file {path}: 'instances' is not an object")
    return instances


def save(path: str, instances: dict[str, dict[str, Any]]) -> None:
    """Replace ``path`` with ``instances``, atomically, mode 0600."""
    file = pathlib.Path(path)
    file.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{file.name}.", dir=file.parent)
    try:
        with os.fdopen(handle, "w") as out:
            json.dump({"format": FORMAT, "instances": instances}, out, sort_keys=True)
        os.replace(temporary, file)
    except BaseException:
        pathlib.Path(temporary).unlink(missing_ok=True)
        raise
