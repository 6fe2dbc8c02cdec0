"""Scenarios of the mandatory operations: identity, resources, spawn, destroy, reads."""

from __future__ import annotations

from nova_common.objects.fields import PowerState
from nova_common.virt import api
from nova_common.virt import exceptions as exc
from nova_contract_tests.framework import ContractViolation, ScenarioContext, scenario


@scenario("get_driver_info", "describes-driver")
def describes_driver(ctx: ScenarioContext) -> None:
    """DriverInfo names the driver, a virt API range the kit speaks, known capabilities."""
    info = ctx.call("get_driver_info")
    if not info.driver_name or not info.hypervisor_type:
        raise ContractViolation(
            "get_driver_info", "driver-identity", "driver_name and hypervisor_type must be set"
        )
    low, high = api.parse_version(info.virt_api_min), api.parse_version(info.virt_api_max)
    ours = api.parse_version(api.VIRT_API_VERSION)
    if low > high or low[0] != ours[0]:
        raise ContractViolation(
            "get_driver_info",
            "virt-api-range",
            f"serves {info.virt_api_min}..{info.virt_api_max}, the kit speaks {api.VIRT_API_VERSION}",
        )
    # A driver newer than the kit may advertise capabilities of its newer virt
    # API (minor versions add them); only a driver within the kit's version
    # must stick to the capabilities the kit knows.
    unknown = set(info.capabilities) - api.Capability.ALL
    if unknown and high <= ours:
        raise ContractViolation(
            "get_driver_info", "known-capabilities", f"advertises unknown capabilities {sorted(unknown)}"
        )


@scenario("get_driver_info", "object-manifest-covers-release")
def object_manifest_covers_release(ctx: ScenarioContext) -> None:
    """The driver knows every object of the virt API release it serves, at least at that version."""
    info = ctx.call("get_driver_info")
    released = api.RELEASED_OBJECT_VERSIONS.get(info.virt_api_max) or api.RELEASED_OBJECT_VERSIONS["1.0"]
    for name, version in sorted(released.items()):
        have = info.object_versions.get(name)
        if have is None or api.parse_version(have) < api.parse_version(version):
            raise ContractViolation(
                "get_driver_info",
                "object-manifest",
                f"object_versions has {name} {have}, virt API {info.virt_api_max} ships {version}",
            )


@scenario("get_driver_info", "idempotent")
def driver_info_idempotent(ctx: ScenarioContext) -> None:
    """Asking twice gives the same answer."""
    first, second = ctx.call("get_driver_info"), ctx.call("get_driver_info")
    if first.obj_to_primitive() != second.obj_to_primitive():
        raise ContractViolation("get_driver_info", "idempotent", "two calls gave different DriverInfo")


@scenario("get_host_resources", "consistent-totals")
def consistent_totals(ctx: ScenarioContext) -> None:
    """Used never exceeds total; the hypervisor is named."""
    res = ctx.call("get_host_resources")
    for total, used in (
        ("vcpus", "vcpus_used"),
        ("memory_mb", "memory_mb_used"),
        ("local_gb", "local_gb_used"),
    ):
        if getattr(res, used) > getattr(res, total):
            raise ContractViolation(
                "get_host_resources",
                "used-within-total",
                f"{used}={getattr(res, used)} exceeds {total}={getattr(res, total)}",
            )
    if not res.hypervisor_hostname or not res.hypervisor_type:
        raise ContractViolation(
            "get_host_resources", "host-identity", "hypervisor_hostname and hypervisor_type must be set"
        )


@scenario("get_host_resources", "follows-spawn-and-destroy")
def follows_spawn_and_destroy(ctx: ScenarioContext) -> None:
    """Used resources rise after spawn and return to where they were after destroy."""
    before = ctx.call("get_host_resources")
    instance = ctx.spawn()
    during = ctx.call("get_host_resources")
    if not (during.vcpus_used > before.vcpus_used or during.memory_mb_used > before.memory_mb_used):
        raise ContractViolation(
            "get_host_resources",
            "resources-follow-spawn",
            f"vcpus_used {before.vcpus_used}->{during.vcpus_used} and memory_mb_used "
            f"{before.memory_mb_used}->{during.memory_mb_used} did not rise after spawn",
        )
    ctx.call("destroy", instance=instance)
    after = ctx.call("get_host_resources")
    if (after.vcpus_used, after.memory_mb_used) != (before.vcpus_used, before.memory_mb_used):
        raise ContractViolation(
            "get_host_resources",
            "resources-follow-destroy",
            f"after destroy vcpus_used={after.vcpus_used}, memory_mb_used={after.memory_mb_used}; "
            f"before spawn {before.vcpus_used}, {before.memory_mb_used}",
        )


@scenario("list_instances", "lists-what-was-spawned")
def lists_what_was_spawned(ctx: ScenarioContext) -> None:
    """Both spawned instances are listed, running, matching get_info."""
    first, second = ctx.spawn(), ctx.spawn()
    listed = {info.uuid: info for info in ctx.call("list_instances").objects}
    for instance in (first, second):
        info = listed.get(instance.uuid)
        if info is None:
            raise ContractViolation(
                "list_instances", "list-instances-complete", f"{instance.uuid} not listed"
            )
        single = ctx.call("get_info", instance=instance)
        if (info.power_state, info.vcpus) != (single.power_state, single.vcpus):
            raise ContractViolation(
                "list_instances",
                "list-matches-get-info",
                f"list says {info.power_state}/{info.vcpus} vCPUs, "
                f"get_info {single.power_state}/{single.vcpus}",
            )


