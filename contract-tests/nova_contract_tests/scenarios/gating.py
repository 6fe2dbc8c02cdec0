"""Capability gating: an operation whose capability is not advertised must
answer NotSupported (the scaffold does this without calling the driver)."""

from __future__ import annotations

from nova_common.virt import api
from nova_common.virt import exceptions as exc
from nova_contract_tests.framework import ScenarioContext, scenario


def _gated(op: api.Operation) -> None:
    assert op.capability is not None

    @scenario(op.name, "not-advertised-answers-not-supported", when_missing=op.capability)
    def run(ctx: ScenarioContext) -> None:
        instance = ctx.spawn()
        ctx.expect_error(exc.NotSupported, op.name, "capability-gating", **ctx.arguments_for(op, instance))

    run.__doc__ = f"Without the {op.capability!r} capability, {op.name} raises NotSupported."


for _op in api.OPERATIONS.values():
    if _op.capability is not None:
        _gated(_op)
