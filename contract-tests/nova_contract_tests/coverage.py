"""What the spec claims, and which scenario checks each claim.

Every operation of :mod:`nova_common.virt.api` makes claims the kit must
check: each of its declared errors, each power state it starts from (its
Transition: every state the kit can reach, and ``crashed`` through the
``crash`` test hook), and its idempotency or repeatability. A scenario
names the claims it checks in ``covers``. A claim no scenario covers must be
listed in :data:`UNTESTABLE` with the reason; anything else is a gap, and
the kit's coverage check (one result per operation) fails on it.
"""

from __future__ import annotations

from nova_common.virt import api
from nova_common.virt import exceptions as exc
from nova_contract_tests.framework import HOOK_STATES, REACHABLE_STATES, SCENARIOS, Scenario


def raises(operation: str, error: type[exc.VirtError]) -> str:
    """The claim that ``operation`` raises ``error`` when the spec says."""
    return f"{operation} raises {error.__name__}"


def from_state(operation: str, state: str) -> str:
    """The claim about ``operation`` called in power state ``state`` (allowed or refused)."""
    return f"{operation} from {state}"


def repeats(op: api.Operation) -> str | None:
    """The idempotency claim of ``op`` (None when it claims neither)."""
    if op.idempotent:
        return f"{op.name} is idempotent"
    if op.repeatable:
        return f"{op.name} is repeatable"
    return None


def spec_claims(op: api.Operation) -> list[str]:
    """Every claim the spec makes about ``op`` that the kit must check."""
    claims = [raises(op.name, error) for error in op.declared_errors]
    if op.transition is not None:
        claims += [from_state(op.name, state) for state in [*REACHABLE_STATES, *HOOK_STATES]]
    claim = repeats(op)
    if claim is not None:
        claims.append(claim)
    return claims


#: Claims no generic scenario can check, with the reason (shown in the report).
UNTESTABLE: dict[str, str] = {
    raises("spawn", exc.InvalidRequest): (
        "which values a hypervisor cannot take is the driver's own; spawn.hostile-display-name "
        "accepts a refusal with InvalidRequest but cannot demand one"
    ),
    raises("spawn", exc.InsufficientResources): (
        "whether a flavor beyond the host's free capacity is refused depends on the driver's "
        "overcommit policy, and the core only sends what it claimed"
    ),
}


def covered(scenarios: list[Scenario] | None = None) -> dict[str, list[str]]:
    """Claim -> the ids of the scenarios that cover it."""
    found: dict[str, list[str]] = {}
    for scenario in scenarios if scenarios is not None else SCENARIOS:
        for claim in scenario.covers:
            found.setdefault(claim, []).append(scenario.id)
    return found


def gaps(scenarios: list[Scenario] | None = None) -> dict[str, list[str]]:
    """Operation -> its claims with neither a scenario nor an UNTESTABLE reason."""
    have = covered(scenarios)
    missing: dict[str, list[str]] = {}
    for op in api.OPERATIONS.values():
        lacking = [c for c in spec_claims(op) if c not in have and c not in UNTESTABLE]
        if lacking:
            missing[op.name] = lacking
    return missing


def unknown_claims(scenarios: list[Scenario] | None = None) -> list[str]:
    """Claims scenarios say they cover that the spec does not make (a typo, or a stale claim)."""
    known = {claim for op in api.OPERATIONS.values() for claim in spec_claims(op)}
    return sorted(set(covered(scenarios)) - known)
