"""Scenarios that need the driver's test hooks (:mod:`nova_common.virt.test_hooks`).

* **Drift**: after the power state changes behind the core's back
  (``set_power_state``), get_info and list_instances report the new state.
* **Lifecycle events** (in process): each such change, and a crash, is
  reported by exactly one LifecycleEvent for the right instance and
  transition.
* **Hypervisor refusals** (``fail_next``): every operation that declares
  OperationFailed answers it when the hypervisor refuses, and leaves
  nothing behind.

The crashed state's transitions are generated with the others
(:mod:`nova_contract_tests.scenarios.transitions`); the leak check runs once
after every scenario (:mod:`nova_contract_tests.runner`).
"""

from __future__ import annotations

from nova_common import objects
from nova_common.objects.fields import LifecycleTransition, PowerState
from nova_common.virt import api
from nova_common.virt import exceptions as exc
from nova_contract_tests import coverage
from nova_contract_tests.framework import ContractViolation, ScenarioContext, scenario

#: The event a change into each power state produces (from a state that is not paused).
EVENT_FOR_STATE: dict[str, str] = {
    PowerState.RUNNING: LifecycleTransition.STARTED,
    PowerState.SHUTDOWN: LifecycleTransition.STOPPED,
    PowerState.PAUSED: LifecycleTransition.PAUSED,
    PowerState.SUSPENDED: LifecycleTransition.SUSPENDED,
    PowerState.CRASHED: LifecycleTransition.CRASHED,
}

#: The out-of-band changes the kit makes: (name, state it starts from, state it sets).
CHANGES: list[tuple[str, str, str]] = [
    *[
        (state, PowerState.RUNNING, state)
        for state in (PowerState.SHUTDOWN, PowerState.PAUSED, PowerState.SUSPENDED)
    ],
    ("restarted", PowerState.SHUTDOWN, PowerState.RUNNING),
]


def _started_in(ctx: ScenarioContext, start: str) -> objects.Instance:
    """A new instance, moved to ``start`` behind the core's back."""
    instance = ctx.spawn()
    if start != PowerState.RUNNING:
        ctx.hooks.set_power_state(instance.uuid, start)
    return instance


def _drift(name: str, start: str, state: str) -> None:
    @scenario("get_info", f"reports-out-of-band-{name}", hooks=("set_power_state",))
    def run(ctx: ScenarioContext) -> None:
        instance = _started_in(ctx, start)
        ctx.hooks.set_power_state(instance.uuid, state)
        ctx.expect_state(
            instance,
            state,
            after="a change behind the core's back",
            rule="power-state-drift",
            readers_at_fault=True,
        )

    run.__doc__ = (
        f"An instance set {state} behind the core's back (from {start}) is reported {state} "
        "by get_info and list_instances."
    )


def _event(name: str, start: str, state: str) -> None:
    @scenario("get_info", f"lifecycle-event-{name}", hooks=("set_power_state",))
    def run(ctx: ScenarioContext) -> None:
        instance = _started_in(ctx, start)
        mark = ctx.events_mark()
        ctx.hooks.set_power_state(instance.uuid, state)
        ctx.expect_event(mark, instance, EVENT_FOR_STATE[state], f"it became {state} behind the core's back")

    run.__doc__ = f"A change from {start} to {state} behind the core's back emits one LifecycleEvent."


for _name, _start, _state in CHANGES:
    _drift(_name, _start, _state)
    _event(_name, _start, _state)


@scenario("get_info", "lifecycle-event-crashed", hooks=("crash",))
def crash_event(ctx: ScenarioContext) -> None:
    """A crash emits one 'crashed' LifecycleEvent, and the instance is reported crashed."""
    instance = ctx.spawn()
    mark = ctx.events_mark()
    ctx.hooks.crash(instance.uuid)
    ctx.expect_event(mark, instance, LifecycleTransition.CRASHED, "it crashed")
    ctx.expect_state(
        instance, PowerState.CRASHED, after="a crash", rule="power-state-drift", readers_at_fault=True
    )


def _refused(op: api.Operation) -> None:
    @scenario(
        op.name,
        "hypervisor-refusal-raises-operation-failed",
        hooks=("fail_next",),
        covers=(coverage.raises(op.name, exc.OperationFailed),),
    )
    def run(ctx: ScenarioContext) -> None:
        if op.name == "spawn":
            instance = ctx.new_instance()
            ctx.hooks.fail_next(op.name)
            ctx.expect_error(
                exc.OperationFailed,
                "spawn",
                "hypervisor-refusal",
                instance=instance,
                network_info=ctx.network_info(),
            )
            if ctx.listed(instance) is not None:
                raise ContractViolation(
                    "spawn", "refusal-leaves-nothing", "a refused spawn left the instance listed"
                )
            return
        instance = ctx.spawn()
        ctx.hooks.fail_next(op.name)
        ctx.expect_error(
            exc.OperationFailed, op.name, "hypervisor-refusal", **ctx.arguments_for(op, instance)
        )
        ctx.expect_state(instance, PowerState.RUNNING, after=f"{op.name} (refused by the hypervisor)")

    run.__doc__ = f"When the hypervisor refuses {op.name}, it raises OperationFailed and changes nothing."


for _op in api.OPERATIONS.values():
    if exc.OperationFailed in _op.declared_errors:
        _refused(_op)
