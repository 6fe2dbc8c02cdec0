"""The other direction of the wire: what the service under test tells the core.

Black-box with ``report_topic`` only: the kit plays the core's side of the
report channel (:class:`~nova_contract_tests.core_side.CoreSide`) and checks
each message of :class:`~nova_common.virt.report_api.ComputeReportAPI`
against its declaration: who sends it when, with which arguments, and every
object in it registered and at a version the kit asked for.
"""

from __future__ import annotations

import time
from typing import Any

from nova_common import objects
from nova_common.objects.fields import LifecycleTransition, PowerState
from nova_contract_tests.core_side import CoreSide, Received
from nova_contract_tests.framework import ContractViolation, ScenarioContext, SkipScenario, scenario

#: Seconds a registration may take to reach the kit after it asked for one.
REGISTRATION_WAIT = 15.0


def _core(ctx: ScenarioContext) -> CoreSide:
    core = ctx.target.core_side
    if core is None:
        if ctx.target.mode != "black-box":
            raise SkipScenario(
                "the report channel is checked black-box (run against a compute service with report_topic)"
            )
        raise SkipScenario("no report_topic given: the kit does not hear the service's report channel")
    return core


def _registration(ctx: ScenarioContext, operation: str) -> Received:
    core = _core(ctx)
    found = core.wait_for("register", timeout=REGISTRATION_WAIT)
    if not found:
        raise ContractViolation(
            operation,
            "registers-when-asked",
            f"no registration reached the kit within {REGISTRATION_WAIT:.0f} s of request_registration",
        )
    return found[-1]


def _slack(interval: float) -> float:
    """How late a periodic message may be: half its interval, at least half a second."""
    return max(0.5, interval * 0.5)


@scenario("report.register", "describes-driver")
def register_describes_driver(ctx: ScenarioContext) -> None:
    """The service registers when asked, naming its host, with the DriverInfo get_driver_info answers."""
    received = _registration(ctx, "report.register")
    if received.kwargs["host"] != ctx.config.host:
        raise ContractViolation(
            "report.register", "registers-as-itself", f"registered as host {received.kwargs['host']!r}"
        )
    registered = received.kwargs["driver_info"].obj_to_primitive()["nova_object.data"]
    answered = ctx.call("get_driver_info").obj_to_primitive()["nova_object.data"]
    if registered != answered:
        differing = sorted(k for k in set(registered) | set(answered) if registered.get(k) != answered.get(k))
        raise ContractViolation(
            "report.register",
            "registration-matches-driver-info",
            f"the registered DriverInfo differs from get_driver_info in {', '.join(differing)}",
        )


@scenario("report.heartbeat", "at-the-declared-interval")
def heartbeat_at_interval(ctx: ScenarioContext) -> None:
    """Once registered, heartbeats arrive at the interval the registration declared, numbered without gaps."""
    core = _core(ctx)
    interval = _registration(ctx, "report.heartbeat").kwargs["heartbeat_interval"]
    start = time.monotonic()
    beats = core.wait_for("heartbeat", timeout=3 * interval + _slack(interval), since=start, count=3)
    if len(beats) < 3:
        raise ContractViolation(
            "report.heartbeat",
            "heartbeat-interval",
            f"{len(beats)} heartbeats in {time.monotonic() - start:.1f} s; declared interval {interval} s",
        )
    sequences = [beat.kwargs["sequence"] for beat in beats[:3]]
    if sequences != list(range(sequences[0], sequences[0] + 3)):
        raise ContractViolation(
            "report.heartbeat", "heartbeat-sequence", f"consecutive heartbeats numbered {sequences}"
        )
    gaps = [later.at - earlier.at for earlier, later in zip(beats, beats[1:3], strict=False)]
    if max(gaps) > interval + _slack(interval):
        raise ContractViolation(
            "report.heartbeat",
            "heartbeat-interval",
            f"heartbeats {max(gaps):.2f} s apart; declared interval {interval} s",
        )


def _used(received: Received) -> tuple[int, int]:
    resources = received.kwargs["resources"]
    return resources.vcpus_used, resources.memory_mb_used


def _wait_for_report(ctx: ScenarioContext, since: float, expect: Any, what: str, interval: float) -> None:
    core = _core(ctx)
    timeout = 2 * interval + _slack(interval)
    found = core.wait_for(
        "report_resources", timeout=timeout, since=since, where=lambda received: expect(_used(received))
    )
    if not found:
        seen = [_used(r) for r in core.of("report_resources", since)]
        raise ContractViolation(
            "report.report_resources",
            "reports-follow-changes",
            f"no resource report {what} within {timeout:.1f} s (declared interval {interval} s); "
            f"(vcpus_used, memory_mb_used) reported meanwhile: {seen}",
        )