@scenario("list_instances", "omits-destroyed")
def omits_destroyed(ctx: ScenarioContext) -> None:
    """A destroyed instance is no longer listed."""
    instance = ctx.spawn()
    ctx.call("destroy", instance=instance)
    if ctx.listed(instance) is not None:
        raise ContractViolation("destroy", "destroy-removes-instance", "instance still in list_instances")


@scenario("list_instances", "unique-uuids")
def unique_uuids(ctx: ScenarioContext) -> None:
    """Every listed instance appears once."""
    ctx.spawn()
    uuids = [info.uuid for info in ctx.call("list_instances").objects]
    if len(uuids) != len(set(uuids)):
        raise ContractViolation("list_instances", "unique-uuids", "an instance is listed twice")


@scenario("spawn", "boots-running")
def boots_running(ctx: ScenarioContext) -> None:
    """spawn returns the new instance's info, running."""
    instance = ctx.new_instance()
    ctx.created.append(instance.uuid)
    info = ctx.call("spawn", instance=instance, network_info=ctx.network_info(2))
    if info.uuid != instance.uuid or info.power_state != PowerState.RUNNING:
        raise ContractViolation(
            "spawn", "spawn-result", f"returned {info.uuid} in {info.power_state!r}, expected running"
        )
    ctx.expect_state(instance, PowerState.RUNNING, after="spawn")


@scenario("spawn", "second-spawn-raises-instance-exists")
def second_spawn_exists(ctx: ScenarioContext) -> None:
    """A second spawn of the same uuid raises InstanceExists and leaves the first alone."""
    instance = ctx.spawn()
    ctx.expect_error(
        exc.InstanceExists, "spawn", "spawn-existing-uuid", instance=instance, network_info=ctx.network_info()
    )
    ctx.expect_state(instance, PowerState.RUNNING, after="spawn")


@scenario("spawn", "hostile-display-name")
def hostile_display_name(ctx: ScenarioContext) -> None:
    """A display name full of markup boots, or is refused with InvalidRequest, never worse."""
    instance = ctx.new_instance(display_name="kit \"q' <b>&amp; ]]> \u00e9\u6f22\u5b57 ${x} %(y)s")
    ctx.created.append(instance.uuid)
    try:
        ctx.call("spawn", instance=instance, network_info=ctx.network_info())
    except exc.InvalidRequest as refused:
        if ctx.listed(instance) is not None:
            raise ContractViolation(
                "spawn", "refusal-leaves-nothing", "refused spawn left the instance behind"
            ) from refused
        return
    ctx.expect_state(instance, PowerState.RUNNING, after="spawn")


@scenario("destroy", "removes-instance")
def removes_instance(ctx: ScenarioContext) -> None:
    """After destroy, get_info raises InstanceNotFound."""
    instance = ctx.spawn()
    ctx.call("destroy", instance=instance)
    ctx.expect_error(exc.InstanceNotFound, "get_info", "destroy-removes-instance", instance=instance)


@scenario("destroy", "missing-instance-succeeds")
def destroy_missing(ctx: ScenarioContext) -> None:
    """Destroying an instance that never existed succeeds."""
    ctx.call("destroy", instance=ctx.unknown_instance())


@scenario("destroy", "idempotent")
def destroy_twice(ctx: ScenarioContext) -> None:
    """Destroying twice succeeds both times."""
    instance = ctx.spawn()
    ctx.call("destroy", instance=instance)
    ctx.call("destroy", instance=instance)


def _destroy_from(state: str, capability: str) -> None:
    @scenario("destroy", f"from-{state}", requires=(capability,))
    def destroy_from_state(ctx: ScenarioContext) -> None:
        instance = ctx.spawn()
        ctx.bring_to(instance, state)
        ctx.call("destroy", instance=instance)
        if ctx.listed(instance) is not None:
            raise ContractViolation("destroy", "destroy-removes-instance", f"{state} instance still listed")

    destroy_from_state.__doc__ = f"A {state} instance is destroyed completely."


_destroy_from(PowerState.SHUTDOWN, api.Capability.POWER)
_destroy_from(PowerState.PAUSED, api.Capability.PAUSE)
_destroy_from(PowerState.SUSPENDED, api.Capability.SUSPEND)


@scenario("get_info", "unknown-instance")
def get_info_unknown(ctx: ScenarioContext) -> None:
    """get_info of an instance that does not exist raises InstanceNotFound."""
    ctx.expect_error(exc.InstanceNotFound, "get_info", "unknown-instance", instance=ctx.unknown_instance())


@scenario("get_info", "describes-instance")
def get_info_describes(ctx: ScenarioContext) -> None:
    """get_info returns the instance's uuid and the flavor's vCPUs."""
    instance = ctx.spawn()
    info = ctx.call("get_info", instance=instance)
    if info.uuid != instance.uuid:
        raise ContractViolation("get_info", "result-describes-instance", f"returned info of {info.uuid}")
    if info.vcpus not in (0, instance.flavor.vcpus):
        raise ContractViolation(
            "get_info",
            "reports-flavor",
            f"reports {info.vcpus} vCPUs, the flavor has {instance.flavor.vcpus}",
        )
