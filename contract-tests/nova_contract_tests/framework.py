"""Scenarios, the context they run in, and the rules they check.

A scenario is a function of one :class:`ScenarioContext`, registered for one
spec operation with :func:`scenario`. It is gated on the capabilities it
needs: the operation's own (from the spec) plus any in ``requires``. A
scenario with ``when_missing`` runs only when that capability is *not*
advertised (to check the NotSupported answer).

Every call goes through :meth:`ScenarioContext.call`, which enforces the
rules every operation shares: errors only from the operation's declared set,
results of the declared type, registered objects at versions the caller
knows. A broken rule raises :class:`ContractViolation`, whose message names
the operation and the rule.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable
from typing import Any

from nova_common import objects
from nova_common.objects import base as obj_base
from nova_common.objects.fields import PowerState
from nova_common.virt import api, report_api
from nova_common.virt import exceptions as exc
from nova_contract_tests.config import KitConfig
from nova_contract_tests.targets import Target


class ContractViolation(AssertionError):
    """A driver broke a rule of the contract."""

    def __init__(self, operation: str, rule: str, detail: str) -> None:
        self.operation = operation
        self.rule = rule
        self.detail = detail
        super().__init__(f"{operation}: {detail} [rule: {rule}]")


class SkipScenario(Exception):
    """The scenario does not apply to this driver; the message says why."""


@dataclasses.dataclass(frozen=True)
class Scenario:
    operation: str
    name: str
    func: Callable[[ScenarioContext], None]
    requires: tuple[str, ...]
    when_missing: str | None
    doc: str

    @property
    def id(self) -> str:
        return f"{self.operation}.{self.name}"

    @property
    def capabilities(self) -> tuple[str, ...]:
        """Every capability the scenario needs advertised."""
        op = api.OPERATIONS.get(self.operation)
        own = op.capability if op is not None else None
        needed = list(self.requires)
        if own and self.when_missing is None:
            needed.insert(0, own)
        return tuple(dict.fromkeys(needed))

    def skip_reason(self, advertised: frozenset[str]) -> str | None:
        if self.when_missing is not None:
            if self.when_missing in advertised:
                return f"capability {self.when_missing!r} is advertised; NotSupported check does not apply"
            return None
        for capability in self.capabilities:
            if capability not in advertised:
                return f"capability {capability!r} is not advertised by the driver"
        return None


SCENARIOS: list[Scenario] = []


def scenario(
    operation: str,
    name: str,
    requires: tuple[str, ...] = (),
    when_missing: str | None = None,
) -> Callable[[Callable[[ScenarioContext], None]], Callable[[ScenarioContext], None]]:
    """Register a scenario of ``operation``: a virt API operation, or
    ``report.<message>`` for a message of the compute-report API (both must be
    in the spec)."""
    if operation not in api.OPERATIONS and operation.removeprefix("report.") not in report_api.COMPUTE_REPORT:
        raise ValueError(f"operation: {operation!r} is not in the virt API or compute-report API spec")

    def register(func: Callable[[ScenarioContext], None]) -> Callable[[ScenarioContext], None]:
        add_scenario(
            Scenario(operation, name, func, tuple(requires), when_missing, (func.__doc__ or "").strip())
        )
        return func

    return register


def add_scenario(new: Scenario) -> None:
    if any(existing.id == new.id for existing in SCENARIOS):
        raise ValueError(f"scenario id {new.id!r} is registered twice")
    SCENARIOS.append(new)


# -- object rules -------------------------------------------------------------


def check_object_versions(operation: str, value: Any, manifest: dict[str, str]) -> None:
    """Every object in ``value`` is one of ours, registered, at a version the
    caller (whose manifest is ``manifest``) can read."""
    if isinstance(value, (list, tuple)):
        for item in value:
            check_object_versions(operation, item, manifest)
        return
    if not isinstance(value, obj_base.NovaObject):
        return
    name = value.obj_name()
    if value.OBJ_PROJECT_NAMESPACE != obj_base.OBJ_NAMESPACE or name not in manifest:
        raise ContractViolation(
            operation, "results-are-registered-objects", f"returned {name}, which is not a registered object"
        )
    if _version_tuple(value.VERSION) > _version_tuple(manifest[name]):
        raise ContractViolation(
            operation,
            "results-at-caller-version",
            f"returned {name} {value.VERSION}, newer than the caller's {manifest[name]}",
        )
    for field in value.fields:
        if value.obj_attr_is_set(field):
            check_object_versions(operation, getattr(value, field), manifest)


def _version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


# -- what the spec implies for the kit ----------------------------------------


def operation_reaching(state: str) -> api.Operation | None:
    """The operation that takes a running instance to ``state`` (None for
    running itself), derived from the spec's transitions."""
    if state == PowerState.RUNNING:
        return None
    for op in api.OPERATIONS.values():
        transition = op.transition
        if (
            transition is not None
            and transition.to == state
            and PowerState.RUNNING in transition.allowed_from
        ):
            return op
    return None


