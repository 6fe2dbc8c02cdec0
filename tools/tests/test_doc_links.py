"""Every Markdown link in the repository points into the repository, at something that exists."""

import os
import pathlib
import re

REPO = pathlib.Path(__file__).resolve().parents[2]
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
_HEADING = re.compile(r"^#+ (.+)$", re.MULTILINE)
# Besides build output: templates link from where they are rendered (the
# guide's template from docs/), which is checked instead.
_SKIPPED_DIRS = {"build", "dist", "node_modules", "site-packages", "_vendor", "templates"}


def markdown_files(root: pathlib.Path) -> list[pathlib.Path]:
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = [
            d
            for d in dirs
            if not d.startswith(".") and d not in _SKIPPED_DIRS and not d.endswith(".egg-info")
        ]
        found += [pathlib.Path(folder) / name for name in files if name.endswith(".md")]
    return sorted(found)


def github_anchor(heading: str) -> str:
    """The fragment GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def bad_links(root: pathlib.Path) -> list[str]:
    problems = []
    for path in markdown_files(root):
        text = path.read_text()
        anchors = {github_anchor(heading) for heading in _HEADING.findall(text)}
        where = path.relative_to(root)
        for target in _LINK.findall(text):
            if re.match(r"[a-z][a-z0-9+.-]*:", target):  # a URL: https:, mailto:, ...
                continue
            file_part, _, fragment = target.partition("#")
            if not file_part:
                if fragment not in anchors:
                    problems.append(f"{where}: link to #{fragment}, no such heading")
                continue
            if file_part.startswith("/"):
                problems.append(f"{where}: absolute link {target}")
                continue
            resolved = (path.parent / file_part).resolve()
            if not resolved.is_relative_to(root):
                problems.append(f"{where}: link {target} leaves the repository")
            elif not resolved.exists():
                problems.append(f"{where}: link {target} points at nothing")
    return problems


def test_every_link_stays_in_the_repository_and_resolves():
    assert bad_links(REPO) == []


def test_the_check_catches_each_kind_of_bad_link(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "ok.md").write_text("# Title\n")
    (tmp_path / "README.md").write_text(
        "# Top Part\n"
        "[a](docs/ok.md) [b](docs/ok.md#title) [c](#top-part) [d](https://example.org/x)\n"
        "[e](../elsewhere/DESIGN.md) [f](/etc/passwd) [g](docs/missing.md) [h](#nowhere)\n"
    )
    assert bad_links(tmp_path) == [
        "README.md: link ../elsewhere/DESIGN.md leaves the repository",
        "README.md: absolute link /etc/passwd",
        "README.md: link docs/missing.md points at nothing",
        "README.md: link to #nowhere, no such heading",
    ]
