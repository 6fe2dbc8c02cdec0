"""Power-state scenarios, generated from the spec's Transition table.

For every operation with a :class:`~nova_common.virt.api.Transition` and
every state the kit can reach (running, shutdown, paused, suspended):
from an allowed state the instance must end in the target state; from any
other state the call must raise InvalidInstanceState and change nothing.
Idempotent operations are also called twice, and every one is called on an
unknown instance.
"""

from __future__ import annotations

from typing import Any

from nova_common.objects.fields import PowerState
from nova_common.virt import api
from nova_common.virt import exceptions as exc
from nova_contract_tests.framework import ScenarioContext, scenario

#: How the kit reaches each state from running, and what that needs.
REACHABLE_STATES: dict[str, str | None] = {
    PowerState.RUNNING: None,
    PowerState.SHUTDOWN: api.Capability.POWER,
    PowerState.PAUSED: api.Capability.PAUSE,
    PowerState.SUSPENDED: api.Capability.SUSPEND,
}

#: Arguments besides the instance, per operation.
EXTRA_ARGUMENTS: dict[str, dict[str, Any]] = {
    "reboot": {"reboot_type": "soft"},
    "power_off": {"timeout": 0},
}


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
        kwargs = dict(EXTRA_ARGUMENTS.get(op.name, {}))
        if allowed:
            ctx.call(op.name, instance=instance, **kwargs)
            ctx.expect_state(instance, transition.to, after=op.name)
        else:
            ctx.expect_error(
                exc.InvalidInstanceState, op.name, "state-precondition", instance=instance, **kwargs
            )
            ctx.expect_state(instance, state, after=f"{op.name} (refused)")

    run.__doc__ = f"{op.name} from {state}: " + (
        f"ends {transition.to}." if allowed else "raises InvalidInstanceState, state unchanged."
    )


def _repeat(op: api.Operation) -> None:
    transition = op.transition
    assert transition is not None
    start = next(
        (state for state in REACHABLE_STATES if state in transition.allowed_from and state != transition.to),
        transition.to,
    )
    needs = REACHABLE_STATES[start]

    @scenario(op.name, "idempotent", requires=(needs,) if needs else ())
    def run(ctx: ScenarioContext) -> None:
        instance = ctx.spawn()
        ctx.bring_to(instance, start)
        kwargs = dict(EXTRA_ARGUMENTS.get(op.name, {}))
        ctx.call(op.name, instance=instance, **kwargs)
        ctx.call(op.name, instance=instance, **kwargs)
        ctx.expect_state(instance, transition.to, after=f"{op.name} twice")

    run.__doc__ = f"{op.name} twice from {start} succeeds and ends {transition.to}."


def _unknown(op: api.Operation) -> None:
    @scenario(op.name, "unknown-instance")
    def run(ctx: ScenarioContext) -> None:
        kwargs = dict(EXTRA_ARGUMENTS.get(op.name, {}))
        ctx.expect_error(
            exc.InstanceNotFound, op.name, "unknown-instance", instance=ctx.unknown_instance(), **kwargs
        )

    run.__doc__ = f"{op.name} of an unknown instance raises InstanceNotFound."


for _op in api.OPERATIONS.values():
    if _op.transition is None:
        continue
    for _state in REACHABLE_STATES:
        _from_state(_op, _state)
    if _op.idempotent:
        _repeat(_op)
    _unknown(_op)


@scenario("reboot", "hard-from-running")
def hard_reboot(ctx: ScenarioContext) -> None:
    """A hard reboot of a running instance ends running."""
    instance = ctx.spawn()
    ctx.call("reboot", instance=instance, reboot_type="hard")
    ctx.expect_state(instance, PowerState.RUNNING, after="reboot (hard)")


@scenario("reboot", "repeatable")
def reboot_repeatable(ctx: ScenarioContext) -> None:
    """Rebooting twice in a row never fails."""
    instance = ctx.spawn()
    ctx.call("reboot", instance=instance, reboot_type="soft")
    ctx.call("reboot", instance=instance, reboot_type="hard")
    ctx.expect_state(instance, PowerState.RUNNING, after="reboot twice")


@scenario("reboot", "invalid-reboot-type")
def reboot_invalid_type(ctx: ScenarioContext) -> None:
    """A reboot_type other than soft or hard raises InvalidRequest."""
    instance = ctx.spawn()
    ctx.expect_error(
        exc.InvalidRequest, "reboot", "validates-arguments", instance=instance, reboot_type="warm"
    )
    ctx.expect_state(instance, PowerState.RUNNING, after="reboot (refused)")


@scenario("power_off", "graceful-timeout")
def power_off_graceful(ctx: ScenarioContext) -> None:
    """power_off with a graceful timeout ends shutdown within it."""
    instance = ctx.spawn()
    ctx.call("power_off", instance=instance, timeout=5)
    ctx.expect_state(instance, PowerState.SHUTDOWN, after="power_off (timeout=5)")


@scenario("power_off", "negative-timeout")
def power_off_negative(ctx: ScenarioContext) -> None:
    """A negative timeout is refused with InvalidRequest."""
    instance = ctx.spawn()
    ctx.expect_error(exc.InvalidRequest, "power_off", "validates-arguments", instance=instance, timeout=-1)
