"""oslo.messaging for nova-common: the one home of its transports, RPC servers,
serializer, the embedded broker and every patch of a third-party library.

Importing any of it changes nothing outside it. A process starts messaging
with two explicit calls:

1. :func:`init_process`, first, before anything imports oslo.messaging:
   oslo.service's threading backend, eventlet's deprecation warning hidden
   (:mod:`~nova_common.messaging.process`).
2. :func:`setup` once its configuration is parsed: applies the patches of
   kombu and oslo.messaging that ``[messaging]`` enables. All are off by
   default; ``role="conductor"`` (``nova-common conductor``, ``nova-common
   serve``) turns on those measured to be needed there (:mod:`~nova_common.messaging.patches`).

Modules: :mod:`~nova_common.messaging.conf` (options),
:mod:`~nova_common.messaging.transport` (``get_transport``, the default
``kombu+memory:////``), :mod:`~nova_common.messaging.server`
(``get_rpc_server``), :mod:`~nova_common.messaging.serializer`
(``ObjectSerializer``), :mod:`~nova_common.messaging.embedded_broker`
(kombu's in-process broker, event-driven).

This module imports only :mod:`~nova_common.messaging.process`, so that a
process can import it before oslo.messaging.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nova_common.messaging.process import init_process

if TYPE_CHECKING:
    from oslo_config import cfg

__all__ = ["init_process", "setup"]


def setup(conf: cfg.ConfigOpts, role: str = "service") -> list[str]:
    """Apply the patches ``conf``'s ``[messaging]`` options enable, for a
    process of ``role`` (``"service"``, any process but the conductor: none by
    default; ``"conductor"``, a process running the conductor: those measured
    there). Calls :func:`init_process` too. Returns the names of the patches
    in effect; a patch written for other library versions than the installed
    ones is skipped with a warning.
    """
    init_process()
    # Imported here: oslo.messaging must come after init_process().
    from nova_common.messaging import patches

    return patches.setup(conf, role)
