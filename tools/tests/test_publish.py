"""tools/publish on synthetic repositories built here, and on this repository."""

import os
import pathlib
import subprocess
import sys

import pytest

from nova_tools import history_compare, publish, publish_state, synthetic_history
from nova_tools.history_compare import graph_by_subject as shape

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
TOOL = REPO_ROOT / "tools" / "publish"
RULE = publish.Rule(path="pkg", target="unused", branch="main", tag_prefix="pkg-")


def git(repo, *args, date="2024-03-01T10:00:00+00:00", author="Ann <ann@example.org>"):
    name, email = author[:-1].split(" <")
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": name,
        "GIT_AUTHOR_EMAIL": email,
        "GIT_COMMITTER_NAME": "Cid",
        "GIT_COMMITTER_EMAIL": "cid@example.org",
        "GIT_AUTHOR_DATE": date,
        "GIT_COMMITTER_DATE": date,
    }
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=env
    ).stdout


class Repo:
    def __init__(self, path):
        self.path = path
        self.n = 0
        path.mkdir(parents=True)
        git(path, "init", "-q", "-b", "main")

    def write(self, rel, text):
        target = self.path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)

    def commit(self, message, **kw):
        self.n += 1
        git(self.path, "add", "-A")
        git(
            self.path,
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            message,
            date=f"2024-03-{self.n:02d}T10:00:00+00:00",
            **kw,
        )
        return git(self.path, "rev-parse", "HEAD").strip()


def log(target, fmt="%s"):
    return git(target, "log", f"--format={fmt}", "main").splitlines()


def tree(target):
    return sorted(git(target, "ls-tree", "-r", "--name-only", "main").splitlines())


@pytest.fixture
def src(tmp_path):
    """A history with every awkward case the publisher must handle."""
    repo = Repo(tmp_path / "src")
    repo.write("README.md", "top\n")
    repo.commit("outside only")  # dropped: nothing under pkg/
    repo.write("pkg/a.py", "a1\n")
    repo.write("other/b.py", "b\n")
    first = repo.commit("add a", author="Bea <bea@example.org>")
    repo.commit("empty commit")  # dropped
    git(repo.path, "mv", "other/b.py", "pkg/b.py")  # renamed into the package
    repo.commit("move b in\n\nBody text.\n\nSigned-off-by: Bea <bea@example.org>")
    (repo.path / "elsewhere").mkdir()
    git(repo.path, "mv", "pkg/a.py", "elsewhere/a.py")  # renamed out of the package
    repo.commit("move a out")
    git(repo.path, "tag", "pkg-0.1.0")  # lightweight
    git(repo.path, "tag", "other-9.9.9")  # not ours
    # a side branch merged back: one change in the package, one outside
    git(repo.path, "checkout", "-q", "-b", "side")
    repo.write("pkg/side.py", "side\n")
    repo.commit("side change")
    git(repo.path, "checkout", "-q", "main")
    repo.write("pkg/main.py", "main\n")
    repo.commit("main change")
    git(repo.path, "merge", "-q", "--no-ff", "-m", "Merge side", "side", date="2024-03-20T10:00:00+00:00")
    # an outside-only branch merged: becomes redundant after filtering
    git(repo.path, "checkout", "-q", "-b", "docs")
    repo.write("docs/x.md", "x\n")
    repo.commit("docs only")
    git(repo.path, "checkout", "-q", "main")
    git(repo.path, "merge", "-q", "--no-ff", "-m", "Merge docs", "docs", date="2024-03-21T10:00:00+00:00")
    # deleted, then recreated
    (repo.path / "pkg" / "b.py").unlink()
    repo.commit("delete b")
    repo.write("pkg/b.py", "b again\n")
    repo.commit("recreate b")
    git(repo.path, "tag", "-a", "pkg-0.2.0", "-m", "Release pkg 0.2.0")  # annotated
    repo.first = first
    return repo


def run(src, target, **kw):
    return publish.publish(str(src.path), RULE, "main", str(target), progress=None, **kw)


