"""Synthetic git histories for the tool benchmarks, written with one git fast-import stream.

The mix of areas follows Nova's 2014 history (about 22% of non-merge commits
touched one driver only, 7% a driver and common code); every 50th commit is a
merge of a one-commit side branch.
"""

from __future__ import annotations

import random
import subprocess

DRIVERS = ["libvirt", "vmware", "hyperv", "xenapi", "ironic"]
COMMON = [f"nova-common/nova_common/mod{n}.py" for n in range(40)] + ["tox.ini", "README.md"]


def _paths(rng: random.Random, kind: str) -> list[str]:
    def driver_file(name: str) -> str:
        return f"drivers/{name}/nova_driver_{name}/f{rng.randrange(30)}.py"

    if kind == "package":  # the package the publish benchmark publishes
        return [driver_file("libvirt")]
    if kind == "driver":
        name = rng.choice(DRIVERS)
        return [driver_file(name) for _ in range(rng.randint(1, 2))]
    if kind == "several":
        a, b = rng.sample(DRIVERS, 2)
        return [driver_file(a), driver_file(b)]
    if kind == "driver+common":
        return [driver_file(rng.choice(DRIVERS)), rng.choice(COMMON)]
    return [rng.choice(COMMON) for _ in range(rng.randint(1, 2))]


def pick_kind(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.22:
        return "driver"
    if roll < 0.29:
        return "driver+common"
    if roll < 0.32:
        return "several"
    return "common"


def build(
    repo: str,
    commits: int,
    seed: int = 1,
    start: int = 1_388_534_400,
    branch: str = "main",
    kinds: list[str] | None = None,
) -> None:
    """Create ``repo`` with ``commits`` commits on ``branch`` (plus merges), fast."""
    subprocess.run(["git", "init", "-q", "-b", branch, repo], check=True)
    append(repo, commits, seed=seed, start=start, branch=branch, first=True, kinds=kinds)


def append(
    repo: str,
    commits: int,
    seed: int = 2,
    start: int = 1_500_000_000,
    branch: str = "main",
    first: bool = False,
    kinds: list[str] | None = None,
) -> None:
    """Add ``commits`` commits to ``branch`` of ``repo`` with one fast-import run."""
    rng = random.Random(seed)
    out = []
    counter = 0

    def data(text: str) -> None:
        raw = text.encode()
        out.append(f"data {len(raw)}\n".encode() + raw + b"\n")

    def commit(
        ref: str, when: int, message: str, paths: list[str], parent: str | None, merge: str | None
    ) -> str:
        nonlocal counter
        counter += 1
        mark = f":{counter}"
        out.append(f"commit {ref}\nmark {mark}\n".encode())
        out.append(f"author Dev {when % 7} <dev{when % 7}@example.org> {when} +0000\n".encode())
        out.append(f"committer CI <ci@example.org> {when} +0000\n".encode())
        data(message)
        if parent:
            out.append(f"from {parent}\n".encode())
        if merge:
            out.append(f"merge {merge}\n".encode())
        for path in paths:
            out.append(f"M 100644 inline {path}\n".encode())
            data(f"{message}\n{path}\n")
        return mark

    tip = None if first else f"refs/heads/{branch}^0"
    when = start
    made = 0
    while made < commits:
        when += 600
        if made and made % 50 == 0:
            side = commit(f"refs/heads/side-{seed}", when, f"side {made}", _paths(rng, "common"), tip, None)
            when += 60
            tip = commit(f"refs/heads/{branch}", when, f"Merge side {made}", [], tip, side)
        kind = kinds[made % len(kinds)] if kinds else pick_kind(rng)
        tip = commit(
            f"refs/heads/{branch}", when, f"commit {seed}-{made} ({kind})", _paths(rng, kind), tip, None
        )
        made += 1
    out.append(f"reset refs/heads/side-{seed}\nfrom 0000000000000000000000000000000000000000\n".encode())
    stream = b"".join(out)
    subprocess.run(["git", "-C", repo, "fast-import", "--quiet"], input=stream, check=True)
