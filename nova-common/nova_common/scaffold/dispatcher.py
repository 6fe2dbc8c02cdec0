"""Runs contract operations on a driver with the contract's guarantees.

Used by the RPC endpoint and, without any messaging, by the contract kit's
in-process mode, so both see exactly the same behaviour:

* an operation whose capability the driver does not advertise answers
  NotSupported without calling the driver;
* arguments are checked against the spec (unknown, missing or mistyped ones,
  and values outside an argument's declared domain, are InvalidRequest
  naming the argument);
* operations on one instance run one at a time, in arrival order;
* the result must be what the spec says, else InternalError;
* a contract error passes through; anything else becomes InternalError, with
  the traceback logged here under a reference the caller sees.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from oslo_log import log as logging

from nova_common.virt import api
from nova_common.virt import exceptions as exc
from nova_common.virt.driver_info import served_version

LOG = logging.getLogger(__name__)


class InstanceLocks:
    """One lock per instance uuid, dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, list[Any]] = {}  # uuid -> [lock, users]

    @contextmanager
    def hold(self, instance_uuid: str) -> Iterator[None]:
        with self._guard:
            entry = self._locks.setdefault(instance_uuid, [threading.Lock(), 0])
            entry[1] += 1
        try:
            with entry[0]:
                yield
        finally:
            with self._guard:
                entry[1] -= 1
                if entry[1] == 0:
                    del self._locks[instance_uuid]

    def __len__(self) -> int:
        return len(self._locks)


#: Argument checking is part of the spec (re-exported for existing callers).
check_arguments = api.check_arguments


class DriverDispatcher:
    """Calls operations on one driver instance under the contract's rules."""

    def __init__(self, driver: api.ComputeDriver) -> None:
        self.driver = driver
        self.served_version = served_version(driver)
        # Decided once: versions are not parsed again on every call.
        served = api.parse_version(self.served_version)
        self._newer: dict[str, str] = {
            name: op.added_in
            for name, op in api.OPERATIONS.items()
            if api.parse_version(op.added_in) > served
        }
        self.locks = InstanceLocks()
        self.hypervisor_down_reason: str | None = None

    def dispatch(self, operation: str, kwargs: dict[str, Any], request_id: str | None = None) -> Any:
        op = api.OPERATIONS.get(operation)
        if op is None:
            raise exc.InvalidRequest(field="operation", value=operation, reason="not in the virt API")
        if operation in self._newer:
            raise exc.NotSupported(
                operation=operation,
                reason=f"this compute service serves virt API up to {self.served_version}; "
                f"{operation} needs {op.added_in}",
            )
        if op.capability is not None and op.capability not in self.driver.capabilities():
            raise exc.NotSupported(
                operation=operation,
                reason=f"the driver does not advertise the {op.capability!r} capability",
            )
        check_arguments(op, kwargs)
        if self.hypervisor_down_reason is not None and op.needs_hypervisor:
            raise exc.HypervisorUnavailable(reason=self.hypervisor_down_reason)
        instance_arg = op.instance_argument
        if instance_arg is None:
            return self._invoke(op, kwargs, request_id)
        with self.locks.hold(kwargs[instance_arg].uuid):
            return self._invoke(op, kwargs, request_id)

    def _invoke(self, op: api.Operation, kwargs: dict[str, Any], request_id: str | None) -> Any:
        try:
            result = getattr(self.driver, op.name)(**kwargs)
        except exc.VirtError:
            raise
        except Exception as error:
            reference = request_id or "ref-" + uuid.uuid4().hex
            LOG.exception(
                "Driver %s raised %s from %s (%s); callers see InternalError",
                self.driver.name,
                type(error).__name__,
                op.name,
                reference,
            )
            raise exc.InternalError(
                operation=op.name, error_type=type(error).__name__, reference=reference
            ) from error
        self._check_result(op, result, request_id)
        return result

    def _check_result(self, op: api.Operation, result: Any, request_id: str | None) -> None:
        if op.result is None:
            ok = result is None
        else:
            ok = isinstance(result, op.result)
        if not ok:
            reference = request_id or "ref-" + uuid.uuid4().hex
            expected = op.result.__name__ if op.result else "None"
            LOG.error(
                "Driver %s returned %s from %s, the contract says %s (%s)",
                self.driver.name,
                type(result).__name__,
                op.name,
                expected,
                reference,
            )
            raise exc.InternalError(
                operation=op.name,
                error_type=f"wrong result type {type(result).__name__} (expected {expected})",
                reference=reference,
            )
