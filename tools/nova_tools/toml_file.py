"""Reading the tools' TOML files, with an error that names the file."""

from __future__ import annotations

import tomllib
from typing import Any


def load(path: str, error: type[Exception]) -> dict[str, Any]:
    """The TOML document at ``path``; ``error`` (naming the path) when it is not TOML."""
    with open(path, "rb") as source:
        try:
            return tomllib.load(source)
        except tomllib.TOMLDecodeError as problem:
            raise error(f"{path}: not valid TOML: {problem}") from problem
