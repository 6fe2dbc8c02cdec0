"""Publish a staged package directory to its own git repository, with its history.

One ``git fast-export --no-data`` of the source ref is filtered here and fed
to one ``git fast-import`` on the target; file contents come from one
``git cat-file --batch`` process. No checkout, no subprocess per commit.

Filtering keeps the file changes under the package directory (its prefix
stripped) and under any extra paths (moved to their destination). A commit
left with no change is dropped and stands for its nearest kept ancestor;
a merge is kept when it still joins two different published commits. Each
published commit keeps its author, committer, dates and message, and gains a
``Source-commit: <sha>`` trailer. Invariant: the published tree of a source
commit's stand-in equals the package tree of that source commit; after each
run :func:`verify` checks it at the tip with git's own tree listings.

Incremental runs read the target's branch: the ``Source-commit`` trailers say
which source commits are published, and only commits after the tip's are
exported (``--reference-excluded-parents`` names older parents by sha).
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Iterator
from typing import IO, Any

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
    with open(path, "rb") as source:
        try:
            data = tomllib.load(source)
        except tomllib.TOMLDecodeError as error:
            raise PublishError(f"{path}: not valid TOML: {error}") from error
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


@dataclasses.dataclass
class Result:
    package: str
    target: str
    source_tip: str
    target_tip: str | None
    published: int  # commits written this run
    dropped: int  # commits with nothing of the package
    tags: list[str]
    incremental: bool
    dry_run: bool


def published_map(target: str, branch: str) -> dict[str, str]:
    """source sha -> target sha, from the Source-commit trailers on the target branch."""
    if not git(target, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}", check=False).strip():
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


def tip_source(target: str, branch: str) -> str | None:
    if not git(target, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}", check=False).strip():
        return None
    out = git(target, "log", "-1", f"--format=%(trailers:key={TRAILER},valueonly)", f"refs/heads/{branch}")
    return out.decode().strip() or None


class _AncestorFinder:
    """Nearest published ancestor of a source commit outside this run (rare: run boundaries)."""

    def __init__(self, source: str, mapping: dict[str, str]) -> None:
        self.source, self.mapping, self.cache = source, mapping, {}

    def __call__(self, sha: str) -> str | None:
        if sha in self.mapping:
            return self.mapping[sha]
        if sha not in self.cache:
            found = None
            proc = subprocess.Popen(["git", "-C", self.source, "rev-list", sha], stdout=subprocess.PIPE)
            assert proc.stdout is not None
            for line in proc.stdout:
                candidate = line.decode().strip()
                if candidate in self.mapping:
                    found = self.mapping[candidate]
                    break
            proc.kill()
            proc.wait()
            self.cache[sha] = found
        return self.cache[sha]


def _is_ancestor(graph: dict[str, list[str]], ancestor: str, of: str) -> bool:
    stack, seen = [of], set()
    while stack:
        node = stack.pop()
        if node == ancestor:
            return True
        if node in seen:
            continue
        seen.add(node)
        stack.extend(graph.get(node, ()))
    return False


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
    source_tip = git(source, "rev-parse", "--verify", f"{ref}^{{commit}}").decode().strip()

    workdir = None
    local = target
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
    elif not os.path.exists(os.path.join(local, "HEAD")) and not os.path.exists(os.path.join(local, ".git")):
        if dry_run:
            local = None  # nothing published yet, and a dry run creates nothing
        else:
            os.makedirs(local, exist_ok=True)
            git(local, "init", "-q", "--bare", "-b", rule.branch)

    try:
        mapping = published_map(local, rule.branch) if local else {}
        last = tip_source(local, rule.branch) if local else None
        if (
            last
            and subprocess.run(["git", "-C", source, "cat-file", "-e", f"{last}^{{commit}}"]).returncode != 0
        ):
            raise PublishError(
                f"{target}: its tip comes from source commit {last}, which {source} does not have"
            )
        incremental = last is not None
        revs = [f"{last}..{source_tip}"] if last else [source_tip]
        say(("incremental from " + last[:12]) if last else "full history")
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
                *revs,
            ],
            stdout=subprocess.PIPE,
        )
        blobs = BlobReader(source)
        importer = None
        if not dry_run:
            importer = subprocess.Popen(
                ["git", "-C", local, "fast-import", "--quiet", "--done"], stdin=subprocess.PIPE
            )
        out = importer.stdin if importer else None
        ancestor = _AncestorFinder(source, mapping)

        stand_in: dict[bytes, str | None] = {}  # export mark -> ":newmark" / target sha / None
        by_source: dict[str, str | None] = {}  # source sha -> stand-in
        graph: dict[str, list[str]] = {}  # stand-in -> its parents (stand-ins), for merges
        branch_ref = f"refs/heads/{rule.branch}".encode()
        next_mark = 0
        published = dropped = seen = 0
        first_on_branch = not incremental

        def resolve(parent: bytes) -> str | None:
            if parent.startswith(b":"):
                return stand_in.get(parent)
            return ancestor(parent.decode())

        assert export.stdout is not None
        for item in read_export(export.stdout, rule):
            if isinstance(item, tuple):
                continue  # the exported ref's own resets; the branch is set below
            seen += 1
            parents: list[str] = []
            for parent in item.parents:
                mapped = resolve(parent)
                if mapped is not None and mapped not in parents:
                    parents.append(mapped)
            if len(parents) > 1 and not item.ops:
                # drop parents already contained in another: a merge that joins nothing new
                parents = [
                    p for p in parents if not any(q != p and _is_ancestor(graph, p, q) for q in parents)
                ]
            keep = bool(item.ops) or len(parents) > 1
            if not keep:
                stand_in[item.mark] = parents[0] if parents else None
                by_source[item.original] = stand_in[item.mark]
                dropped += 1
                continue
            next_mark += 1
            new = f":{next_mark}"
            stand_in[item.mark] = new
            by_source[item.original] = new
            graph[new] = parents
            published += 1
            if out is not None:
                if not parents and not first_on_branch:
                    out.write(b"reset " + branch_ref + b"\n\n")
                out.write(b"commit " + branch_ref + b"\nmark " + new.encode() + b"\n")
                out.writelines(item.header)
                message = with_trailer(item.message, item.original)
                out.write(b"data %d\n" % len(message) + message)
                if parents:
                    out.write(b"from " + parents[0].encode() + b"\n")
                    for other in parents[1:]:
                        out.write(b"merge " + other.encode() + b"\n")
                for op in item.ops:
                    if op.startswith(b"M "):
                        _, mode, sha, path = op.split(b" ", 3)
                        if mode == b"160000":
                            out.write(b"M 160000 " + sha + b" " + quote(path) + b"\n")
                        else:
                            data = blobs.read(sha)
                            out.write(b"M " + mode + b" inline " + quote(path) + b"\n")
                            out.write(b"data %d\n" % len(data) + data + b"\n")
                    else:
                        out.write(b"D " + quote(op[2:]) + b"\n")
                out.write(b"\n")
            first_on_branch = False
            if seen % 1000 == 0:
                say(f"{seen} commits read, {published} published")
        export.wait()
        blobs.close()
        if export.returncode != 0:
            raise PublishError(f"git fast-export failed in {source} (exit {export.returncode})")

        tip_stand_in = by_source.get(source_tip) if source_tip in by_source else ancestor(source_tip)
        if out is not None and tip_stand_in is not None:
            out.write(b"reset " + branch_ref + b"\nfrom " + tip_stand_in.encode() + b"\n\n")
        tag_names = _tags(source, rule, by_source, ancestor, out)
        if importer is not None and out is not None:
            out.write(b"done\n")
            out.close()
            if importer.wait() != 0:
                raise PublishError(f"git fast-import into {local} failed")
        target_tip = None
        if local and not dry_run:
            head = git(
                local, "rev-parse", "--verify", "--quiet", f"refs/heads/{rule.branch}", check=False
            ).strip()
            target_tip = head.decode() or None
            git(local, "symbolic-ref", "HEAD", f"refs/heads/{rule.branch}")
            verify(source, source_tip, rule, local, rule.branch)
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
        say(
            f"{published} commits published, {dropped} without package changes dropped, {len(tag_names)} tags"
        )
        return Result(
            rule.path, target, source_tip, target_tip, published, dropped, tag_names, incremental, dry_run
        )
    finally:
        if workdir:
            shutil.rmtree(workdir, ignore_errors=True)


def _tags(
    source: str,
    rule: Rule,
    by_source: dict[str, str | None],
    ancestor: _AncestorFinder,
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
        stand = by_source.get(commit) if commit in by_source else ancestor(commit)
        if stand is None:
            continue
        names.append(name.decode())
        if out is None:
            continue
        if kind == b"tag":
            out.write(b"tag " + name + b"\nfrom " + stand.encode() + b"\ntagger " + tagger + b"\n")
            out.write(b"data %d\n" % len(contents) + contents + b"\n")
        else:
            out.write(b"reset refs/tags/" + name + b"\nfrom " + stand.encode() + b"\n\n")
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