def test_full_publish_keeps_history_and_verifies(src, tmp_path):
    target = tmp_path / "pkg.git"
    result = run(src, target)
    assert log(target) == [
        "recreate b",
        "delete b",
        "Merge side",
        "main change",
        "side change",
        "move a out",
        "move b in",
        "add a",
    ]
    assert result.published == 8 and not result.incremental
    # "outside only", "empty commit", "docs only" and the redundant "Merge docs" are dropped
    assert result.dropped == 4
    assert tree(target) == ["b.py", "main.py", "side.py"]
    assert git(target, "show", "main:b.py") == "b again\n"
    # authorship, dates and message kept, with the trailer pointing back
    first = git(target, "log", "-1", "--format=%an|%ae|%ad|%cn|%B", "main~6")
    expected = (
        f"Bea|bea@example.org|Sat Mar 2 10:00:00 2024 +0000|Cid|add a\n\nSource-commit: {src.first}\n\n"
    )
    assert first == expected
    moved_in = git(target, "log", "-1", "--format=%B", "main~5")
    assert moved_in.startswith(
        "move b in\n\nBody text.\n\nSigned-off-by: Bea <bea@example.org>\nSource-commit: "
    )
    # the merge keeps both parents
    assert len(git(target, "log", "-1", "--format=%P", "main~2").split()) == 2
    # tags: ours mapped (lightweight and annotated), others not
    assert sorted(git(target, "tag").split()) == ["pkg-0.1.0", "pkg-0.2.0"]
    assert git(target, "cat-file", "-t", "pkg-0.2.0").strip() == "tag"
    assert git(target, "log", "-1", "--format=%s", "pkg-0.1.0").strip() == "move a out"
    assert git(target, "rev-parse", "pkg-0.2.0^{commit}") == git(target, "rev-parse", "main")


def test_second_run_is_incremental_from_the_target(src, tmp_path):
    target = tmp_path / "pkg.git"
    run(src, target)
    before = log(target)
    src.write("pkg/new.py", "new\n")
    src.commit("new file")
    src.write("README.md", "outside again\n")
    src.commit("outside again")
    src.write("pkg/new.py", "newer\n")
    src.commit("change new")
    result = run(src, target)
    assert result.incremental and result.published == 2 and result.dropped == 1
    assert log(target) == ["change new", "new file", *before]
    # nothing new: nothing written
    again = run(src, target)
    assert again.published == 0 and log(target)[0] == "change new"


def test_incremental_state_lives_in_the_target(src, tmp_path):
    """A fresh clone of the published repository is a valid starting point: no local cache."""
    target = tmp_path / "pkg.git"
    run(src, target)
    moved = tmp_path / "moved.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(target), str(moved)], check=True)
    src.write("pkg/c.py", "c\n")
    src.commit("add c")
    result = run(src, moved)
    assert result.incremental and result.published == 1 and result.resumed_from == "trailers"
    src.write("pkg/c.py", "c2\n")
    src.commit("change c")
    assert run(src, moved).resumed_from == "state"


def test_tampered_target_fails_verification(src, tmp_path):
    target = tmp_path / "pkg.git"
    run(src, target)
    work = tmp_path / "work"
    subprocess.run(["git", "clone", "-q", str(target), str(work)], check=True)
    (work / "main.py").write_text("tampered\n")
    git(work, "commit", "-qam", f"tamper\n\nSource-commit: {git(src.path, 'rev-parse', 'main').strip()}")
    git(work, "push", "-q", "origin", "main")
    with pytest.raises(publish.PublishError, match="verification failed.*main.py"):
        publish.verify(str(src.path), git(src.path, "rev-parse", "main").strip(), RULE, str(target), "main")
    # and a run on top refuses to pass verification too
    src.write("pkg/d.py", "d\n")
    src.commit("add d")
    with pytest.raises(publish.PublishError, match="verification failed"):
        run(src, target)


def test_dry_run_writes_nothing(src, tmp_path):
    target = tmp_path / "pkg.git"
    result = run(src, target, dry_run=True)
    assert result.published == 8 and result.dry_run
    assert not target.exists()
    run(src, target)
    head = git(target, "rev-parse", "main")
    src.write("pkg/e.py", "e\n")
    src.commit("add e")
    assert run(src, target, dry_run=True).published == 1
    assert git(target, "rev-parse", "main") == head


