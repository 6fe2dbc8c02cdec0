"""The errors that may cross the core/driver boundary.

This set is fixed and documented: a driver raises only these (the scaffold
turns anything else into :class:`InternalError` and logs the traceback on the
service side), and the core can handle each by its stable ``code``. Every
class takes keyword arguments only, so it can be rebuilt on the other side of
the wire from ``(message, **kwargs)``; oslo.messaging does exactly that for
modules listed in ``allowed_remote_exmods``.

Adding an exception is an API change: it needs a minor virt API version bump
and a line in :data:`nova_common.virt.api.VERSION_HISTORY`.
"""

from __future__ import annotations

from typing import Any, ClassVar


class VirtError(Exception):
    """Base of every contract error. ``code`` never changes once released."""

    code: ClassVar[str] = "virt_error"
    msg_fmt: ClassVar[str] = "virt driver error"

    def __init__(self, message: str | None = None, **kwargs: Any) -> None:
        self.kwargs = kwargs
        if message is None:
            try:
                message = self.msg_fmt % kwargs
            except (KeyError, TypeError):
                message = f"{self.msg_fmt} {kwargs!r}"
        self.message = message
        super().__init__(message)

    def __str__(self) -> str:
        return self.message


class InstanceNotFound(VirtError):
    """The hypervisor has no instance with this uuid (owned by this driver)."""

    code = "instance_not_found"
    msg_fmt = "Instance %(instance_uuid)s could not be found."


class InstanceExists(VirtError):
    """spawn was asked for a uuid the hypervisor already has."""

    code = "instance_exists"
    msg_fmt = "Instance %(instance_uuid)s already exists."


class NotSupported(VirtError):
    """The driver does not advertise the capability this operation needs,
    or the host's virt API version predates the operation."""

    code = "not_supported"
    msg_fmt = "Operation %(operation)s is not supported: %(reason)s"


class InvalidRequest(VirtError):
    """An argument is wrong; ``field`` names it and ``value`` repeats it."""

    code = "invalid_request"
    msg_fmt = "Invalid %(field)s %(value)r: %(reason)s"


class InvalidInstanceState(VirtError):
    """The operation is not allowed from the instance's current power state."""

    code = "invalid_instance_state"
    msg_fmt = "Cannot %(operation)s instance %(instance_uuid)s while it is %(power_state)s."


class HypervisorUnavailable(VirtError):
    """The driver cannot reach its hypervisor right now; retry later."""

    code = "hypervisor_unavailable"
    msg_fmt = "Hypervisor unavailable: %(reason)s"


class InsufficientResources(VirtError):
    """The host cannot fit the request (the scheduler's view was stale)."""

    code = "insufficient_resources"
    msg_fmt = "Not enough %(resource)s: requested %(requested)s, available %(available)s."


class OperationFailed(VirtError):
    """The hypervisor tried and failed; ``reason`` says what it reported."""

    code = "operation_failed"
    msg_fmt = "%(operation)s failed for instance %(instance_uuid)s: %(reason)s"


class InternalError(VirtError):
    """The driver raised something outside this set. The service logged the
    traceback under ``reference``; the caller sees only the type name."""

    code = "internal_error"
    msg_fmt = (
        "Internal error in %(operation)s: the driver raised %(error_type)s "
        "(traceback logged by the compute service as %(reference)s)"
    )


#: Every exception that may cross the wire, by stable code.
WIRE_EXCEPTIONS: dict[str, type[VirtError]] = {
    cls.code: cls
    for cls in (
        InstanceNotFound,
        InstanceExists,
        NotSupported,
        InvalidRequest,
        InvalidInstanceState,
        HypervisorUnavailable,
        InsufficientResources,
        OperationFailed,
        InternalError,
    )
}


def wire_class(exc: BaseException) -> type[VirtError] | None:
    """The contract class of ``exc`` (also for oslo.messaging's ``*_Remote``
    subclasses rebuilt on the client side), or None when it is not one."""
    for cls in type(exc).__mro__:
        if cls in WIRE_EXCEPTIONS.values():
            return cls
    return None
