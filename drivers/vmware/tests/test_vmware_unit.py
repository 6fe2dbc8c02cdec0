"""Unit tests without vcsim: fault translation, the session's retry logic, option masking."""

import logging

import pytest
from conftest import make_conf
from pyVmomi import vim, vmodl

from nova_common.virt import exceptions as exc
from nova_driver_vmware import conf as vmware_conf
from nova_driver_vmware import session as session_mod
from nova_driver_vmware.driver import VMwareDriver, translate

UUID = "6f1c8b9e-4a4e-4c1e-9d55-5b1f3e2b7a10"
CONF = "[vmware]\nhost_ip = 127.0.0.1\nhost_port = 1\nhost_username = u\nhost_password = hunter2-secret\n"


@pytest.mark.parametrize(
    "fault, operation, uuid, expected",
    [
        (vmodl.fault.ManagedObjectNotFound(msg="gone"), "power_on", UUID, exc.InstanceNotFound),
        (vim.fault.DuplicateName(msg="dup"), "spawn", UUID, exc.InstanceExists),
        (vim.fault.InsufficientResourcesFault(msg="full"), "spawn", UUID, exc.InsufficientResources),
        (vim.fault.InvalidPowerState(msg="off"), "suspend", UUID, exc.InvalidInstanceState),
        (vim.fault.FileFault(msg="disk"), "snapshot", UUID, exc.OperationFailed),
        (vim.fault.FileFault(msg="disk"), "spawn", UUID, exc.OperationFailed),
        # reboot declares no OperationFailed: an undeclared fault is an InternalError
        (vim.fault.FileFault(msg="disk"), "reboot", UUID, exc.InternalError),
        # list_instances names no instance: a lost object is not InstanceNotFound
        (vmodl.fault.ManagedObjectNotFound(msg="view"), "list_instances", "-", exc.InternalError),
        (vim.fault.DuplicateName(msg="dup"), "get_host_resources", "-", exc.InternalError),
    ],
)
def test_faults_map_to_declared_contract_errors(fault, operation, uuid, expected, caplog):
    caplog.set_level(logging.WARNING)
    error = translate(fault, operation, uuid)
    assert type(error) is expected
    from nova_common.virt import api

    assert isinstance(error, api.OPERATIONS[operation].all_errors)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert type(fault).__name__ in logged  # the original is logged
    if expected is exc.InternalError:
        assert error.kwargs["reference"] in logged  # ... under the reference the caller sees


@pytest.mark.parametrize(
    "mountpoint, unit", [("/dev/sdb", 1), ("sdc", 2), ("/dev/vdg", 6), ("/dev/sdh", 8), ("/dev/sdo", 15)]
)
def test_mountpoints_to_scsi_units_skip_the_controller(mountpoint, unit):
    assert VMwareDriver._unit(mountpoint) == unit


@pytest.mark.parametrize("mountpoint", ["/dev/sda", "/dev/sdp", "/dev/sdz", "/dev/hdb", "", "/dev/sdb1"])
def test_bad_mountpoints_are_invalid_requests(mountpoint):
    with pytest.raises(exc.InvalidRequest, match="mountpoint"):
        VMwareDriver._unit(mountpoint)


def test_options_description_masks_the_password():
    conf = make_conf(CONF)
    text = vmware_conf.describe(conf)
    assert "host_password=***" in text and "hunter2-secret" not in text
    assert "host_ip='127.0.0.1'" in text


class FakeStub:
    def InvokeMethod(self, *args, **kwargs):
        return None

    def InvokeAccessor(self, *args, **kwargs):
        return None


class FakeSI:
    def __init__(self):
        self._stub = FakeStub()


def _session(monkeypatch, connect):
    monkeypatch.setattr(session_mod, "SmartConnect", connect)
    conf = make_conf(CONF)
    conf.set_override("reconnect_interval", 0, group="vmware")
    return session_mod.VCenterSession(conf)


def test_not_authenticated_logs_in_again_and_retries(monkeypatch):
    made = []
    session = _session(monkeypatch, lambda **kw: made.append(FakeSI()) or made[-1])
    calls = []

    def call(si):
        calls.append(si)
        if len(calls) == 1:
            raise vim.fault.NotAuthenticated()
        return "ok"

    assert session.invoke(call, "test") == "ok"
    assert session.logins == 2 and calls == made


def test_connection_errors_become_hypervisor_unavailable_after_the_retries(monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    session = _session(monkeypatch, lambda **kw: FakeSI())
    attempts = []

    def call(si):
        attempts.append(si)
        raise ConnectionResetError("peer reset")

    with pytest.raises(exc.HypervisorUnavailable, match="connection failed during test"):
        session.invoke(call, "test")
    assert len(attempts) == session.conf.vmware.api_retry_count + 1
    assert "hunter2-secret" not in caplog.text


def test_unreachable_login_is_hypervisor_unavailable_without_the_password(monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)

    def refuse(**kwargs):
        assert kwargs["pwd"] == "hunter2-secret"  # handed to pyvmomi, and nowhere else
        raise ConnectionRefusedError(111, "Connection refused")

    session = _session(monkeypatch, refuse)
    with pytest.raises(exc.HypervisorUnavailable, match="cannot be reached") as raised:
        session.invoke(lambda si: None, "test")
    assert "hunter2-secret" not in str(raised.value) and "hunter2-secret" not in caplog.text


def test_login_attempts_are_spaced_by_reconnect_interval(monkeypatch):
    tries = []

    def refuse(**kwargs):
        tries.append(1)
        raise ConnectionRefusedError(111, "Connection refused")

    session = _session(monkeypatch, refuse)
    session.conf.set_override("reconnect_interval", 60, group="vmware")
    for _ in range(5):
        with pytest.raises(exc.HypervisorUnavailable):
            session.invoke(lambda si: None, "test")
    assert len(tries) == 1  # the others answered at once, without hammering vCenter


def test_invalid_login_is_hypervisor_unavailable(monkeypatch):
    def refuse(**kwargs):
        raise vim.fault.InvalidLogin(msg="Cannot complete login due to an incorrect user name or password.")

    session = _session(monkeypatch, refuse)
    with pytest.raises(exc.HypervisorUnavailable, match="refused the login of 'u'"):
        session.invoke(lambda si: None, "test")


def test_round_trips_are_counted_on_the_stub(monkeypatch):
    si = FakeSI()
    session = _session(monkeypatch, lambda **kw: si)
    session.service_instance()
    si._stub.InvokeMethod()
    si._stub.InvokeAccessor()
    assert session.round_trips == 2
