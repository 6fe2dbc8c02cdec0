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


def test_virt_api_1_0_operations():
    assert list(api.OPERATIONS) == ISSUE_1_0_OPERATIONS


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
