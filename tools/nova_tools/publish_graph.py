"""Which source commits a published history keeps, and which published parents each gets.

Decided in one pass over the source graph, parents before children, from
what each commit changes under the published paths; the rule is
git filter-repo's (``_maybe_trim_extra_parents`` and ``_prunable``,
``--prune-empty=auto --prune-degenerate=auto``), with one difference noted:

1. A commit with one parent or none is kept when it changes a published path.
   Otherwise it is dropped and its *stand-in* (the published commit that
   represents it) is its parent's. filter-repo keeps a commit that was empty
   in the source when its parent survived; here it is dropped too, since it
   says nothing about the package.
2. A merge's parents are replaced by their stand-ins; parents without one
   (nothing published below them) go. A parent that was itself dropped
   (*rewritten*) also goes when its stand-in repeats an earlier parent's, or
   when its stand-in is an ancestor of another parent's stand-in, unless the
   source parent already was an ancestor of the other source parent (an
   intentional ``--no-ff`` merge stays a merge).
3. Two or more parents left: the merge is kept. One left (the merge
   *degenerated*): it is dropped, standing in for that parent, when its
   published tree equals that parent's; otherwise it is kept with all the
   parents of step 2 that had a stand-in, duplicates removed.

In a Gerrit history every change lands as the change commit plus a
"Merge ..." commit on the main line; step 2 turns the merge of a change that
did not touch the package, or of one made on top of the package's latest
state, into a degenerate merge that step 3 drops, so the published history is
linear where nothing ran in parallel, and keeps a merge where two package
changes did.

Ancestry questions are answered without walking the published graph: every
commit carries the set of published commits below it (a bit set, shared with
its parent when it adds nothing), so "is the stand-in of A an ancestor of
the stand-in of B" is one bit test. Published ancestry equals source ancestry
restricted to published commits (every step keeps it), which is also why each
stand-in is the latest published commit below its commit, and why a previous
run's result can be read back from the target alone (:meth:`History.add_published`).
The source-ancestry test of step 2 is asked only when the bit test says yes
and is answered by two exact shortcuts first (generation numbers; a parent
with no child before this merge has nothing above it but this merge); only
when both fail does it walk, bounded by generation (``walked`` counts the
nodes: a few hundred on a Gerrit history of 61,000 commits, see
tools/bench/results/publish.md).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

NONE = -1  # no stand-in: nothing published at or below the commit


class HistoryError(RuntimeError):
    """A commit listed before its parents, or a previous run that this rule cannot have produced."""


@dataclasses.dataclass(frozen=True)
class Decision:
    keep: bool
    parents: tuple[str, ...]  # the published parents, as the source shas of published commits
    stand_in: str | None  # the published commit this one is (itself when kept)


class History:
    """The source graph as far as it has been read, with each commit's publishing decision."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        self.shas: list[str] = []
        self.parents: list[tuple[int, ...]] = []
        self.generation: list[int] = []
        self.stand: list[int] = []  # index of the stand-in, or NONE
        self.below: list[int] = []  # bit set of published commits at or below this commit
        self.bit: dict[int, int] = {}  # published commit index -> its bit
        self.has_child: list[bool] = []  # a child was read before the current commit
        self.walked = 0  # nodes visited by the bounded source-ancestry walk

    _FIELDS = ("shas", "parents", "generation", "stand", "below", "bit", "has_child")

    def state(self) -> dict[str, object]:
        """Everything decided so far, as plain data (publish_state keeps it between runs)."""
        return {name: getattr(self, name) for name in self._FIELDS}

    @classmethod
    def from_state(cls, data: dict) -> History:
        history = cls()
        for name in cls._FIELDS:
            setattr(history, name, data[name])
        history.index = {sha: n for n, sha in enumerate(history.shas)}
        if not all(len(getattr(history, name)) == len(history.shas) for name in cls._FIELDS if name != "bit"):
            raise ValueError("history state: fields of different lengths")
        return history

    def __contains__(self, sha: str) -> bool:
        return sha in self.index

    def stand_in(self, sha: str) -> str | None:
        stand = self.stand[self.index[sha]]
        return None if stand == NONE else self.shas[stand]

    def _add(self, sha: str, parent_shas: Sequence[str]) -> tuple[int, tuple[int, ...]]:
        if sha in self.index:
            raise HistoryError(f"commit {sha} read twice")
        try:
            parents = tuple(self.index[p] for p in parent_shas)
        except KeyError as missing:
            raise HistoryError(f"commit {sha}: parent {missing.args[0]} not read before it") from None
        node = len(self.shas)
        self.index[sha] = node
        self.shas.append(sha)
        self.parents.append(parents)
        self.generation.append(1 + max((self.generation[p] for p in parents), default=0))
        self.has_child.append(False)
        return node, parents

    def _finish(self, node: int, parents: tuple[int, ...], stand: int) -> None:
        self.stand.append(stand)
        if stand == node:
            self.bit[node] = len(self.bit)
            below = 1 << self.bit[node]
            for p in parents:
                below |= self.below[p]
        elif stand == NONE:
            below = 0
        else:
            below = self.below[stand]  # shared: a dropped commit adds nothing
        self.below.append(below)
        for p in parents:
            self.has_child[p] = True

    def add_published(self, sha: str, parent_shas: Sequence[str], kept: bool) -> None:
        """A commit decided by an earlier run: ``kept`` when the target holds it."""
        node, parents = self._add(sha, parent_shas)
        if kept:
            stand = node
        elif not parents:
            stand = NONE
        else:
            # the stand-in of a dropped commit is the latest published commit below it,
            # which has every other published commit below it under it as well
            every = 0
            for p in parents:
                every |= self.below[p]
            stand = next((self.stand[p] for p in parents if self.below[p] == every), None)
            if stand is None:
                raise HistoryError(
                    f"commit {sha} is not published, yet no parent's stand-in covers the others:"
                    " the target was not published by this rule"
                )
        self._finish(node, parents, stand)

    def _is_below(self, published: int, node: int) -> bool:
        return bool(self.below[node] >> self.bit[published] & 1)

    def _source_ancestor(self, ancestor: int, of: int) -> bool:
        if ancestor == of:
            return True
        floor = self.generation[ancestor]
        if floor >= self.generation[of] or not self.has_child[ancestor]:
            return False
        stack, seen = [of], {of}
        while stack:
            node = stack.pop()
            self.walked += 1
            for p in self.parents[node]:
                if p == ancestor:
                    return True
                if p not in seen and self.generation[p] > floor:
                    seen.add(p)
                    stack.append(p)
        return False

    def decide(
        self, sha: str, parent_shas: Sequence[str], changed: bool, same_tree: Callable[[str], bool]
    ) -> Decision:
        """Decide a new commit. ``changed``: it changes a published path relative to its
        first parent; ``same_tree(parent)``: its published tree equals that of a
        parent other than the first."""
        node, parents = self._add(sha, parent_shas)
        if len(parents) < 2:
            if changed:
                kept = tuple(self.stand[p] for p in parents if self.stand[p] != NONE)
                return self._decided(node, parents, node, kept)
            return self._decided(node, parents, self.stand[parents[0]] if parents else NONE, ())

        # step 2: (source parent, its stand-in, rewritten?) for the parents with a stand-in
        left = [(p, self.stand[p], self.stand[p] != p) for p in parents if self.stand[p] != NONE]
        with_stand_in = left
        seen: set[int] = set()
        deduplicated = []
        for p, stand, rewritten in left:
            if stand in seen and rewritten:
                continue
            seen.add(stand)
            deduplicated.append((p, stand, rewritten))
        left = deduplicated
        if len(left) >= 2:
            remove = set()
            for i, (p, stand, rewritten) in enumerate(left):
                if not rewritten:
                    continue
                for j, (other, other_stand, _) in enumerate(left):
                    if i != j and self._is_below(stand, other_stand) and not self._source_ancestor(p, other):
                        remove.add(i)
                        break
            left = [entry for i, entry in enumerate(left) if i not in remove]
        if len(left) >= 2:
            return self._decided(node, parents, node, tuple(stand for _, stand, _ in left))
        if not left:  # nothing published below any parent
            return self._decided(node, parents, node if changed else NONE, ())

        # step 3: degenerated to one parent
        survivor, stand, _ = left[0]
        unchanged = not changed if survivor == parents[0] else same_tree(self.shas[survivor])
        if unchanged:
            return self._decided(node, parents, stand, ())
        kept = tuple(dict.fromkeys(stand for _, stand, _ in with_stand_in))
        return self._decided(node, parents, node, kept)

    def _decided(
        self, node: int, parents: tuple[int, ...], stand: int, published_parents: tuple[int, ...]
    ) -> Decision:
        self._finish(node, parents, stand)
        keep = stand == node
        return Decision(
            keep,
            tuple(self.shas[p] for p in published_parents) if keep else (),
            None if stand == NONE else self.shas[stand],
        )
