"""Which rules the kit can report, and which scenario reports which: read from the kit's code.

A rule is the name a :class:`~nova_contract_tests.framework.ContractViolation`
carries (``[rule: NAME]`` in its message). :func:`known_rules` finds every one
the kit's modules can raise; :func:`rules_of` tells which of them one scenario
function can report, itself or through the kit helpers it calls. The driver
guide (:mod:`nova_contract_tests.guide`) lists them per scenario, so the list
follows the kit as it changes instead of being kept by hand.
"""

from __future__ import annotations

import ast
import inspect
import pathlib
import re
import types
from collections.abc import Callable, Iterable
from typing import Any

from nova_contract_tests import framework

_PACKAGE = pathlib.Path(__file__).resolve().parent
_RULE_TAG = re.compile(r"\[rule: ([a-z0-9-]+)\]")


def _rules_in_source(path: pathlib.Path) -> set[str]:
    """Rule names a kit module can report: the ``rule`` argument of every
    ``ContractViolation(operation, rule, ...)`` and ``expect_error(error,
    operation, rule, ...)``, and every ``[rule: NAME]`` in a string."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Call):
            called = getattr(node.func, "attr", getattr(node.func, "id", None))
            position = {"ContractViolation": 1, "expect_error": 2}.get(called or "")
            if position is not None and len(node.args) > position:
                rule = node.args[position]
                if isinstance(rule, ast.Constant) and isinstance(rule.value, str):
                    found.add(rule.value)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.update(_RULE_TAG.findall(node.value))
    return found


def known_rules() -> dict[str, list[str]]:
    """Every rule the kit can report -> the kit modules that report it."""
    where: dict[str, list[str]] = {}
    for path in sorted(_PACKAGE.rglob("*.py")):
        for rule in _rules_in_source(path):
            where.setdefault(rule, []).append(path.relative_to(_PACKAGE).as_posix())
    return dict(sorted(where.items()))


def _strings_and_names(code: types.CodeType) -> tuple[set[str], set[str]]:
    strings: set[str] = set()
    names: set[str] = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, str):
            strings.add(const)
            strings.update(_RULE_TAG.findall(const))
        elif isinstance(const, types.CodeType):
            inner_strings, inner_names = _strings_and_names(const)
            strings |= inner_strings
            names |= inner_names
    return strings, names


#: Context methods whose rules hold for every call, every instance a scenario
#: spawns and every scenario's cleanup; listed once rather than under each scenario.
_SHARED_HELPERS = ("call", "spawn", "cleanup")


def _context_method(name: str) -> Callable[..., Any] | None:
    member = inspect.getattr_static(framework.ScenarioContext, name, None)
    return member if inspect.isfunction(member) else None


def _kit_function(func: Callable[..., Any], name: str) -> Callable[..., Any] | None:
    """The kit's own module-level function ``name`` as seen from ``func``, if any."""
    found = getattr(func, "__globals__", {}).get(name)
    if inspect.isfunction(found) and (found.__module__ or "").startswith("nova_contract_tests."):
        return found
    return None


def rules_of(func: Callable[..., Any], rules: Iterable[str], seen: set[str] | None = None) -> list[str]:
    """The rules ``func`` reports itself or through the kit helpers it calls:
    ScenarioContext methods (except the shared ones, :data:`_SHARED_HELPERS`)
    and the kit's module-level functions."""
    seen = set() if seen is None else seen
    known = set(rules)
    func = inspect.unwrap(func)
    code = getattr(func, "__code__", None)
    if code is None:  # not a plain function: nothing to read
        return []
    strings, names = _strings_and_names(code)
    found = strings & known
    for name in sorted(names - seen - set(_SHARED_HELPERS)):
        helper = _context_method(name) or _kit_function(func, name)
        if helper is not None:
            seen.add(name)
            found.update(rules_of(helper, known, seen))
    return sorted(found)


def shared_rules(rules: Iterable[str]) -> dict[str, list[str]]:
    """Rules every call checks (``call``) and every scenario checks after it ran (``cleanup``)."""
    known = list(rules)
    found: dict[str, list[str]] = {}
    for name in _SHARED_HELPERS:
        helper = _context_method(name)
        if helper is None:
            continue
        own = set(_strings_and_names(helper.__code__)[0]) & set(known)
        own.update(rules_of(helper, known, set(_SHARED_HELPERS)))
        if name == "call":
            own.update(rules_of(framework.check_object_versions, known))
        found[name] = sorted(own)
    return found
