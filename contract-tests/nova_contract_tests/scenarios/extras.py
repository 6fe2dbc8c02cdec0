"""Scenarios of the console, snapshot and volume operations."""

from __future__ import annotations

import uuid

from nova_common.objects.fields import PowerState
from nova_common.virt import exceptions as exc
from nova_contract_tests.framework import ContractViolation, ScenarioContext, scenario, volume_attachment


@scenario("get_console_output", "returns-output")
def console_output(ctx: ScenarioContext) -> None:
    """A running instance's console output is a ConsoleOutput; reading it twice is fine."""
    instance = ctx.spawn()
    ctx.call("get_console_output", instance=instance)
    ctx.call("get_console_output", instance=instance)


@scenario("get_console_output", "unknown-instance")
def console_unknown(ctx: ScenarioContext) -> None:
    """Console output of an unknown instance raises InstanceNotFound."""
    ctx.expect_error(
        exc.InstanceNotFound, "get_console_output", "unknown-instance", instance=ctx.unknown_instance()
    )


@scenario("snapshot", "captures-image")
def snapshot_captures(ctx: ScenarioContext) -> None:
    """A snapshot returns the image id it was given and leaves the instance running."""
    instance = ctx.spawn()
    image_id = str(uuid.uuid4())
    info = ctx.call("snapshot", instance=instance, image_id=image_id, name='kit <snap> & "co"')
    if info.image_id != image_id:
        raise ContractViolation(
            "snapshot", "snapshot-result", f"returned image_id {info.image_id}, gave {image_id}"
        )
    ctx.expect_state(instance, PowerState.RUNNING, after="snapshot")


@scenario("attach_volume", "mountpoint-taken")
def attach_mountpoint_taken(ctx: ScenarioContext) -> None:
    """A second volume at a taken mountpoint raises InvalidRequest (so the first was recorded)."""
    instance = ctx.spawn()
    ctx.call("attach_volume", instance=instance, attachment=volume_attachment())
    ctx.expect_error(
        exc.InvalidRequest,
        "attach_volume",
        "mountpoint-holds-one-volume",
        instance=instance,
        attachment=volume_attachment(),
    )


@scenario("detach_volume", "frees-mountpoint")
def detach_frees(ctx: ScenarioContext) -> None:
    """After detach, another volume fits the same mountpoint."""
    instance = ctx.spawn()
    first = volume_attachment()
    ctx.call("attach_volume", instance=instance, attachment=first)
    ctx.call("detach_volume", instance=instance, volume_id=first.volume_id)
    ctx.call("attach_volume", instance=instance, attachment=volume_attachment())


@scenario("detach_volume", "detach-twice")
def detach_idempotent(ctx: ScenarioContext) -> None:
    """Detaching twice, or a volume never attached, succeeds."""
    instance = ctx.spawn()
    attachment = volume_attachment()
    ctx.call("attach_volume", instance=instance, attachment=attachment)
    ctx.call("detach_volume", instance=instance, volume_id=attachment.volume_id)
    ctx.call("detach_volume", instance=instance, volume_id=attachment.volume_id)
    ctx.call("detach_volume", instance=instance, volume_id=str(uuid.uuid4()))


@scenario("get_diagnostics", "describes-instance")
def diagnostics_describe_instance(ctx: ScenarioContext) -> None:
    """Diagnostics of a running instance name it, agree with get_info on its power state and
    count its vCPUs."""
    instance = ctx.spawn()
    diagnostics = ctx.call("get_diagnostics", instance=instance)
    if diagnostics.uuid != instance.uuid:
        raise ContractViolation(
            "get_diagnostics", "result-describes-instance", f"returned diagnostics of {diagnostics.uuid}"
        )
    if diagnostics.power_state != ctx.power_state(instance):
        raise ContractViolation(
            "get_diagnostics",
            "agrees-with-get-info",
            f"reports power state {diagnostics.power_state!r}, get_info {ctx.power_state(instance)!r}",
        )
    if diagnostics.num_cpus != instance.flavor.vcpus:
        raise ContractViolation(
            "get_diagnostics",
            "counts-the-flavor",
            f"reports {diagnostics.num_cpus} vCPUs for a {instance.flavor.vcpus}-vCPU flavor",
        )


@scenario("get_diagnostics", "unknown-instance")
def diagnostics_unknown(ctx: ScenarioContext) -> None:
    """Diagnostics of an unknown instance raise InstanceNotFound."""
    ctx.expect_error(
        exc.InstanceNotFound, "get_diagnostics", "unknown-instance", instance=ctx.unknown_instance()
    )