def test_extra_paths_are_carried(tmp_path):
    repo = Repo(tmp_path / "src")
    repo.write("drivers/x/driver.py", "d\n")
    repo.write("kit/nova_kit/__init__.py", "k\n")
    repo.write("kit/setup.py", "not carried\n")
    repo.commit("driver and kit")
    repo.write("kit/nova_kit/check.py", "c\n")
    repo.commit("kit only")
    rule = publish.Rule(path="drivers/x", target="unused", extra=(("kit/nova_kit", "_vendor/nova_kit"),))
    target = tmp_path / "x.git"
    result = publish.publish(str(repo.path), rule, "main", str(target), progress=None)
    assert result.published == 2
    assert tree(target) == ["_vendor/nova_kit/__init__.py", "_vendor/nova_kit/check.py", "driver.py"]


def test_awkward_paths(tmp_path):
    repo = Repo(tmp_path / "src")
    repo.write('pkg/we ird "name".py', "q\n")
    repo.write("pkg/ünïcode.txt", "u\n")
    repo.commit("awkward names")
    target = tmp_path / "t.git"
    publish.publish(str(repo.path), RULE, "main", str(target), progress=None)
    assert tree(target) == sorted(['"we ird \\"name\\".py"', '"\\303\\274n\\303\\257code.txt"'])


def test_bad_rules_name_the_field(tmp_path):
    rules = tmp_path / "rules.toml"
    rules.write_text('[[package]]\npath = "drivers/x"\n')
    with pytest.raises(publish.PublishError, match=r"package\[0\]: field 'target'"):
        publish.load_rules(str(rules))
    rules.write_text('[[package]]\npath = "drivers/x"\ntarget = "t"\nbranches = "main"\n')
    with pytest.raises(publish.PublishError, match="unknown field"):
        publish.load_rules(str(rules))


def test_this_repository_publishes_twice(tmp_path):
    """drivers/fake and contract-tests of this repository, into fresh bare repositories, twice."""
    clone = tmp_path / "source"
    subprocess.run(["git", "clone", "-q", str(REPO_ROOT), str(clone)], check=True)
    rules = publish.load_rules(str(REPO_ROOT / "tools" / "publish.toml"))
    for package in ("drivers/fake", "contract-tests"):
        target = tmp_path / (package.replace("/", "-") + ".git")
        out = subprocess.run(
            [sys.executable, str(TOOL), package, "--source", str(clone), "--target", str(target), "--quiet"],
            capture_output=True,
            text=True,
        )
        assert out.returncode == 0, out.stderr
        assert "verified" in out.stdout and "(full;" in out.stdout
        count = len(log(target))
        assert count >= 1
        (clone / package / "PUBLISH_TEST.md").write_text("one more commit\n")
        git(clone, "add", "-A")
        git(clone, "commit", "-qm", f"Touch {package}")
        out = subprocess.run(
            [sys.executable, str(TOOL), package, "--source", str(clone), "--target", str(target), "--quiet"],
            capture_output=True,
            text=True,
        )
        assert out.returncode == 0, out.stderr
        assert (
            "published 1 commits" in out.stdout and "(incremental;" in out.stdout and "verified" in out.stdout
        )
        assert len(log(target)) == count + 1
        assert "PUBLISH_TEST.md" in tree(target)
        for source, dest in rules[package].extra:
            assert any(p.startswith(dest + "/") for p in tree(target)), source


# -- the pruning rule, against git filter-repo ------------------------------------------------------


def filter_repo_shape(source, tmp_path, path):
    if history_compare.filter_repo_command() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("git-filter-repo is not installed (tools/requirements.txt)")
        pytest.skip("git-filter-repo is not installed (pip install git-filter-repo)")
    clone = tmp_path / "filter-repo"
    history_compare.filter_repo(str(source), str(clone), path)
    return shape(clone, "HEAD")


@pytest.fixture
def gerrit(tmp_path):
    repo = tmp_path / "gerrit"
    synthetic_history.gerrit(str(repo), 600, package="pkg")
    return repo


