"""The ``name`` filter of ``GET /servers``: a regular expression (Nova's
semantics: ``search``, not a full match) whose matching is bounded.

Matching runs in the ``regex`` module with a time budget for the whole list
(no pattern can hold a request beyond it) and releases the GIL while it runs
(``concurrent=True``), so a pathological pattern stalls no other request.
"""

from __future__ import annotations

import time
from typing import Any

import regex

from nova_common.api.common import Fault

#: The whole filter's budget, for every row together.
BUDGET_S = 0.3
MAX_PATTERN_LENGTH = 255


def matching(pattern_text: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if len(pattern_text) > MAX_PATTERN_LENGTH:
        raise Fault(400, f"Invalid filter name: longer than {MAX_PATTERN_LENGTH} characters")
    try:
        pattern = regex.compile(pattern_text)
    except (regex.error, RecursionError, OverflowError) as error:
        raise Fault(400, f"Invalid regular expression for name: {pattern_text}: {error}") from None
    deadline = time.monotonic() + BUDGET_S
    out = []
    try:
        for row in rows:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            if pattern.search(row["name"], timeout=remaining, concurrent=True):
                out.append(row)
    except TimeoutError:
        raise Fault(
            400, f"Invalid filter name: the regular expression {pattern_text!r} took longer than {BUDGET_S}s"
        ) from None
    return out
