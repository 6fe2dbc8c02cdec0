"""The ``name`` filter of ``GET /servers``: a regular expression (Nova's
semantics: ``search``, not a full match) whose matching is bounded.

Matching runs in the ``regex`` module with a time budget for the whole list
(no pattern can hold a request beyond it) and releases the GIL while it runs
(``concurrent=True``), so a pathological pattern stalls no other request.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import regex

from nova_common.api.common import Fault

#: The whole filter's budget, for every row together.
BUDGET_S = 0.3
MAX_PATTERN_LENGTH = 255


def matching(pattern_text: str, items: list[Any], key: Callable[[Any], str]) -> list[Any]:
    """The items whose ``key`` (a name) the pattern finds a match in."""
    if len(pattern_text) > MAX_PATTERN_LENGTH:
        raise Fault(400, f"Invalid filter name: longer than {MAX_PATTERN_LENGTH} characters")
    try:
        pattern = regex.compile(pattern_text)
    except (regex.error, RecursionError, OverflowError) as error:
        raise Fault(400, f"Invalid regular expression for name: {pattern_text}: {error}") from None
    deadline = time.monotonic() + BUDGET_S
    out = []
    try:
        for item in items:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            if pattern.search(key(item), timeout=remaining, concurrent=True):
                out.append(item)
    except TimeoutError:
        raise Fault(
            400, f"Invalid filter name: the regular expression {pattern_text!r} took longer than {BUDGET_S}s"
        ) from None
    return out