def test_gerrit_history_publishes_as_filter_repo_does(gerrit, tmp_path):
    """Same commits, same merges, same parents as git filter-repo --subdirectory-filter."""
    target = tmp_path / "pkg.git"
    result = publish.publish(str(gerrit), RULE, "main", str(target), progress=None)
    ours = shape(target)
    assert ours == filter_repo_shape(gerrit, tmp_path, "pkg")
    merges = [row for row in ours if len(row[1]) > 1]
    assert result.merges == len(merges) > 0
    # kept merges join two package changes made in parallel, or one made on the latest
    # main line (an intentional merge); most merges were pruned
    all_merges = int(git(gerrit, "rev-list", "--count", "--merges", "main"))
    assert len(merges) < all_merges / 3
    # each file content sent once, though change and merge commit both carry it
    blobs = set(git(target, "log", "--format=", "--raw", "--no-abbrev", "-m", "main").split())
    distinct = {w for w in blobs if len(w) == 40 and w != "0" * 40}
    assert result.blobs == len(distinct)


def test_differences_from_filter_repo_are_the_documented_ones(src, tmp_path):
    """filter-repo keeps a commit that was empty in the source when its parent survived;
    tools/publish drops it (it says nothing about the package). Nothing else differs."""
    target = tmp_path / "pkg.git"
    run(src, target)
    theirs = filter_repo_shape(src.path, tmp_path, "pkg")
    ours = shape(target)
    assert {s for s, _ in theirs} - {s for s, _ in ours} == {"empty commit"}
    # with the empty commit taken out of filter-repo's graph, the two are the same
    bypass = {s: parents for s, parents in theirs if s == "empty commit"}
    rewired = sorted(
        (s, tuple(p for parent in parents for p in bypass.get(parent, (parent,))))
        for s, parents in theirs
        if s not in bypass
    )
    assert rewired == ours


@pytest.mark.parametrize("resume", ["state", "trailers"])
def test_publishing_in_steps_equals_one_full_run(gerrit, tmp_path, resume):
    """Byte-identical: the same commit ids, whether published at once or in six runs
    stopping anywhere (on the main line, or on a change before its merge), each run resuming
    from the last run's state or, without it (a clone of the target), from the trailers."""
    full = tmp_path / "full.git"
    publish.publish(str(gerrit), RULE, "main", str(full), progress=None)
    main_line = git(gerrit, "rev-list", "--first-parent", "--reverse", "main").split()
    steps = [
        main_line[100],
        f"{main_line[250]}^2",
        main_line[400],
        f"{main_line[450]}^2",
        main_line[-2],
        "main",
    ]
    stepped = tmp_path / "stepped.git"
    runs = []
    for step in steps:
        if resume == "trailers":
            publish_state.forget(str(stepped), "main")
        runs.append(publish.publish(str(gerrit), RULE, step, str(stepped), progress=None))
    assert [r.resumed_from for r in runs] == ["", *[resume] * 5]
    assert git(stepped, "rev-parse", "main") == git(full, "rev-parse", "main")
    assert sum(r.published for r in runs) == int(git(full, "rev-list", "--count", "main"))


def test_tags_are_the_same_in_steps(src, tmp_path):
    full = tmp_path / "full.git"
    run(src, full)
    stepped = tmp_path / "stepped.git"
    for step in ("main~5", "main~2", "main"):
        publish.publish(str(src.path), RULE, step, str(stepped), progress=None)
    for name in ("pkg-0.1.0", "pkg-0.2.0", "main"):
        assert git(stepped, "rev-parse", name) == git(full, "rev-parse", name)


# -- refusals: before anything is written, naming the path ------------------------------------------


def test_a_rule_naming_a_missing_directory_is_refused(src, tmp_path):
    target = tmp_path / "pkg.git"
    rule = publish.Rule(path="pkgg", target="unused")
    with pytest.raises(publish.PublishError, match=r"pkgg: does not exist in .* nothing written"):
        publish.publish(str(src.path), rule, "main", str(target), progress=None)
    assert not target.exists()
    rule = publish.Rule(path="pkg", target="unused", extra=(("README.md", "_vendor/x"),))
    with pytest.raises(publish.PublishError, match="README.md: is a blob, not a directory"):
        publish.publish(str(src.path), rule, "main", str(target), progress=None)
    assert not target.exists()


