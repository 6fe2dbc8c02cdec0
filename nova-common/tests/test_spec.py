"""The spec module is complete and everything derived from it matches it."""

import re

import pytest

from nova_common.scaffold.endpoint import VirtEndpoint
from nova_common.virt import api
from nova_common.virt import exceptions as exc
from nova_common.virt.rpcapi import HostClient

ISSUE_1_0_OPERATIONS = [
    "get_driver_info",
    "get_host_resources",
    "list_instances",
    "spawn",
    "destroy",
    "reboot",
    "power_off",
    "power_on",
    "pause",
    "unpause",
    "suspend",
    "resume",
    "get_info",
    "get_console_output",
    "snapshot",
    "attach_volume",
    "detach_volume",
]


def test_virt_api_operations():
    assert list(api.OPERATIONS) == ISSUE_1_0_OPERATIONS + ["get_diagnostics"]
    assert api.operations_added_in("1.1") == ["get_diagnostics"]


def test_operations_after_1_0_are_gated_so_older_drivers_need_not_implement_them():
    for op in api.OPERATIONS.values():
        if op.added_in != "1.0":
            assert op.capability is not None, f"{op.name} (added in {op.added_in}) must be gated"
            assert op.name not in api.ComputeDriver.__abstractmethods__


@pytest.mark.parametrize("name", list(api.OPERATIONS))
def test_every_operation_is_documented_as_a_contract(name):
    op = api.OPERATIONS[name]
    for section in ("Preconditions:", "Result:", "Errors:", "Idempotent:"):
        assert section in op.doc, f"{name} docstring lacks {section!r}"
    assert op.added_in in api.VERSION_HISTORY
    assert re.fullmatch(r"\d+\.\d+", op.added_in)
    for error in op.raises:
        assert error in exc.WIRE_EXCEPTIONS.values(), f"{name} declares {error}, not a wire exception"
        assert error.__name__ in op.doc, f"{name} raises {error.__name__} but its docstring does not say when"
    if op.capability is not None:
        assert op.capability in api.Capability.ALL
    if op.transition is not None:
        assert op.instance_argument is not None


@pytest.mark.parametrize("name", list(api.OPERATIONS))
def test_client_and_endpoint_are_derived_from_spec(name):
    assert callable(getattr(HostClient, name))
    assert callable(getattr(VirtEndpoint, name))
    assert api.OPERATIONS[name].doc in getattr(HostClient, name).__doc__


def test_mandatory_operations_are_abstract():
    mandatory = {name for name, op in api.OPERATIONS.items() if op.mandatory}
    assert api.ComputeDriver.__abstractmethods__ == mandatory - {"get_driver_info"}


def test_every_capability_gates_something():
    for capability in api.Capability.ALL:
        assert api.operations_for(capability), capability


def test_wire_exception_codes_are_stable_and_unique():
    codes = [cls.code for cls in exc.WIRE_EXCEPTIONS.values()]
    assert len(codes) == len(set(codes))
    assert exc.WIRE_EXCEPTIONS["instance_not_found"] is exc.InstanceNotFound


def test_exceptions_rebuild_from_message_and_kwargs():
    original = exc.InstanceNotFound(instance_uuid="u1")
    rebuilt = exc.InstanceNotFound(original.message, **original.kwargs)
    assert str(rebuilt) == str(original) == "Instance u1 could not be found."


def test_parse_version_names_the_value():
    assert api.parse_version("1.12") == (1, 12)
    with pytest.raises(ValueError, match="'one'"):
        api.parse_version("one")


# -- the spec is the only source --------------------------------------------------


def test_capability_list_is_derived_from_the_class():
    declared = {v for k, v in vars(api.Capability).items() if k.isupper() and isinstance(v, str)}
    assert api.Capability.ALL == declared
    gated = {op.capability for op in api.OPERATIONS.values() if op.capability}
    assert gated == declared


def test_version_history_covers_every_operation_and_the_newest_version():
    assert max(api.VERSION_HISTORY, key=api.parse_version) == api.VIRT_API_VERSION
    added = {op.added_in for op in api.OPERATIONS.values()}
    assert added <= set(api.VERSION_HISTORY)
    assert set(api.operations_added_in("1.0")) == set(ISSUE_1_0_OPERATIONS)


def test_released_object_versions_are_derived_from_the_fingerprints():
    assert set(api.RELEASED_OBJECT_VERSIONS) == set(api.RELEASED_OBJECTS)
    for version, manifest in api.RELEASED_OBJECTS.items():
        for name, entry in manifest.items():
            assert api.RELEASED_OBJECT_VERSIONS[version][name] == entry.split("-")[0]


