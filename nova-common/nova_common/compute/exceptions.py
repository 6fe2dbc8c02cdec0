"""Errors the conductor API raises to its callers (the Python API, the REST API).

Like the virt errors they take keyword arguments only, so oslo.messaging can
rebuild them on the caller's side from ``(message, **kwargs)``; the core's
transport lists this module in ``allowed_remote_exmods``. Every error that
concerns one input names it in ``field``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from nova_common.virt import exceptions as virt_exc


class CoreError(Exception):
    """Base of every conductor API error. ``code`` is stable."""

    code: ClassVar[str] = "core_error"
    msg_fmt: ClassVar[str] = "compute core error"

    def __init__(self, message: str | None = None, **kwargs: Any) -> None:
        self.kwargs = kwargs
        if message is None:
            try:
                message = self.msg_fmt % kwargs
            except (KeyError, TypeError):
                message = f"{self.msg_fmt} {kwargs!r}"
        self.message = message
        # Not super(): a class deriving from a virt error too must keep our kwargs.
        Exception.__init__(self, message)

    def __str__(self) -> str:
        return self.message


class NotFound(CoreError):
    code = "not_found"
    msg_fmt = "%(field)s %(value)s could not be found."


class Invalid(CoreError):
    """A bad argument: ``field`` names it, ``value`` repeats it."""

    code = "invalid"
    msg_fmt = "Invalid %(field)s %(value)r: %(reason)s"


class Conflict(CoreError):
    """The request is valid but not now (state, host down, capability)."""

    code = "conflict"
    msg_fmt = "%(reason)s"


class InstanceInvalidState(Conflict):
    code = "instance_invalid_state"
    msg_fmt = (
        "Cannot %(action)s instance %(instance_uuid)s while vm_state is %(vm_state)s "
        "and task_state is %(task_state)s."
    )


class HostDown(Conflict):
    code = "host_down"
    msg_fmt = "Compute service of host %(host)s is down (last heartbeat %(last_seen)s); cannot %(action)s."


class OperationNotSupported(Conflict, virt_exc.NotSupported):
    """The host does not advertise the capability an operation needs."""

    code = "operation_not_supported"
    msg_fmt = "Host %(host)s does not support %(action)s (needs capability %(capability)s)."


class NoValidHost(CoreError):
    code = "no_valid_host"
    msg_fmt = "No valid host was found: %(reason)s"


class OperationFailed(CoreError):
    """An accepted operation failed on the compute host (see the instance's faults)."""

    code = "operation_failed"
    msg_fmt = "%(action)s of instance %(instance_uuid)s failed: %(reason)s"


class Timeout(CoreError):
    code = "timeout"
    msg_fmt = "Waited %(timeout)ss for %(what)s"


CORE_EXCEPTIONS: dict[str, type[CoreError]] = {
    cls.code: cls
    for cls in (
        NotFound,
        Invalid,
        Conflict,
        InstanceInvalidState,
        HostDown,
        OperationNotSupported,
        NoValidHost,
        OperationFailed,
        Timeout,
    )
}


def plain(error: CoreError) -> CoreError:
    """The plain class of an error oslo.messaging rebuilt as ``<Class>_Remote``."""
    for cls in type(error).__mro__:
        if cls in CORE_EXCEPTIONS.values():
            if type(error) is cls:
                return error
            return cls(error.message, **error.kwargs)
    return error