@scenario("report.report_resources", "follows-spawn-and-destroy")
def reports_follow_spawn_and_destroy(ctx: ScenarioContext) -> None:
    """The next resource reports after a spawn include the instance, and after its destroy no longer do."""
    core = _core(ctx)
    interval = _registration(ctx, "report.report_resources").kwargs["report_interval"]
    baseline = core.wait_for("report_resources", timeout=interval + _slack(interval))
    if not baseline:
        raise ContractViolation(
            "report.report_resources",
            "reports-at-interval",
            f"no resource report within {interval + _slack(interval):.1f} s (declared interval {interval} s)",
        )
    vcpus, memory = _used(baseline[-1])
    instance = ctx.spawn()
    flavor = instance.flavor
    _wait_for_report(
        ctx,
        time.monotonic(),
        lambda used: used[0] >= vcpus + flavor.vcpus and used[1] >= memory + flavor.memory_mb,
        f"counting the spawned instance ({flavor.vcpus} vCPU, {flavor.memory_mb} MiB)",
        interval,
    )
    ctx.call("destroy", instance=instance)
    _wait_for_report(
        ctx,
        time.monotonic(),
        lambda used: used == (vcpus, memory),
        f"back to (vcpus_used, memory_mb_used) = {(vcpus, memory)} after destroy",
        interval,
    )


@scenario("report.register", "objects-at-the-core-versions")
def objects_at_core_versions(ctx: ScenarioContext) -> None:
    """Every message so far broke no declaration, and every object in it is registered and at or
    below the version the kit asked for at registration."""
    core = _core(ctx)
    _registration(ctx, "report.register")
    if core.refused:
        name, kwargs, error = core.refused[0]
        if name == "(deserialize)":
            raise ContractViolation(
                "report",
                "report-objects-at-core-version",
                f"sent {kwargs['object']}, which the kit cannot read at the versions it registered "
                f"the service with: {error}",
            )
        raise ContractViolation(
            f"report.{name}",
            "report-messages-declared",
            f"sent {name}({kwargs}), which breaks its declaration: {error}",
        )
    known = objects.object_manifest()
    for received in list(core.received):
        for value in received.kwargs.values():
            _check_versions(received.name, value, core.object_versions, known)


def _check_versions(message: str, value: Any, asked: dict[str, str], known: dict[str, str]) -> None:
    if isinstance(value, list | tuple):
        for item in value:
            _check_versions(message, item, asked, known)
        return
    if not isinstance(value, objects.NovaObject):
        return
    name = value.obj_name()
    if name not in known:
        raise ContractViolation(
            f"report.{message}", "report-objects-registered", f"sent {name}, which is not a registered object"
        )
    ceiling = asked.get(name)
    if ceiling is not None and tuple(map(int, value.VERSION.split("."))) > tuple(
        map(int, ceiling.split("."))
    ):
        raise ContractViolation(
            f"report.{message}",
            "report-objects-at-core-version",
            f"sent {name} {value.VERSION}; the kit registered it at {ceiling}",
        )
    for field in value.fields:
        if value.obj_attr_is_set(field):
            _check_versions(message, getattr(value, field), asked, known)


@scenario("report.lifecycle_event", "per-out-of-band-change")
def lifecycle_event_per_change(ctx: ScenarioContext) -> None:
    """A power-state change behind the core's back (the set_power_state test hook) reaches the
    core as one lifecycle event for that instance, with the matching transition."""
    core = _core(ctx)
    hooks = getattr(ctx.target, "hooks", None)
    if hooks is None:
        raise SkipScenario("needs the driver's set_power_state test hook (the service has none enabled)")
    _registration(ctx, "report.lifecycle_event")
    instance = ctx.spawn()
    since = time.monotonic()
    hooks.set_power_state(instance.uuid, PowerState.SHUTDOWN)
    events = core.wait_for(
        "lifecycle_event",
        timeout=5.0,
        since=since,
        where=lambda received: received.kwargs["event"].instance_uuid == instance.uuid,
    )
    if not events:
        raise ContractViolation(
            "report.lifecycle_event",
            "lifecycle-event-per-change",
            f"no lifecycle event for {instance.uuid} within 5 s of its change to shutdown "
            "behind the core's back",
        )
    if events[0].kwargs["event"].transition != LifecycleTransition.STOPPED:
        raise ContractViolation(
            "report.lifecycle_event",
            "lifecycle-event-per-change",
            f"the change to shutdown was reported as {events[0].kwargs['event'].transition!r}, "
            "expected 'stopped'",
        )
