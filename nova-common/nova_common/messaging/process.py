"""What every process of ours does first, before it imports oslo.messaging.

Importing oslo.messaging picks oslo.service's backend (``oslo_messaging.server``
imports ``oslo_service.service``, which loads the selected backend, eventlet
unless one was chosen) and imports eventlet (through futurist and that
backend), which warns of its own deprecation on stderr. We run on native
threads only: :func:`init_process` chooses oslo.service's threading backend
and hides that warning. It is process-wide, so it is a call a process makes,
never an effect of an import. Console scripts call it before they import
anything that imports oslo.messaging (which is also why their modules import
the rest lazily); the test suites' conftests call it first.

This module imports only the standard library and ``oslo_service.backend``
(which loads no backend).
"""

from __future__ import annotations

import logging
import sys
import warnings

from oslo_service import backend as service_backend

LOG = logging.getLogger(__name__)

#: eventlet stays installed as oslo.service's dependency and futurist imports
#: it, but nothing here monkey-patches or uses it: its warning is noise.
EVENTLET_WARNING = r"\s*Eventlet is deprecated"


def init_process() -> bool:
    """Select oslo.service's threading backend and hide eventlet's deprecation
    warning. Idempotent. Returns whether the threading backend is in effect.

    When something selected the eventlet backend first (it imported
    oslo.messaging before this call), logs a warning and carries on: nothing
    here uses oslo.service's backend (oslo.messaging's servers run on the
    threading executor either way), but the process's start-up imports need
    reordering. Library code calls this too, for processes that did not.
    """
    if not any(
        action == "ignore" and getattr(message, "pattern", None) == EVENTLET_WARNING
        for action, message, *_ in warnings.filters
    ):
        warnings.filterwarnings("ignore", message=EVENTLET_WARNING)
    try:
        service_backend.init_backend(service_backend.BackendType.THREADING)
    except service_backend.exceptions.BackendAlreadySelected:
        global _warned
        if not _warned:
            _warned = True
            LOG.warning(
                "oslo.service's %s backend was selected before nova_common.messaging.init_process()%s; "
                "this process's entry point should call init_process() before importing it",
                service_backend.get_backend_type().value,
                " (oslo.messaging was imported first)" if "oslo_messaging" in sys.modules else "",
            )
        return False
    return True


_warned = False


def initialized() -> bool:
    """Whether this process runs on oslo.service's threading backend."""
    return service_backend.get_backend_type() is service_backend.BackendType.THREADING
