"""Scenarios of the console, snapshot and volume operations."""

from __future__ import annotations

import uuid

from nova_common import objects
from nova_common.objects.fields import PowerState
from nova_common.virt import api
from nova_common.virt import exceptions as exc
from nova_contract_tests.framework import ContractViolation, ScenarioContext, scenario


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


@scenario("snapshot", "of-stopped-instance", requires=(api.Capability.POWER,))
def snapshot_stopped(ctx: ScenarioContext) -> None:
    """A stopped instance can be snapshotted and stays stopped."""
    instance = ctx.spawn()
    ctx.bring_to(instance, PowerState.SHUTDOWN)
    ctx.call("snapshot", instance=instance, image_id=str(uuid.uuid4()), name="kit-stopped")
    ctx.expect_state(instance, PowerState.SHUTDOWN, after="snapshot")


@scenario("snapshot", "unknown-instance")
def snapshot_unknown(ctx: ScenarioContext) -> None:
    """Snapshot of an unknown instance raises InstanceNotFound."""
    ctx.expect_error(
        exc.InstanceNotFound,
        "snapshot",
        "unknown-instance",
        instance=ctx.unknown_instance(),
        image_id=str(uuid.uuid4()),
        name="kit",
    )


def _attachment(mountpoint: str = "/dev/vdb", volume_id: str | None = None) -> objects.VolumeAttachment:
    return objects.VolumeAttachment(
        volume_id=volume_id or str(uuid.uuid4()),
        mountpoint=mountpoint,
        driver_volume_type="kit",
        connection_data={"target": "kit"},
        size_gb=1,
    )


@scenario("attach_volume", "attach-is-idempotent")
def attach_idempotent(ctx: ScenarioContext) -> None:
    """Attaching the same volume at the same mountpoint twice succeeds."""
    instance = ctx.spawn()
    attachment = _attachment()
    ctx.call("attach_volume", instance=instance, attachment=attachment)
    ctx.call("attach_volume", instance=instance, attachment=attachment)
    ctx.expect_state(instance, PowerState.RUNNING, after="attach_volume")


@scenario("attach_volume", "mountpoint-taken")
def attach_mountpoint_taken(ctx: ScenarioContext) -> None:
    """A second volume at a taken mountpoint raises InvalidRequest (so the first was recorded)."""
    instance = ctx.spawn()
    ctx.call("attach_volume", instance=instance, attachment=_attachment())
    ctx.expect_error(
        exc.InvalidRequest,
        "attach_volume",
        "mountpoint-holds-one-volume",
        instance=instance,
        attachment=_attachment(),
    )


@scenario("attach_volume", "unknown-instance")
def attach_unknown(ctx: ScenarioContext) -> None:
    """Attaching to an unknown instance raises InstanceNotFound."""
    ctx.expect_error(
        exc.InstanceNotFound,
        "attach_volume",
        "unknown-instance",
        instance=ctx.unknown_instance(),
        attachment=_attachment(),
    )


@scenario("detach_volume", "frees-mountpoint")
def detach_frees(ctx: ScenarioContext) -> None:
    """After detach, another volume fits the same mountpoint."""
    instance = ctx.spawn()
    first = _attachment()
    ctx.call("attach_volume", instance=instance, attachment=first)
    ctx.call("detach_volume", instance=instance, volume_id=first.volume_id)
    ctx.call("attach_volume", instance=instance, attachment=_attachment())


@scenario("detach_volume", "idempotent")
def detach_idempotent(ctx: ScenarioContext) -> None:
    """Detaching twice, or a volume never attached, succeeds."""
    instance = ctx.spawn()
    attachment = _attachment()
    ctx.call("attach_volume", instance=instance, attachment=attachment)
    ctx.call("detach_volume", instance=instance, volume_id=attachment.volume_id)
    ctx.call("detach_volume", instance=instance, volume_id=attachment.volume_id)
    ctx.call("detach_volume", instance=instance, volume_id=str(uuid.uuid4()))


@scenario("detach_volume", "unknown-instance")
def detach_unknown(ctx: ScenarioContext) -> None:
    """Detaching from an unknown instance raises InstanceNotFound."""
    ctx.expect_error(
        exc.InstanceNotFound,
        "detach_volume",
        "unknown-instance",
        instance=ctx.unknown_instance(),
        volume_id=str(uuid.uuid4()),
    )