#: The power states the kit can bring an instance to through the contract,
#: each with the capability that takes: derived from the spec.
REACHABLE_STATES: dict[str, str | None] = {PowerState.RUNNING: None}
for _state in sorted(api.POWER_STATES):
    _reaching = operation_reaching(_state)
    if _reaching is not None:
        REACHABLE_STATES[_state] = _reaching.capability


def volume_attachment(mountpoint: str = "/dev/vdb", volume_id: str | None = None) -> objects.VolumeAttachment:
    """A VolumeAttachment the kit attaches (a fresh volume unless ``volume_id``)."""
    return objects.VolumeAttachment(
        volume_id=volume_id or str(uuid.uuid4()),
        mountpoint=mountpoint,
        driver_volume_type="kit",
        connection_data={"target": "kit"},
        size_gb=1,
    )


#: How the kit builds a valid example of each object type an operation takes
#: (besides the Instance). A kit test fails when an operation of the spec
#: takes an object type that is missing here.
OBJECT_EXAMPLES: dict[type, Callable[[ScenarioContext], Any]] = {
    objects.VolumeAttachment: lambda ctx: volume_attachment(),
    objects.NetworkInfo: lambda ctx: ctx.network_info(),
}


# -- the context --------------------------------------------------------------


class ScenarioContext:
    """What a scenario works with; tracks and cleans up what it creates."""

    def __init__(self, target: Target, config: KitConfig, scenario_id: str) -> None:
        self.target = target
        self.config = config
        self.scenario_id = scenario_id
        self.created: list[str] = []
        self._manifest = objects.object_manifest()

    @property
    def capabilities(self) -> frozenset[str]:
        return frozenset(self.target.driver_info.capabilities)

    # calls --------------------------------------------------------------

    def call(self, operation: str, /, **kwargs: Any) -> Any:
        """Call ``operation`` and check the rules every call shares."""
        op = api.OPERATIONS[operation]
        try:
            result = self.target.call(operation, **kwargs)
        except exc.InternalError as error:
            raise ContractViolation(
                operation, "errors-from-contract-set", f"raised an error outside the contract: {error}"
            ) from error
        except exc.VirtError as error:
            allowed = op.all_errors
            if exc.wire_class(error) not in allowed and not isinstance(error, allowed):
                raise ContractViolation(
                    operation,
                    "errors-declared-by-operation",
                    f"raised {type(error).__name__} ({error}); the spec allows "
                    f"{', '.join(cls.__name__ for cls in allowed)}",
                ) from error
            raise
        except ContractViolation:
            raise
        except Exception as error:
            raise ContractViolation(
                operation, "answers-over-the-contract", f"call failed with {type(error).__name__}: {error}"
            ) from error
        expected = op.result
        if expected is None and result is not None:
            raise ContractViolation(
                operation, "result-type", f"returned {type(result).__name__}, the spec says None"
            )
        if expected is not None and not isinstance(result, expected):
            raise ContractViolation(
                operation,
                "result-type",
                f"returned {type(result).__name__}, the spec says {expected.__name__}",
            )
        check_object_versions(operation, result, self._manifest)
        return result

    def expect_error(
        self, error: type[exc.VirtError], operation: str, rule: str, /, **kwargs: Any
    ) -> exc.VirtError:
        """Call ``operation`` and require it to raise ``error``."""
        try:
            self.call(operation, **kwargs)
        except error as raised:
            return raised
        except exc.VirtError as raised:
            raise ContractViolation(
                operation, rule, f"raised {type(raised).__name__} ({raised}), expected {error.__name__}"
            ) from raised
        raise ContractViolation(operation, rule, f"succeeded, expected {error.__name__}")

    # instances ----------------------------------------------------------

    def new_instance(self, display_name: str | None = None, **flavor: int) -> objects.Instance:
        """An Instance object with a fresh uuid (not spawned, not tracked)."""
        instance_uuid = str(uuid.uuid4())
        return objects.Instance(
            uuid=instance_uuid,
            display_name=display_name or f"{self.config.name_prefix}-{instance_uuid[:8]}",
            project_id="contract-kit",
            user_id="contract-kit",
            flavor=objects.Flavor(
                flavorid="kit-tiny",
                name="kit.tiny",
                vcpus=flavor.get("vcpus", self.config.flavor_vcpus),
                memory_mb=flavor.get("memory_mb", self.config.flavor_memory_mb),
                root_gb=flavor.get("root_gb", self.config.flavor_root_gb),
            ),
            image=objects.ImageMeta(id=str(uuid.uuid4()), name="kit-image", disk_format="raw"),
            metadata={"created_by": "nova-contract-tests", "scenario": self.scenario_id},
        )

    def network_info(self, count: int = 1) -> objects.NetworkInfo:
        return objects.NetworkInfo(
            objects=[
                objects.VIF(id=str(uuid.uuid4()), address=f"fa:16:3e:00:00:{index:02x}", network_id="kit-net")
                for index in range(count)
            ]
        )

    def spawn(self, instance: objects.Instance | None = None, vifs: int = 1) -> objects.Instance:
        """Spawn a tracked instance (destroyed at cleanup whatever happens)."""
        instance = instance or self.new_instance()
        self.created.append(instance.uuid)
        info = self.call("spawn", instance=instance, network_info=self.network_info(vifs))
        if info.uuid != instance.uuid:
            raise ContractViolation("spawn", "result-describes-instance", f"returned info of {info.uuid}")
        return instance

    def power_state(self, instance: objects.Instance) -> str:
        return self.call("get_info", instance=instance).power_state

    def expect_state(self, instance: objects.Instance, expected: str, after: str) -> None:
        """Require ``expected`` from get_info and list_instances after ``after``."""
        actual = self.power_state(instance)
        if actual != expected:
            raise ContractViolation(
                after,
                "power-state-after-transition",
                f"get_info reports power state {actual!r} after {after}, expected {expected!r}",
            )
        listed = self.listed(instance)
        if listed is None:
            raise ContractViolation(after, "list-instances-complete", "instance missing from list_instances")
        if listed.power_state != expected:
            raise ContractViolation(
                after,
                "power-state-after-transition",
                f"list_instances reports power state {listed.power_state!r} after {after}, "
                f"expected {expected!r}",
            )

    def listed(self, instance: objects.Instance) -> objects.InstanceInfo | None:
        for info in self.call("list_instances").objects:
            if info.uuid == instance.uuid:
                return info
        return None

    def bring_to(self, instance: objects.Instance, state: str) -> None:
        """Move a running instance to ``state`` with the operation that does it (from the spec)."""
        op = operation_reaching(state)
        if op is not None:
            self.call(op.name, instance=instance, **op.example_arguments())
        self.expect_state(instance, state, after=op.name if op else "spawn")

    def arguments_for(
        self, op: api.Operation, instance: objects.Instance, **overrides: Any
    ) -> dict[str, Any]:
        """Valid arguments of ``op`` on ``instance``: the spec's example values,
        a fresh example of every object argument, then ``overrides``."""
        values: dict[str, Any] = dict(op.example_arguments())
        for arg in op.arguments:
            if arg.type is objects.Instance:
                values[arg.name] = instance
            elif arg.name not in values and arg.type in OBJECT_EXAMPLES:
                values[arg.name] = OBJECT_EXAMPLES[arg.type](self)
        values.update(overrides)
        return values

    # cleanup ------------------------------------------------------------

    def cleanup(self) -> list[str]:
        """Destroy everything this scenario created; report what remains."""
        problems: list[str] = []
        for instance_uuid in self.created:
            try:
                self.target.call("destroy", instance=self._stub(instance_uuid))
            except Exception as error:  # keep cleaning up the rest
                problems.append(
                    f"destroy of {instance_uuid} during cleanup raised {type(error).__name__}: {error}"
                )
        if self.created:
            try:
                remaining = {info.uuid for info in self.target.call("list_instances").objects}
            except Exception as error:
                problems.append(f"list_instances during cleanup raised {type(error).__name__}: {error}")
            else:
                leaked = [u for u in self.created if u in remaining]
                if leaked:
                    problems.append(
                        str(
                            ContractViolation(
                                "destroy",
                                "destroy-removes-instance",
                                f"instances still listed after destroy succeeded: {', '.join(leaked)}",
                            )
                        )
                    )
        return problems

    def _stub(self, instance_uuid: str) -> objects.Instance:
        stub = self.new_instance()
        stub.uuid = instance_uuid
        return stub

    def unknown_instance(self) -> objects.Instance:
        """An instance that was never spawned."""
        return self.new_instance(display_name=f"{self.config.name_prefix}-never-spawned")
