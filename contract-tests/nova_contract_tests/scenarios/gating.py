"""Capability gating: an operation whose capability is not advertised must
answer NotSupported (the scaffold does this without calling the driver)."""

from __future__ import annotations

import uuid
from typing import Any

from nova_common import objects
from nova_common.virt import api
from nova_common.virt import exceptions as exc
from nova_contract_tests.framework import ScenarioContext, scenario


def _arguments(ctx: ScenarioContext, op: api.Operation, instance: objects.Instance) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for arg in op.arguments:
        if arg.type is objects.Instance:
            values[arg.name] = instance
        elif arg.type is objects.VolumeAttachment:
            values[arg.name] = objects.VolumeAttachment(
                volume_id=str(uuid.uuid4()), mountpoint="/dev/vdb", driver_volume_type="kit"
            )
        elif arg.name == "reboot_type":
            values[arg.name] = "soft"
        elif arg.type is int:
            values[arg.name] = 0
        elif arg.type is str:
            values[arg.name] = str(uuid.uuid4())
    return values


def _gated(op: api.Operation) -> None:
    assert op.capability is not None

    @scenario(op.name, "not-advertised-answers-not-supported", when_missing=op.capability)
    def run(ctx: ScenarioContext) -> None:
        instance = ctx.spawn()
        ctx.expect_error(exc.NotSupported, op.name, "capability-gating", **_arguments(ctx, op, instance))

    run.__doc__ = f"Without the {op.capability!r} capability, {op.name} raises NotSupported."


for _op in api.OPERATIONS.values():
    if _op.capability is not None:
        _gated(_op)
