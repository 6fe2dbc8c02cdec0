"""A target's record of the last run: the decisions so far, so the next run need not replay them.

Kept in the target's git directory (``tools-publish/<branch>.state``, marshal
format), not in a ref: a clone of the target does not carry it, and does not
need to. It is used only while the target's branch still points where that
run left it, for the same rule, and the new source commit contains the one it
stopped at; otherwise the run replays the decisions from the source graph
(:meth:`History.add_published`), which gives the same result, only slower.
"""

from __future__ import annotations

import dataclasses
import marshal
import os
import subprocess

from nova_tools.publish_graph import History

VERSION = 1


@dataclasses.dataclass
class State:
    rule: str  # the rule's mappings, as text: another rule cannot reuse the state
    source_tip: str  # the source commit the run published
    target_tip: str  # where it left the target's branch
    mapping: dict[str, str]  # source sha -> target sha of every published commit
    history: History


def _path(target: str, branch: str) -> str | None:
    found = subprocess.run(
        ["git", "-C", target, "rev-parse", "--absolute-git-dir"], capture_output=True, text=True
    )
    if found.returncode != 0:
        return None
    return os.path.join(found.stdout.strip(), "tools-publish", branch.replace("/", "%2F") + ".state")


def load(target: str, branch: str, rule: str, target_tip: str) -> State | None:
    """The state of the last run, when it still describes ``target``; else None."""
    path = _path(target, branch)
    if path is None or not os.path.exists(path):
        return None
    try:
        with open(path, "rb") as source:
            data = marshal.loads(source.read())
        if data["version"] != VERSION or data["rule"] != rule or data["target_tip"] != target_tip:
            return None
        return State(
            rule, data["source_tip"], target_tip, data["mapping"], History.from_state(data["history"])
        )
    except (OSError, EOFError, ValueError, TypeError, KeyError):
        return None  # unreadable or from another version: replay instead


def save(target: str, branch: str, state: State) -> None:
    path = _path(target, branch)
    if path is None:
        return
    os.makedirs(os.path.dirname(path), exist_ok=True)
    data = {
        "version": VERSION,
        "rule": state.rule,
        "source_tip": state.source_tip,
        "target_tip": state.target_tip,
        "mapping": state.mapping,
        "history": state.history.state(),
    }
    partial = path + ".new"
    with open(partial, "wb") as out:
        marshal.dump(data, out)
    os.replace(partial, path)


def forget(target: str, branch: str) -> None:
    path = _path(target, branch)
    if path and os.path.exists(path):
        os.unlink(path)