@pytest.mark.parametrize("name", list(api.OPERATIONS))
def test_forbidden_states_raise_invalid_instance_state_as_declared(name):
    op = api.OPERATIONS[name]
    if op.transition is not None and op.transition.forbidden_from:
        assert exc.InvalidInstanceState in op.declared_errors
        assert "InvalidInstanceState" in op.doc, f"{name}: say when it raises InvalidInstanceState"
    elif op.transition is None or not op.transition.forbidden_from:
        assert exc.InvalidInstanceState not in op.declared_errors


@pytest.mark.parametrize("name", list(api.OPERATIONS))
def test_budgets_are_declared_below_the_rpc_timeout(name):
    op = api.OPERATIONS[name]
    assert 0 < op.time_budget < op.rpc_timeout


def test_idempotent_and_repeatable_are_separate_claims():
    reboot = api.OPERATIONS["reboot"]
    assert not reboot.idempotent and reboot.repeatable
    assert not api.OPERATIONS["spawn"].repeatable
    for op in api.OPERATIONS.values():
        if op.idempotent:
            assert op.repeatable, op.name


def test_argument_domains_are_machine_readable():
    reboot_type = {a.name: a for a in api.OPERATIONS["reboot"].arguments}["reboot_type"]
    assert reboot_type.violation("soft") is None and reboot_type.violation("warm")
    timeout = {a.name: a for a in api.OPERATIONS["power_off"].arguments}["timeout"]
    assert timeout.violation(0) is None and "must be >= 0" in timeout.violation(-1)
    for op in api.OPERATIONS.values():
        for arg in op.arguments:
            for constraint in arg.constraints:
                assert arg.violation(constraint.example()) is None, (op.name, arg.name)
                assert arg.violation(constraint.counterexample()), (op.name, arg.name)
        if any(arg.constraints for arg in op.arguments):
            assert exc.InvalidRequest in op.declared_errors


def test_core_action_table_follows_the_spec():
    from nova_common.compute.states import ACTIONS, POWER_TO_VM_STATE

    for action in ACTIONS.values():
        op = api.OPERATIONS[action.virt_operation]
        assert action.capability == op.capability
        if op.transition is not None and op.transition.to is not None:
            assert action.done_power_state == op.transition.to
            assert action.done_vm_state == POWER_TO_VM_STATE[op.transition.to], action.name


def test_time_budget_must_be_below_rpc_timeout():
    with pytest.raises(ValueError, match="time_budget: 60"):
        api.operation(added_in="1.0", idempotent=True, time_budget=60, rpc_timeout=60)


# -- what the base class does for every driver -------------------------------------


class _LibraryError(Exception):
    pass


def _driver_class():
    from memory_driver import MemoryDriver

    class Translating(MemoryDriver):
        def translate_error(self, error, operation, instance_uuid):
            if isinstance(error, _LibraryError):
                return exc.OperationFailed(
                    operation=operation, instance_uuid=instance_uuid, reason=str(error)
                )
            return None

        def pause(self, instance):
            if instance.display_name == "boom":
                raise _LibraryError("library says no")
            if instance.display_name == "other":
                raise KeyError("not a library error")
            if self.check_transition(instance, self.instances[instance.uuid]):
                self.instances[instance.uuid] = "paused"

    return Translating


def _instance(name="vm"):
    from common_test_helpers import make_instance

    instance = make_instance()
    instance.display_name = name
    return instance


def test_translate_error_gets_the_operation_from_the_method():
    driver = _driver_class()(conf=None)
    instance = _instance("boom")
    with pytest.raises(exc.OperationFailed) as caught:
        driver.pause(instance)
    assert caught.value.kwargs == {
        "operation": "pause",
        "instance_uuid": instance.uuid,
        "reason": "library says no",
    }
    with pytest.raises(KeyError):  # not translated: the scaffold makes it InternalError
        driver.pause(_instance("other"))


def test_check_transition_applies_the_running_operation():
    driver = _driver_class()(conf=None)
    instance = _instance()
    driver.instances[instance.uuid] = "running"
    driver.pause(instance)
    assert driver.instances[instance.uuid] == "paused"
    driver.pause(instance)  # idempotent: a no-op from paused
    driver.instances[instance.uuid] = "shutdown"
    with pytest.raises(exc.InvalidInstanceState) as caught:
        driver.pause(instance)
    assert caught.value.kwargs["operation"] == "pause"
    with pytest.raises(RuntimeError, match="no virt operation is running"):
        driver.check_transition(instance, "running")
