"""Publish a staged package directory to its own git repository, with its history.

One ``git fast-export --no-data`` of the new source commits is filtered here
and fed to one ``git fast-import`` on the target; file contents come from one
``git cat-file --batch`` process, each sent once. No checkout, no subprocess
per commit.

Filtering keeps the file changes under the package directory (its prefix
stripped) and under any extra paths (moved to their destination). Which
commits are kept, and which parents a kept merge gets, is
:mod:`nova_tools.publish_graph`'s rule (git filter-repo's). Each published
commit keeps its author, committer, dates and message, and gains a
``Source-commit: <sha>`` trailer. Invariant: the published tree of a source
commit's stand-in equals the package tree of that source commit; after each
run :func:`verify` checks it at the tip with git's own tree listings.

Incremental runs read the target's branch: its tip's ``Source-commit``
trailer says where the last run stopped, the trailers say which source
commits are published, and the source graph up to there replays the earlier
decisions (:meth:`History.add_published`); only the commits after it are
exported. A run in several steps therefore writes the same commits, byte for
byte, as one full run.

Nothing is written when a rule's path is not a directory at the source
commit, when the target is a file, a non-empty directory that is not a git
repository, or a branch this tool did not write, or when the source commit
does not contain the target's tip (a rewind).
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from typing import IO, Any

from nova_tools import publish_state, toml_file
from nova_tools.publish_graph import History, HistoryError

TRAILER = "Source-commit"
_TRAILER_LINE = re.compile(rb"^[A-Za-z0-9-]+: ")


class PublishError(RuntimeError):
    """A run that cannot go on, or a published tree that does not match."""


@dataclasses.dataclass(frozen=True)
class Rule:
    path: str  # the package directory, e.g. drivers/libvirt
    target: str  # a path (relative to the source repository) or a URL
    branch: str = "main"
    tag_prefix: str = ""
    extra: tuple[tuple[str, str], ...] = ()  # (source path, destination path)

    @property
    def mappings(self) -> list[tuple[str, str]]:
        """(source prefix, destination prefix), most specific first."""
        pairs = [
            (self.path.rstrip("/") + "/", ""),
            *((s.rstrip("/") + "/", d.rstrip("/") + "/") for s, d in self.extra),
        ]
        return sorted(pairs, key=lambda pair: -len(pair[0]))

    def map_path(self, path: bytes) -> bytes | None:
        text = path.decode("utf-8", "surrogateescape")
        for source, dest in self.mappings:
            if text.startswith(source):
                return (dest + text[len(source) :]).encode("utf-8", "surrogateescape")
        return None


def load_rules(path: str) -> dict[str, Rule]:
    data = toml_file.load(path, PublishError)
    packages = data.get("package")
    if not isinstance(packages, list) or not packages:
        raise PublishError(f"{path}: needs [[package]] tables (path, target, branch, tag_prefix, extra)")
    rules = {}
    for n, entry in enumerate(packages):
        where = f"{path}: package[{n}]"
        for field in ("path", "target"):
            if not isinstance(entry.get(field), str) or not entry[field]:
                raise PublishError(
                    f"{where}: field {field!r} must be a non-empty string, got {entry.get(field)!r}"
                )
        unknown = set(entry) - {"path", "target", "branch", "tag_prefix", "extra"}
        if unknown:
            raise PublishError(f"{where}: unknown field(s) {sorted(unknown)}")
        extra = entry.get("extra", {})
        if not isinstance(extra, dict) or not all(isinstance(v, str) for v in extra.values()):
            raise PublishError(f"{where}: field 'extra' must map source paths to destination paths")
        rule = Rule(
            path=entry["path"].rstrip("/"),
            target=entry["target"],
            branch=entry.get("branch", "main"),
            tag_prefix=entry.get("tag_prefix", ""),
            extra=tuple(sorted(extra.items())),
        )
        rules[rule.path] = rule
    return rules


# -- git plumbing ---------------------------------------------------------------------


def git(repo: str, *args: str, input: bytes | None = None, check: bool = True) -> bytes:
    result = subprocess.run(["git", "-C", repo, *args], input=input, capture_output=True)
    if check and result.returncode != 0:
        raise PublishError(
            f"git {' '.join(args[:3])} in {repo} failed: {result.stderr.decode(errors='replace')}"
        )
    return result.stdout


def is_url(target: str) -> bool:
    return "://" in target or (":" in target and "@" in target.split(":", 1)[0])


def unquote(path: bytes) -> bytes:
    """A path as git writes it: C-quoted when it holds special characters."""
    if not path.startswith(b'"'):
        return path
    body, out, i = path[1:-1], bytearray(), 0
    escapes = {
        ord("n"): 10,
        ord("t"): 9,
        ord('"'): 34,
        ord("\\"): 92,
        ord("a"): 7,
        ord("b"): 8,
        ord("f"): 12,
        ord("r"): 13,
        ord("v"): 11,
    }
    while i < len(body):
        c = body[i]
        if c == 92:  # backslash
            nxt = body[i + 1]
            if 48 <= nxt <= 55:
                out.append(int(body[i + 1 : i + 4], 8))
                i += 4
                continue
            out.append(escapes[nxt])
            i += 2
            continue
        out.append(c)
        i += 1
    return bytes(out)


def quote(path: bytes) -> bytes:
    if b"\n" in path or path.startswith(b'"') or b"\\" in path:
        return b'"' + path.replace(b"\\", b"\\\\").replace(b'"', b'\\"').replace(b"\n", b"\\n") + b'"'
    return path


def with_trailer(message: bytes, source_sha: str) -> bytes:
    body = message.rstrip(b"\n")
    line = f"{TRAILER}: {source_sha}".encode()
    last = body.rsplit(b"\n\n", 1)[-1]
    if body and b"\n\n" in body and all(_TRAILER_LINE.match(ln) for ln in last.split(b"\n") if ln):
        return body + b"\n" + line + b"\n"
    return body + b"\n\n" + line + b"\n"


class BlobReader:
    """File contents by sha, from one ``git cat-file --batch`` process."""

    def __init__(self, repo: str) -> None:
        self.proc = subprocess.Popen(
            ["git", "-C", repo, "cat-file", "--batch"], stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )

    def read(self, sha: bytes) -> bytes:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(sha + b"\n")
        self.proc.stdin.flush()
        header = self.proc.stdout.readline().split()
        if len(header) != 3:
            raise PublishError(f"cat-file: cannot read object {sha.decode()}: {header!r}")
        size = int(header[2])
        data = self.proc.stdout.read(size)
        self.proc.stdout.read(1)
        return data

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait()


# -- the export stream ----------------------------------------------------------------


@dataclasses.dataclass
class Commit:
    mark: bytes
    original: str
    header: list[bytes]  # author / committer / encoding lines
    message: bytes
    parents: list[bytes]  # ":mark" or a source sha (an excluded parent)
    ops: list[bytes]  # filemodify / filedelete lines, paths already mapped


def read_export(stream: IO[bytes], rule: Rule) -> Iterator[Commit | tuple[str, bytes, bytes]]:
    """Commits of a ``fast-export --no-data --show-original-ids`` stream, ops filtered
    and mapped; ``reset`` commands as ("reset", ref, from)."""
    readline = stream.readline
    line = readline()
    while line:
        if line.startswith(b"commit "):
            mark = original = b""
            header: list[bytes] = []
            parents: list[bytes] = []
            ops: list[bytes] = []
            line = readline()
            while line.startswith(
                (b"mark ", b"original-oid ", b"author ", b"committer ", b"encoding ", b"gpgsig ")
            ):
                if line.startswith(b"mark "):
                    mark = line[5:].strip()
                elif line.startswith(b"original-oid "):
                    original = line[13:].strip()
                else:
                    header.append(line)
                line = readline()
            if not line.startswith(b"data "):
                raise PublishError(f"fast-export: expected data, got {line[:60]!r}")
            message = stream.read(int(line[5:]))
            line = readline()
            if line == b"\n":
                line = readline()
            while line.startswith((b"from ", b"merge ")):
                parents.append(line.split(b" ", 1)[1].strip())
                line = readline()
            while line not in (b"\n", b""):
                if line.startswith(b"M "):
                    _, mode, ref, path = line.rstrip(b"\n").split(b" ", 3)
                    mapped = rule.map_path(unquote(path))
                    if mapped is not None:
                        ops.append(b"M " + mode + b" " + ref + b" " + mapped)
                elif line.startswith(b"D "):
                    mapped = rule.map_path(unquote(line[2:].rstrip(b"\n")))
                    if mapped is not None:
                        ops.append(b"D " + mapped)
                elif line.startswith(b"deleteall"):
                    raise PublishError("fast-export: unexpected deleteall (export without --full-tree)")
                line = readline()
            yield Commit(mark, original.decode(), header, message, parents, ops)
            line = readline()
        elif line.startswith(b"reset "):
            ref = line[6:].strip()
            line = readline()
            source = b""
            if line.startswith(b"from "):
                source = line[5:].strip()
                line = readline()
            yield ("reset", ref, source)
            if line == b"\n":
                line = readline()
        else:
            line = readline()  # feature, progress, done, blank lines


# -- publishing -----------------------------------------------------------------------

EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"


@dataclasses.dataclass
class Result:
    package: str
    target: str
    source_tip: str
    target_tip: str | None
    published: int  # commits written this run
    dropped: int  # commits read this run and not published (nothing of the package, or redundant merges)
    tags: list[str]
    incremental: bool
    dry_run: bool
    merges: int = 0  # merges among the commits written
    blobs: int = 0  # file contents sent to fast-import (each once)
    ancestry_walked: int = 0  # nodes the bounded source-ancestry walk visited (see publish_graph)
    resumed_from: str = ""  # incremental: "state" (the last run's, publish_state) or "trailers" (replayed)


def published_map(target: str, branch: str) -> dict[str, str]:
    """source sha -> target sha, from the Source-commit trailers on the target branch."""
    if not _has_branch(target, branch):
        return {}
    out = git(
        target,
        "log",
        f"--format=%H%x00%(trailers:key={TRAILER},valueonly,separator=%x01)%x00",
        f"refs/heads/{branch}",
    )
    mapping = {}
    for record in out.split(b"\x00\n"):
        if not record.strip():
            continue
        target_sha, _, sources = record.strip(b"\n").partition(b"\x00")
        for source in sources.strip(b"\x00").split(b"\x01"):
            if source.strip():
                mapping.setdefault(source.strip().decode(), target_sha.decode())
    return mapping


def _branch_tip(repo: str, branch: str) -> str | None:
    tip = git(repo, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}", check=False)
    return tip.decode().strip() or None


def _has_branch(repo: str, branch: str) -> bool:
    return bool(git(repo, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}", check=False).strip())


def tip_source(target: str, branch: str) -> str | None:
    if not _has_branch(target, branch):
        return None
    out = git(target, "log", "-1", f"--format=%(trailers:key={TRAILER},valueonly)", f"refs/heads/{branch}")
    return out.decode().strip() or None


def check_rule(source: str, commit: str, rule: Rule) -> None:
    """Every source path of the rule must be a directory at ``commit``; the error names it."""
    paths = [rule.path, *(src for src, _ in rule.extra)]
    query = "".join(f"{commit}:{p.rstrip('/')}\n" for p in paths).encode()
    answers = git(source, "cat-file", "--batch-check=%(objecttype)", input=query).decode().splitlines()
    for path, answer in zip(paths, answers, strict=True):
        if answer != "tree":
            what = "does not exist" if answer.endswith("missing") else f"is a {answer}, not a directory"
            raise PublishError(f"{path}: {what} in {source} at {commit[:12]}; nothing written")


def check_target(target: str, branch: str) -> bool:
    """Refuse a target that is not ours to write; True when it holds a repository already."""
    if not os.path.lexists(target):
        return False
    if not os.path.isdir(target):
        raise PublishError(f"{target}: exists and is not a directory; nothing written")
    found = subprocess.run(
        ["git", "-C", target, "rev-parse", "--absolute-git-dir"], capture_output=True, text=True
    )
    git_dir = found.stdout.strip()
    own = {os.path.realpath(target), os.path.realpath(os.path.join(target, ".git"))}
    if found.returncode != 0 or os.path.realpath(git_dir) not in own:
        if os.listdir(target):
            raise PublishError(
                f"{target}: a non-empty directory that is not a git repository; nothing written"
            )
        return False
    if _has_branch(target, branch) and tip_source(target, branch) is None:
        raise PublishError(
            f"{target}: branch {branch} was not written by tools/publish (no {TRAILER} trailer at its tip);"
            " nothing written"
        )
    return True


class TreeIds:
    """Tree ids of the rule's source paths at a commit, from one ``git cat-file --batch-check``."""

    def __init__(self, repo: str, rule: Rule) -> None:
        self.paths = [src.rstrip("/") for src, _ in rule.mappings]
        self.proc = subprocess.Popen(
            ["git", "-C", repo, "cat-file", "--batch-check=%(objectname)"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )

    def __call__(self, commit: str) -> tuple[bytes, ...]:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write("".join(f"{commit}:{p}\n" for p in self.paths).encode())
        self.proc.stdin.flush()
        return tuple(self.proc.stdout.readline().split(b" ")[0] for _ in self.paths)

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait()


def ops_between(source: str, rule: Rule, base: str | None, commit: str) -> list[bytes]:
    """The filtered file changes from ``base`` (None: nothing) to ``commit``."""
    sources = [src for src, _ in rule.mappings]
    out = git(source, "diff-tree", "-r", "-z", "--no-renames", base or EMPTY_TREE, commit, "--", *sources)
    fields = out.split(b"\x00")
    ops = []
    for meta, path in zip(fields[0::2], fields[1::2], strict=False):
        if not meta:
            continue
        _, mode, _, sha, status = meta.lstrip(b":").split(b" ")
        mapped = rule.map_path(path)
        if mapped is None:
            continue
        ops.append(b"D " + mapped if status == b"D" else b"M " + mode + b" " + sha + b" " + mapped)
    return ops


def _is_ancestor(repo: str, ancestor: str, commit: str) -> bool:
    return (
        subprocess.run(["git", "-C", repo, "merge-base", "--is-ancestor", ancestor, commit]).returncode == 0
    )


def _read_previous(source: str, last: str, mapping: dict[str, str], history: History) -> None:
    """Replay a previous run's decisions: the source graph up to ``last`` and what the target holds."""
    out = git(source, "rev-list", "--topo-order", "--reverse", "--parents", last)
    for line in out.decode().splitlines():
        sha, *parents = line.split(" ")
        history.add_published(sha, parents, sha in mapping)


def publish(
    source: str,
    rule: Rule,
    ref: str = "HEAD",
    target: str | None = None,
    dry_run: bool = False,
    progress: IO[str] | None = sys.stderr,
) -> Result:
    """Publish ``rule.path`` of ``source`` at ``ref`` to the rule's target (or ``target``)."""
    target = target or rule.target
    say = (
        (lambda msg: print(f"publish {rule.path}: {msg}", file=progress, flush=True))
        if progress
        else (lambda m: None)
    )
    resolved = git(source, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
    if not resolved.strip():
        raise PublishError(f"{ref}: not a commit in {source}; nothing written")
    source_tip = resolved.decode().strip()
    check_rule(source, source_tip, rule)

    workdir = None
    local: str | None = target
    if is_url(target):
        workdir = tempfile.mkdtemp(prefix="publish-")
        local = os.path.join(workdir, "target.git")
        git(workdir, "init", "-q", "--bare", local)
        fetched = subprocess.run(
            [
                "git",
                "-C",
                local,
                "fetch",
                "-q",
                target,
                f"+refs/heads/{rule.branch}:refs/heads/{rule.branch}",
                "+refs/tags/*:refs/tags/*",
            ],
            capture_output=True,
        )
        if fetched.returncode != 0 and b"couldn't find remote ref" not in fetched.stderr:
            raise PublishError(f"cannot fetch {target}: {fetched.stderr.decode(errors='replace')}")
        check_target(local, rule.branch)
    elif not check_target(target, rule.branch):
        if dry_run:
            local = None  # nothing published yet, and a dry run creates nothing
        else:
            os.makedirs(target, exist_ok=True)
            git(target, "init", "-q", "--bare", "-b", rule.branch)

    try:
        last = tip_source(local, rule.branch) if local else None
        if (
            last
            and subprocess.run(["git", "-C", source, "cat-file", "-e", f"{last}^{{commit}}"]).returncode != 0
        ):
            raise PublishError(
                f"{target}: its tip comes from source commit {last}, which {source} does not have"
            )
        if last and not _is_ancestor(source, last, source_tip):
            raise PublishError(
                f"{ref} does not contain {last[:12]}, the source of {target}'s tip: publishing it would"
                " rewind the target; nothing written"
            )
        rule_text = repr(rule.mappings)
        branch_tip = _branch_tip(local, rule.branch) if local else None
        cached = publish_state.load(local, rule.branch, rule_text, branch_tip) if branch_tip else None
        if cached and _is_ancestor(source, cached.source_tip, source_tip):
            history, mapping, start = cached.history, cached.mapping, cached.source_tip
            resumed_from = "state"
        else:
            resumed_from = "trailers" if last else ""
            mapping = published_map(local, rule.branch) if local else {}
            history, start = History(), last
            try:
                if last:
                    _read_previous(source, last, mapping, history)
            except HistoryError as error:
                raise PublishError(f"{target}: {error}") from error
        incremental = last is not None
        say(("incremental from " + last[:12]) if last else "full history")
        counts = _write(source, rule, source_tip, start, mapping, history, local, dry_run, say)
        published, dropped, merges, blob_count, tag_names = counts
        target_tip = None
        if local and not dry_run:
            target_tip = _branch_tip(local, rule.branch)
            git(local, "symbolic-ref", "HEAD", f"refs/heads/{rule.branch}")
            publish_state.forget(local, rule.branch)
            verify(source, source_tip, rule, local, rule.branch)
            if target_tip:
                state = publish_state.State(rule_text, source_tip, target_tip, mapping, history)
                publish_state.save(local, rule.branch, state)
            if workdir:
                pushed = subprocess.run(
                    [
                        "git",
                        "-C",
                        local,
                        "push",
                        "-q",
                        target,
                        f"refs/heads/{rule.branch}",
                        *(f"refs/tags/{t}" for t in tag_names),
                    ],
                    capture_output=True,
                )
                if pushed.returncode != 0:
                    raise PublishError(f"cannot push to {target}: {pushed.stderr.decode(errors='replace')}")
        say(f"{published} commits published ({merges} merges), {dropped} dropped, {len(tag_names)} tags")
        return Result(
            rule.path,
            target,
            source_tip,
            target_tip,
            published,
            dropped,
            tag_names,
            incremental,
            dry_run,
            merges,
            blob_count,
            history.walked,
            resumed_from,
        )
    finally:
        if workdir:
            shutil.rmtree(workdir, ignore_errors=True)


def _write(
    source: str,
    rule: Rule,
    source_tip: str,
    last: str | None,
    mapping: dict[str, str],
    history: History,
    local: str | None,
    dry_run: bool,
    say: Any,
) -> tuple[int, int, int, int, list[str]]:
    """Export the source commits after ``last``, decide each, and stream the kept ones into
    fast-import; ``mapping`` gains the commits written."""
    export = subprocess.Popen(
        [
            "git",
            "-C",
            source,
            "fast-export",
            "--no-data",
            "--show-original-ids",
            "--reencode=yes",
            "--signed-tags=strip",
            "--reference-excluded-parents",
            *([f"^{last}"] if last else []),
            source_tip,
        ],
        stdout=subprocess.PIPE,
    )
    blobs = BlobReader(source)
    trees = TreeIds(source, rule)
    importer = None
    marks_file = tempfile.NamedTemporaryFile(prefix="publish-marks-", delete=False)
    marks_file.close()
    if not dry_run:
        importer = subprocess.Popen(
            ["git", "-C", local, "fast-import", "--quiet", "--done", f"--export-marks={marks_file.name}"],
            stdin=subprocess.PIPE,
        )
    out = importer.stdin if importer else None
    written: dict[str, bytes] = {}  # source sha of a commit written this run -> its mark
    sent: dict[bytes, bytes] = {}  # blob sha -> its mark
    marks = 0
    originals: dict[bytes, str] = {}  # export mark -> source sha
    branch_ref = f"refs/heads/{rule.branch}".encode()
    published = dropped = merges = seen = 0

    def ref_of(sha: str) -> bytes:
        return written[sha] if sha in written else mapping[sha].encode()

    assert export.stdout is not None
    for item in read_export(export.stdout, rule):
        if isinstance(item, tuple):
            continue  # the exported ref's own resets; the branch is set below
        seen += 1
        originals[item.mark] = item.original
        parent_shas = [originals[p] if p.startswith(b":") else p.decode() for p in item.parents]
        decision = history.decide(
            item.original,
            parent_shas,
            bool(item.ops),
            lambda parent, commit=item.original: trees(parent) == trees(commit),
        )
        if not decision.keep:
            dropped += 1
            continue
        published += 1
        merges += len(decision.parents) > 1
        first = history.stand_in(parent_shas[0]) if parent_shas else None
        ops = item.ops
        if decision.parents[:1] != ((first,) if first else ()):
            # the published first parent is not the source first parent's stand-in:
            # the changes are relative to the commit it was published from
            ops = ops_between(source, rule, decision.parents[0] if decision.parents else None, item.original)
        if out is None:
            continue
        for op in ops:
            if op.startswith(b"M ") and not op.startswith(b"M 160000 "):
                sha = op.split(b" ", 3)[2]
                if sha not in sent:
                    marks += 1
                    sent[sha] = b":%d" % marks
                    data = blobs.read(sha)
                    out.write(b"blob\nmark %s\ndata %d\n" % (sent[sha], len(data)) + data + b"\n")
        marks += 1
        written[item.original] = b":%d" % marks
        if not decision.parents:
            out.write(b"reset " + branch_ref + b"\n\n")
        out.write(b"commit " + branch_ref + b"\nmark " + written[item.original] + b"\n")
        out.writelines(item.header)
        message = with_trailer(item.message, item.original)
        out.write(b"data %d\n" % len(message) + message)
        for n, parent in enumerate(decision.parents):
            out.write((b"from " if n == 0 else b"merge ") + ref_of(parent) + b"\n")
        for op in ops:
            if op.startswith(b"M "):
                _, mode, sha, path = op.split(b" ", 3)
                ref = sha if mode == b"160000" else sent[sha]
                out.write(b"M " + mode + b" " + ref + b" " + quote(path) + b"\n")
            else:
                out.write(b"D " + quote(op[2:]) + b"\n")
        out.write(b"\n")
        if seen % 5000 == 0:
            say(f"{seen} commits read, {published} published")
    export.wait()
    blobs.close()
    trees.close()
    if export.returncode != 0:
        raise PublishError(f"git fast-export failed in {source} (exit {export.returncode})")
    tip = history.stand_in(source_tip) if source_tip in history else None
    if out is not None and tip is not None:
        out.write(b"reset " + branch_ref + b"\nfrom " + ref_of(tip) + b"\n\n")
    tag_names = _tags(source, rule, history, ref_of, out)
    if importer is not None and out is not None:
        out.write(b"done\n")
        out.close()
        if importer.wait() != 0:
            os.unlink(marks_file.name)
            raise PublishError(f"git fast-import into {local} failed")
        with open(marks_file.name, "rb") as listing:
            target_of = dict(line.split() for line in listing)
        mapping.update((sha, target_of[mark].decode()) for sha, mark in written.items())
    os.unlink(marks_file.name)
    return published, dropped, merges, len(sent), tag_names


def _tags(
    source: str,
    rule: Rule,
    history: History,
    ref_of: Callable[[str], bytes],
    out: IO[bytes] | None,
) -> list[str]:
    """Map the package's tags onto the published commits (annotated tags stay annotated)."""
    if not rule.tag_prefix:
        return []
    listing = git(
        source,
        "for-each-ref",
        "--format=%(refname:strip=2)%00%(objecttype)%00%(*objectname)%(objectname)%00"
        "%(taggername) %(taggeremail) %(taggerdate:raw)%00%(contents)%01",
        f"refs/tags/{rule.tag_prefix}*",
    )
    names = []
    for record in listing.split(b"\x01"):
        record = record.strip(b"\n")
        if not record:
            continue
        name, kind, objects, tagger, contents = record.split(b"\x00", 4)
        commit = objects[:40].decode()  # peeled commit first for annotated tags
        stand = history.stand_in(commit) if commit in history else None
        if stand is None:
            continue  # not on the published branch's history, or nothing of the package below it
        names.append(name.decode())
        if out is None:
            continue
        if kind == b"tag":
            out.write(b"tag " + name + b"\nfrom " + ref_of(stand) + b"\ntagger " + tagger + b"\n")
            out.write(b"data %d\n" % len(contents) + contents + b"\n")
        else:
            out.write(b"reset refs/tags/" + name + b"\nfrom " + ref_of(stand) + b"\n\n")
    return names


def expected_tree(source: str, commit: str, rule: Rule) -> set[tuple[str, str, str]]:
    entries = set()
    for src, dest in rule.mappings:
        out = git(source, "ls-tree", "-r", "-z", "--full-tree", commit, "--", src)
        for entry in out.split(b"\x00"):
            if not entry:
                continue
            meta, path = entry.split(b"\t", 1)
            mode, _, sha = meta.decode().split()
            text = path.decode("utf-8", "surrogateescape")
            if any(text.startswith(s) and len(s) > len(src) for s, _ in rule.mappings):
                continue  # a more specific mapping owns it
            entries.add((mode, sha, dest + text[len(src) :]))
    return entries


def published_tree(target: str, branch: str) -> set[tuple[str, str, str]]:
    if not git(target, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}", check=False).strip():
        return set()
    out = git(target, "ls-tree", "-r", "-z", "--full-tree", f"refs/heads/{branch}")
    entries = set()
    for entry in out.split(b"\x00"):
        if entry:
            meta, path = entry.split(b"\t", 1)
            mode, _, sha = meta.decode().split()
            entries.add((mode, sha, path.decode("utf-8", "surrogateescape")))
    return entries


def verify(source: str, source_commit: str, rule: Rule, target: str, branch: str) -> None:
    """The target branch's tree must equal the package (and extras) at ``source_commit``."""
    want, have = expected_tree(source, source_commit, rule), published_tree(target, branch)
    if want == have:
        return
    missing = sorted(p for _, _, p in want - have)
    extra = sorted(p for _, _, p in have - want)
    detail = "; ".join(
        part
        for part in (
            f"differ or missing in the target: {', '.join(missing[:10])}" if missing else "",
            f"differ or unexpected in the target: {', '.join(extra[:10])}" if extra else "",
        )
        if part
    )
    raise PublishError(
        f"verification failed: {target} branch {branch} does not equal {rule.path}"
        f" at {source_commit[:12]}: {detail}"
    )


def result_dict(result: Result) -> dict[str, Any]:
    return dataclasses.asdict(result)
