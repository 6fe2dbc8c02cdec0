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


# -- Gerrit-shaped histories ----------------------------------------------------------

GERRIT_DIRS = 40  # directories of common code; each driver has GERRIT_DIRS // 5 of its own


def _gerrit_paths(rng: random.Random, kind: str, package: str) -> list[str]:
    def common() -> str:
        return f"nova-common/nova_common/d{rng.randrange(GERRIT_DIRS)}/m{rng.randrange(20)}.py"

    def in_package() -> str:
        return f"{package}/d{rng.randrange(GERRIT_DIRS // 5)}/f{rng.randrange(20)}.py"

    def driver(name: str) -> str:
        return f"drivers/{name}/nova_driver_{name}/d{rng.randrange(GERRIT_DIRS // 5)}/f{rng.randrange(20)}.py"

    others = [d for d in DRIVERS if f"drivers/{d}" != package]
    if kind == "package":
        return [in_package() for _ in range(rng.randint(1, 3))]
    if kind == "package+common":
        return [in_package(), common()]
    if kind == "driver":
        name = rng.choice(others)
        return [driver(name) for _ in range(rng.randint(1, 3))]
    if kind == "several":
        return [in_package(), driver(rng.choice(others))]
    return [common() for _ in range(rng.randint(1, 4))]


GERRIT_KINDS = (("package", 0.10), ("package+common", 0.03), ("several", 0.02), ("driver", 0.15))


def gerrit_kind(rng: random.Random) -> str:
    roll = rng.random()
    for kind, share in GERRIT_KINDS:
        if roll < share:
            return kind
        roll -= share
    return "common"


def gerrit(
    repo: str,
    changes: int,
    package: str = "drivers/libvirt",
    seed: int = 1,
    start: int = 1_388_534_400,
    first: bool = True,
    max_lag: int = 30,
) -> None:
    """Land ``changes`` changes on ``main`` the way Gerrit does: each change is one commit
    made on a recent main-line commit (the tip itself a tenth of the time, else up to
    ``max_lag`` merges back), landed by a "Merge ..." commit whose first parent is the tip.
    The change is committed (uploaded) hours before its merge (landing). Areas:
    GERRIT_KINDS of the changes touch ``package`` and other drivers, the rest common code
    spread over GERRIT_DIRS directories. ``first``: create the repository (with a root commit)."""
    if first:
        subprocess.run(["git", "init", "-q", "-b", "main", repo], check=True)
    rng = random.Random(seed)
    out: list[bytes] = []
    mark = 0

    def commit(when: int, author_when: int, message: str, files: dict[str, str], parents: list[str]) -> str:
        nonlocal mark
        mark += 1
        out.append(f"commit refs/heads/main\nmark :{mark}\n".encode())
        who = rng.randrange(50)
        committer = "Zuul <zuul@example.org>" if len(parents) > 1 else f"Dev {who} <dev{who}@example.org>"
        out.append(f"author Dev {who} <dev{who}@example.org> {author_when} +0000\n".encode())
        out.append(f"committer {committer} {when} +0000\n".encode())
        raw = message.encode()
        out.append(b"data %d\n" % len(raw) + raw + b"\n")
        for n, parent in enumerate(parents):
            out.append((b"from " if n == 0 else b"merge ") + parent.encode() + b"\n")
        for path, text in files.items():
            body = text.encode()
            out.append(f"M 100644 inline {path}\ndata {len(body)}\n".encode() + body + b"\n")
        out.append(b"\n")
        return f":{mark}"

    when = start
    if first:
        root = {"README.md": "top\n", f"{package}/README.md": "package\n"}
        mains = [commit(when, when, "Initial import", root, [])]
    else:
        tip = subprocess.run(
            ["git", "-C", repo, "rev-parse", "main"], capture_output=True, text=True, check=True
        )
        mains = [tip.stdout.strip()]
    for n in range(changes):
        when += rng.randint(60, 1800)
        lag = 0 if rng.random() < 0.1 else rng.randint(1, max_lag)
        base = mains[max(0, len(mains) - 1 - lag)]
        kind = gerrit_kind(rng)
        uploaded = when - rng.randint(3600, 200_000)
        title = f"Change {seed}-{n} ({kind})"
        files = {path: f"{title}\n{path}\n" for path in _gerrit_paths(rng, kind, package)}
        change = commit(uploaded, uploaded - rng.randint(0, 100_000), title, files, [base])
        # a clean merge: the main line's tree with the change's files
        mains.append(commit(when, uploaded, f'Merge "{title}"', files, [mains[-1], change]))
        del mains[: -max_lag - 1]
    subprocess.run(["git", "-C", repo, "fast-import", "--quiet"], input=b"".join(out), check=True)
