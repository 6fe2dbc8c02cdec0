"""Argument domains, generated from the spec: for every argument with a
declared :class:`~nova_common.virt.api.Constraint`, a value outside it is
refused with InvalidRequest naming the argument, and nothing changes."""

from __future__ import annotations

from nova_common.objects.fields import PowerState
from nova_common.virt import api
from nova_common.virt import exceptions as exc
from nova_contract_tests.framework import ContractViolation, ScenarioContext, scenario


def _outside(op: api.Operation, arg: api.Argument, constraint: api.Constraint) -> None:
    bad = constraint.counterexample()

    @scenario(op.name, f"{arg.name}-outside-domain")
    def run(ctx: ScenarioContext) -> None:
        instance = ctx.spawn() if op.instance_argument else None
        kwargs = ctx.arguments_for(op, instance, **{arg.name: bad}) if instance else {arg.name: bad}
        error = ctx.expect_error(exc.InvalidRequest, op.name, "validates-arguments", **kwargs)
        if error.kwargs.get("field") != arg.name:
            raise ContractViolation(
                op.name,
                "validates-arguments",
                f"InvalidRequest for {arg.name}={bad!r} names field {error.kwargs.get('field')!r}",
            )
        if instance is not None:
            ctx.expect_state(instance, PowerState.RUNNING, after=f"{op.name} (refused)")

    run.__doc__ = f"{op.name} with {arg.name}={bad!r} raises InvalidRequest naming {arg.name}."


for _op in api.OPERATIONS.values():
    for _arg in _op.arguments:
        if _arg.constraints:
            _outside(_op, _arg, _arg.constraints[0])
