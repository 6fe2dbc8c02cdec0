"""The RPC endpoint a compute service serves: one method per spec operation.

Methods are generated from :data:`nova_common.virt.api.OPERATIONS` and do
nothing but hand over to :class:`~nova_common.scaffold.dispatcher.DriverDispatcher`.
Contract errors are marked expected, so oslo.messaging does not log their
tracebacks; the dispatcher already logged anything unexpected.
"""

from __future__ import annotations

from typing import Any

import oslo_messaging

from nova_common.scaffold.dispatcher import DriverDispatcher
from nova_common.virt import api
from nova_common.virt import exceptions as exc


class VirtEndpoint:
    """Serves virt API ``1.x`` up to :data:`~nova_common.virt.api.VIRT_API_VERSION`."""

    target = oslo_messaging.Target(version=api.VIRT_API_VERSION)

    def __init__(self, dispatcher: DriverDispatcher) -> None:
        self.dispatcher = dispatcher


def _make_method(op: api.Operation) -> Any:
    @oslo_messaging.expected_exceptions(exc.VirtError)
    def method(self: VirtEndpoint, ctxt: dict[str, Any], **kwargs: Any) -> Any:
        request_id = ctxt.get("request_id") if isinstance(ctxt, dict) else None
        return self.dispatcher.dispatch(op.name, kwargs, request_id)

    method.__name__ = op.name
    method.__doc__ = f"Serves :meth:`nova_common.virt.api.ComputeDriver.{op.name}`."
    return method


for _op in api.OPERATIONS.values():
    setattr(VirtEndpoint, _op.name, _make_method(_op))