def test_a_target_that_is_not_a_repository_is_refused(src, tmp_path):
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "notes.txt").write_text("mine\n")
    with pytest.raises(publish.PublishError, match=f"{plain}: a non-empty directory that is not a git"):
        run(src, plain)
    assert sorted(p.name for p in plain.iterdir()) == ["notes.txt"]
    # inside another repository is not being one
    inside = src.path / "pkg" / "sub"
    inside.mkdir()
    (inside / "x").write_text("x\n")
    with pytest.raises(publish.PublishError, match="not a git repository"):
        run(src, inside)
    afile = tmp_path / "afile"
    afile.write_text("x\n")
    with pytest.raises(publish.PublishError, match=f"{afile}: exists and is not a directory"):
        run(src, afile)
    assert afile.read_text() == "x\n"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert run(src, empty).published == 8


def test_a_ref_that_would_rewind_the_target_is_refused(src, tmp_path):
    target = tmp_path / "pkg.git"
    run(src, target)
    head = git(target, "rev-parse", "main")
    with pytest.raises(publish.PublishError, match="main~3 does not contain .* would rewind"):
        publish.publish(str(src.path), RULE, "main~3", str(target), progress=None)
    assert git(target, "rev-parse", "main") == head


def test_a_branch_not_written_by_publish_is_refused(src, tmp_path):
    other = Repo(tmp_path / "other")
    other.write("x", "x\n")
    other.commit("someone else's history")
    head = git(other.path, "rev-parse", "main")
    with pytest.raises(publish.PublishError, match="branch main was not written by tools/publish"):
        run(src, other.path)
    assert git(other.path, "rev-parse", "main") == head


def test_the_command_line_refuses_with_the_path(src, tmp_path):
    rules = tmp_path / "rules.toml"
    rules.write_text('[[package]]\npath = "drivers/none"\ntarget = "out.git"\n')
    out = subprocess.run(
        [sys.executable, str(TOOL), "drivers/none", "--rules", str(rules), "--source", str(src.path)],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 1
    assert "drivers/none: does not exist" in out.stderr and "Traceback" not in out.stderr
    assert not (src.path / "out.git").exists()


def test_octopus_and_evil_merges_as_filter_repo(tmp_path):
    """A merge whose first parent goes (its changes then relative to the new first parent),
    and a merge that itself changes the package (kept though it degenerates)."""
    repo = Repo(tmp_path / "src")
    repo.write("pkg/base.py", "base\n")
    repo.commit("base")
    for side in ("one", "two"):
        git(repo.path, "checkout", "-q", "-b", side, "main")
        repo.write(f"pkg/{side}.py", f"{side}\n")
        repo.commit(f"side {side}")
    git(repo.path, "checkout", "-q", "main")
    repo.write("docs/x.md", "outside\n")
    repo.commit("outside only")
    git(repo.path, "merge", "-q", "--no-ff", "-m", "Octopus", "one", "two")
    # an evil merge: a side change outside the package, the merge edits the package itself
    git(repo.path, "checkout", "-q", "-b", "three", "main~1")
    repo.write("docs/y.md", "outside\n")
    repo.commit("side three, outside")
    git(repo.path, "checkout", "-q", "main")
    git(repo.path, "merge", "-q", "--no-ff", "--no-commit", "three")
    repo.write("pkg/base.py", "edited in the merge\n")
    git(repo.path, "add", "-A")
    git(repo.path, "commit", "-q", "-m", "Evil merge")
    target = tmp_path / "pkg.git"
    run(repo, target)  # verify() checks the tree at the tip
    ours = shape(target)
    assert ours == filter_repo_shape(repo.path, tmp_path, "pkg")
    assert ("Octopus", ("side one", "side two")) in ours
    assert any(subject == "Evil merge" for subject, _ in ours)
    assert git(target, "show", "main:base.py") == "edited in the merge\n"
    # and the octopus's own tree is right, not only the tip's
    assert sorted(git(target, "ls-tree", "--name-only", "main^").split()) == ["base.py", "one.py", "two.py"]
