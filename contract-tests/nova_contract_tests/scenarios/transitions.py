"""Power-state scenarios, generated from the spec's Transition table.

For every operation with a :class:`~nova_common.virt.api.Transition` and
every state the kit can reach (:data:`~nova_contract_tests.framework.REACHABLE_STATES`,
derived from the spec): from an allowed state the instance must end in the
target state (or stay where it was when the operation changes no state); from
any other state the call must raise InvalidInstanceState and change nothing.
Idempotent and repeatable operations are also called twice, and every one is
called on an unknown instance.
"""

from __future__ import annotations

from nova_common.objects.fields import PowerState
from nova_common.virt import api
from nova_common.virt import exceptions as exc
from nova_contract_tests.framework import REACHABLE_STATES, ScenarioContext, scenario


def _from_state(op: api.Operation, state: str) -> None:
    transition = op.transition
    assert transition is not None
    needs = REACHABLE_STATES[state]
    requires = (needs,) if needs else ()
    allowed = state in transition.allowed_from

    @scenario(op.name, f"from-{state}", requires=requires)
    def run(ctx: ScenarioContext) -> None:
        instance = ctx.spawn()
        ctx.bring_to(instance, state)
        kwargs = ctx.arguments_for(op, instance)
        if allowed:
            ctx.call(op.name, **kwargs)
            ctx.expect_state(instance, transition.to or state, after=op.name)
        else:
            ctx.expect_error(exc.InvalidInstanceState, op.name, "state-precondition", **kwargs)
            ctx.expect_state(instance, state, after=f"{op.name} (refused)")

    run.__doc__ = f"{op.name} from {state}: " + (
        f"ends {transition.to or state}." if allowed else "raises InvalidInstanceState, state unchanged."
    )


def _repeat(op: api.Operation) -> None:
    transition = op.transition
    assert transition is not None
    start = next(
        (state for state in REACHABLE_STATES if state in transition.allowed_from and state != transition.to),
        transition.to or PowerState.RUNNING,
    )
    needs = REACHABLE_STATES[start]
    claim = "idempotent" if op.idempotent else "repeatable"

    @scenario(op.name, claim, requires=(needs,) if needs else ())
    def run(ctx: ScenarioContext) -> None:
        instance = ctx.spawn()
        ctx.bring_to(instance, start)
        kwargs = ctx.arguments_for(op, instance)
        ctx.call(op.name, **kwargs)
        ctx.call(op.name, **kwargs)
        ctx.expect_state(instance, transition.to or start, after=f"{op.name} twice")

    run.__doc__ = f"{op.name} twice from {start} succeeds and ends {transition.to or start}."


def _unknown(op: api.Operation) -> None:
    @scenario(op.name, "unknown-instance")
    def run(ctx: ScenarioContext) -> None:
        kwargs = ctx.arguments_for(op, ctx.unknown_instance())
        ctx.expect_error(exc.InstanceNotFound, op.name, "unknown-instance", **kwargs)

    run.__doc__ = f"{op.name} of an unknown instance raises InstanceNotFound."


for _op in api.OPERATIONS.values():
    if _op.transition is None:
        continue
    for _state in REACHABLE_STATES:
        _from_state(_op, _state)
    if _op.repeatable:
        _repeat(_op)
    _unknown(_op)


@scenario("reboot", "hard-from-running")
def hard_reboot(ctx: ScenarioContext) -> None:
    """A hard reboot of a running instance ends running."""
    instance = ctx.spawn()
    ctx.call("reboot", instance=instance, reboot_type="hard")
    ctx.expect_state(instance, PowerState.RUNNING, after="reboot (hard)")


@scenario("power_off", "graceful-timeout")
def power_off_graceful(ctx: ScenarioContext) -> None:
    """power_off with a graceful timeout ends shutdown within it."""
    instance = ctx.spawn()
    ctx.call("power_off", instance=instance, timeout=5)
    ctx.expect_state(instance, PowerState.SHUTDOWN, after="power_off (timeout=5)")
