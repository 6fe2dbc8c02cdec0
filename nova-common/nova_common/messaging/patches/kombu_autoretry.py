"""kombu's ``Connection.autoretry`` without a new class on every call.

Why this exists: ``kombu.Connection.autoretry`` defines its ``Revival`` class
inside the method, so every call builds a class object. oslo.messaging's
rabbit driver wraps every publish and every consume poll in it
(``impl_rabbit.Connection.ensure``): measured here, 14% of the GIL time of a
stream of RPC casts over the embedded broker went to building those classes
(kombu 5.7). :func:`install` puts one module-level class in its place; what
it does on a call, a channel error and a reconnection is kombu's, line for
line. Applied by :func:`nova_common.messaging.setup` when ``[messaging]
kombu_class_free_autoretry`` is on (see :mod:`nova_common.messaging.patches`).
"""

from __future__ import annotations

from typing import Any

import kombu


class _Revival:
    """kombu's ``Revival``, made once: a callable that applies ``fun`` to the
    current channel and takes the new one when ``ensure`` revives it."""

    def __init__(
        self, connection: kombu.Connection, fun: Any, channel: Any, ensure_options: dict[str, Any]
    ) -> None:
        self.connection = connection
        self.fun = fun
        self.channel = channel
        self.ensure_options = ensure_options
        # ensure() names its wrapper after these.
        self.__name__ = getattr(fun, "__name__", None)
        self.__module__ = getattr(fun, "__module__", None)
        self.__doc__ = getattr(fun, "__doc__", None)

    def revive(self, channel: Any) -> None:
        self.channel = channel

    def __call__(self, *args: Any, **kwargs: Any) -> tuple[Any, Any]:
        if self.channel is None:
            # Apply the operation's retry policy before default_channel
            # can retry using only the connection's transport options.
            conn_opts = self.connection._extract_failover_opts()
            conn_opts.update(
                {
                    key: self.ensure_options[key]
                    for key in ("errback", "max_retries", "interval_start", "interval_step", "interval_max")
                    if key in self.ensure_options
                }
            )
            self.connection._ensure_connection(**conn_opts)
            # default_channel reuses the connection established above.
            self.revive(self.connection.default_channel)
        return self.fun(*args, channel=self.channel, **kwargs), self.channel


def autoretry(self: kombu.Connection, fun: Any, channel: Any = None, **ensure_options: Any) -> Any:
    """``kombu.Connection.autoretry``: see kombu's documentation."""
    revive = _Revival(self, fun, channel, ensure_options)
    return self.ensure(revive, revive, **ensure_options)


autoretry._class_free = True  # type: ignore[attr-defined]


def install() -> None:
    """Replace ``kombu.Connection.autoretry``. Idempotent."""
    if not getattr(kombu.Connection.autoretry, "_class_free", False):
        autoretry.__wrapped__ = kombu.Connection.autoretry  # type: ignore[attr-defined]  # for its digest
        kombu.Connection.autoretry = autoretry
