"""kombu's cached properties, read without a process-wide lock.

Why this exists: ``kombu.utils.objects.cached_property`` takes one RLock per
property, shared by every instance of the class, on every read, even of a
value cached long ago (the lock is there for its ``__set__``/``__delete__``;
kombu 5.3 and later). Under native threads with one kombu connection per
compute service, every publish and every consume reads several of them
(``Connection.connection_errors``, ``recoverable_connection_errors``, ...), so
all the services of a process queue on the same few locks. Seen here: with
1,000 compute services in one process, 630 of ~2,900 threads waited in
``cached_property.__get__`` while creates timed out (tools/bench/bench_core.py).
Python 3.12 dropped the same class-wide lock from ``functools.cached_property``
for the same reason (cpython gh-87634).

:func:`install` lets a read of an already cached value skip the lock;
computing, setting and deleting a value keep kombu's locking unchanged.
Applied by :func:`nova_common.messaging.setup` when ``[messaging]
kombu_lock_free_reads`` is on (see :mod:`nova_common.messaging.patches`).
"""

from __future__ import annotations

from typing import Any

from kombu.utils import objects

_MISSING = object()


def install() -> None:
    """Patch ``kombu.utils.objects.cached_property.__get__``. Idempotent."""
    cls = objects.cached_property
    if getattr(cls.__get__, "_lock_free_reads", False):
        return
    locked_get = cls.__get__

    def __get__(self: Any, instance: Any, owner: Any = None) -> Any:
        if instance is not None:
            # A dict read is atomic; a value present was stored whole.
            value = getattr(instance, "__dict__", {}).get(self.attrname, _MISSING)
            if value is not _MISSING:
                return value
        return locked_get(self, instance, owner)

    __get__._lock_free_reads = True  # type: ignore[attr-defined]
    __get__.__wrapped__ = locked_get  # type: ignore[attr-defined]  # the upstream code, for its digest
    cls.__get__ = __get__
