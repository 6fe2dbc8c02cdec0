"""The libvirt connection: opened lazily, reopened when lost, counted.

* libvirt's default event loop (``virEventRegisterDefaultImpl``, registered
  once per process before any connection opens) runs
  ``virEventRunDefaultImpl`` in its own daemon thread; lifecycle events and
  close callbacks are delivered there.
* :class:`LibvirtConnection` holds one ``virConnect``. A close callback, or
  a libvirt error that means the connection is gone (see
  :data:`CONNECTION_ERRORS`), drops it; the next call reopens it. While it
  cannot be reopened every call raises HypervisorUnavailable, and the
  compute service keeps running.
* :class:`CallCounter` counts every libvirt call that may cross to the
  hypervisor (calls on the connection and on the domain objects it hands
  out), for the tests and the benchmark. Accessors libvirt answers from the
  client-side object (``name()``, ``UUIDString()``, ...) are not counted.
* :func:`translate` maps a ``libvirtError`` to a contract error and logs
  the original.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import libvirt
from oslo_log import log as logging

from nova_common.virt import exceptions as exc

LOG = logging.getLogger(__name__)


def _codes(*names: str) -> frozenset[int]:
    return frozenset(code for code in (getattr(libvirt, name, None) for name in names) if code is not None)


#: libvirt error codes that always mean the connection (not the operation) failed.
CONNECTION_ERRORS = _codes(
    "VIR_ERR_NO_CONNECT",
    "VIR_ERR_INVALID_CONN",
    "VIR_ERR_RPC",
    "VIR_ERR_AUTH_FAILED",
    "VIR_ERR_AUTH_UNAVAILABLE",
    "VIR_ERR_AUTH_CANCELLED",
)
#: Codes a lost connection produces, but also plain operation failures (the test driver answers
#: VIR_ERR_INTERNAL_ERROR for "domain not running"): the connection is asked (``isAlive``)
#: before it is dropped.
MAYBE_CONNECTION_ERRORS = _codes("VIR_ERR_SYSTEM_ERROR", "VIR_ERR_INTERNAL_ERROR")

#: Domain accessors answered from the client-side object, never a round trip.
LOCAL_DOMAIN_METHODS = frozenset({"name", "UUIDString", "UUID", "ID", "connect"})


# -- the event loop -------------------------------------------------------------

_event_loop_lock = threading.Lock()
_event_loop_thread: threading.Thread | None = None


def _run_event_loop() -> None:
    while True:
        try:
            libvirt.virEventRunDefaultImpl()
        except Exception:  # the loop must outlive any one callback
            LOG.exception("libvirt event loop iteration failed")
            time.sleep(0.1)


def _log_libvirt_error(_ctx: Any, error: Any) -> None:
    LOG.debug("libvirt: %s", error[2] if isinstance(error, (list, tuple)) and len(error) > 2 else error)


def ensure_event_loop() -> None:
    """Register libvirt's default event loop and run it in a daemon thread (once per process)."""
    global _event_loop_thread
    with _event_loop_lock:
        if _event_loop_thread is not None:
            return
        # libvirt prints every error to stderr by default; the driver logs what matters itself.
        libvirt.registerErrorHandler(_log_libvirt_error, None)
        libvirt.virEventRegisterDefaultImpl()
        _event_loop_thread = threading.Thread(target=_run_event_loop, name="libvirt-events", daemon=True)
        _event_loop_thread.start()


# -- call counting ----------------------------------------------------------------


class CallCounter:
    """Counts libvirt calls by method name (thread-safe). It sees every call
    that may reach the hypervisor, so it is also where the ``fail_next``
    test hook makes the hypervisor refuse one (:meth:`refuse_next`)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: collections.Counter[str] = collections.Counter()
        self._refusals: set[str] = set()

    def add(self, name: str) -> None:
        with self._lock:
            self.calls[name] += 1
            refused = name in self._refusals
            if refused:
                self._refusals.discard(name)
        if refused:
            raise refusal(name)

    def refuse_next(self, name: str) -> None:
        """Test hook: the next call of ``name`` (``virDomain.create``, ...)
        fails as a hypervisor refusal (VIR_ERR_OPERATION_FAILED) instead of reaching libvirt."""
        with self._lock:
            self._refusals.add(name)

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self.calls.values())

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()

    @contextmanager
    def measure(self) -> Iterator[collections.Counter[str]]:
        """``with counter.measure() as calls:`` -> the calls made inside the block."""
        with self._lock:
            before = collections.Counter(self.calls)
        delta: collections.Counter[str] = collections.Counter()
        try:
            yield delta
        finally:
            with self._lock:
                delta.update(self.calls - before)


class CountedObject:
    """A libvirt object (domain, storage pool) whose calls are counted. ``raw`` is the object."""

    __slots__ = ("raw", "_counter", "_prefix")

    def __init__(self, raw: Any, counter: CallCounter) -> None:
        self.raw = raw
        self._counter = counter
        self._prefix = type(raw).__name__

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.raw, name)
        if name in LOCAL_DOMAIN_METHODS or not callable(attr):
            return attr
        counter = self._counter
        label = f"{self._prefix}.{name}"

        def call(*args: Any, **kwargs: Any) -> Any:
            counter.add(label)
            return attr(*args, **kwargs)

        return call


#: A counted ``virDomain``.
CountedDomain = CountedObject

_COUNTED_TYPES = (libvirt.virDomain, libvirt.virStoragePool, libvirt.virDomainSnapshot)


def _wrap(result: Any, counter: CallCounter) -> Any:
    if isinstance(result, _COUNTED_TYPES):
        return CountedObject(result, counter)
    if isinstance(result, list) and result:
        first = result[0]
        if isinstance(first, _COUNTED_TYPES):
            return [CountedObject(d, counter) for d in result]
        if isinstance(first, tuple) and first and isinstance(first[0], libvirt.virDomain):
            return [(CountedObject(d, counter), *rest) for d, *rest in result]
    return result


class CountedConnection:
    """A ``virConnect`` whose calls (and its domains' calls) are counted."""

    def __init__(self, raw: libvirt.virConnect, counter: CallCounter) -> None:
        self.raw = raw
        self.counter = counter

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.raw, name)
        if not callable(attr):
            return attr
        counter = self.counter

        def call(*args: Any, **kwargs: Any) -> Any:
            counter.add(f"virConnect.{name}")
            return _wrap(attr(*args, **kwargs), counter)

        return call

    def close(self) -> int:
        """Close the underlying connection (tests use this to cut it)."""
        return self.raw.close()


def refusal(name: str) -> libvirt.libvirtError:
    """The libvirtError of a refused ``name`` call, as libvirt builds it."""
    error = libvirt.libvirtError(f"{name} refused (fail_next test hook)")
    message = f"operation failed: {name} refused (fail_next test hook)"
    error.err = (libvirt.VIR_ERR_OPERATION_FAILED, libvirt.VIR_FROM_NONE, message, 2, None, None, None, 0, 0)
    return error


# -- errors ------------------------------------------------------------------------


def error_code(error: BaseException) -> int | None:
    return error.get_error_code() if isinstance(error, libvirt.libvirtError) else None


def is_connection_error(error: BaseException) -> bool:
    return error_code(error) in CONNECTION_ERRORS


def translate(
    error: libvirt.libvirtError,
    operation: str,
    instance_uuid: str | None = None,
    power_state: str | None = None,
) -> exc.VirtError:
    """The contract error for a libvirtError; the original is logged."""
    code = error.get_error_code()
    LOG.warning(
        "libvirt error in %s (instance %s): code %s domain %s: %s",
        operation,
        instance_uuid,
        code,
        error.get_error_domain(),
        error.get_error_message(),
    )
    message = error.get_error_message() or str(error)
    if code in (libvirt.VIR_ERR_NO_DOMAIN,) and instance_uuid:
        return exc.InstanceNotFound(instance_uuid=instance_uuid)
    if code == libvirt.VIR_ERR_OPERATION_INVALID and instance_uuid:
        return exc.InvalidInstanceState(
            operation=operation, instance_uuid=instance_uuid, power_state=power_state or "unknown"
        )
    if code == libvirt.VIR_ERR_NO_SUPPORT:
        return exc.NotSupported(operation=operation, reason=f"the hypervisor does not support it: {message}")
    if code in CONNECTION_ERRORS:  # (MAYBE_CONNECTION_ERRORS get here only with the connection alive)
        return exc.HypervisorUnavailable(reason=f"libvirt connection lost: {message}")
    return exc.OperationFailed(operation=operation, instance_uuid=instance_uuid or "-", reason=message)


def _quietly(call: Callable[[], Any]) -> None:
    """Run a cleanup call on a connection that may already be dead."""
    try:
        call()
    except Exception as error:  # a dead connection fails in more ways than libvirtError
        LOG.debug("ignored while dropping a libvirt connection: %s", error)


# -- the connection ------------------------------------------------------------------


class LibvirtConnection:
    """One libvirt connection, reopened on demand after it is lost.

    ``on_open(conn)`` runs after every (re)open, to register event callbacks.
    """

    def __init__(
        self,
        uri: str,
        counter: CallCounter | None = None,
        on_open: Callable[[CountedConnection], None] | None = None,
        reconnect_interval: float = 1.0,
    ) -> None:
        self.uri = uri
        self.counter = counter or CallCounter()
        self._on_open = on_open
        self._reconnect_interval = reconnect_interval
        self._lock = threading.RLock()
        self._conn: CountedConnection | None = None
        self._last_attempt = 0.0
        self._last_error: str | None = None
        self.opened = 0  # how many times a connection was opened
        self.lost = 0  # how many times one was lost

    @property
    def current(self) -> CountedConnection | None:
        """The open connection, or None (no reconnect attempt)."""
        return self._conn

    def get(self) -> CountedConnection:
        """The open connection, reopening it when needed; HypervisorUnavailable when that fails."""
        conn = self._conn
        if conn is not None:
            return conn
        with self._lock:
            if self._conn is not None:
                return self._conn
            now = time.monotonic()
            if self.opened and now - self._last_attempt < self._reconnect_interval and self._last_error:
                raise exc.HypervisorUnavailable(reason=self._last_error)
            self._last_attempt = now
            ensure_event_loop()
            try:
                raw = libvirt.open(self.uri)
            except libvirt.libvirtError as error:
                self._last_error = f"cannot connect to {self.uri}: {error.get_error_message()}"
                LOG.warning("%s", self._last_error)
                self.opened = max(self.opened, 1)  # rate-limit retries from now on
                raise exc.HypervisorUnavailable(reason=self._last_error) from None
            conn = CountedConnection(raw, self.counter)
            try:
                raw.registerCloseCallback(self._closed, None)
            except libvirt.libvirtError as error:  # not every driver has one
                LOG.debug("no close callback on %s: %s", self.uri, error)
            if self._on_open is not None:
                try:
                    self._on_open(conn)
                except libvirt.libvirtError as error:
                    LOG.warning("Setting up the connection to %s failed: %s", self.uri, error)
            self._conn = conn
            self._last_error = None
            self.opened += 1
            LOG.info("Connected to %s", self.uri)
            return conn

    def _closed(self, raw: libvirt.virConnect, reason: int, opaque: Any) -> None:
        LOG.warning("libvirt connection to %s closed (reason %s)", self.uri, reason)
        with self._lock:
            if self._conn is not None and self._conn.raw is raw:
                self._drop(f"the connection to {self.uri} was closed (reason {reason})")

    def _drop(self, reason: str) -> None:
        conn, self._conn = self._conn, None
        self._last_error = reason
        self._last_attempt = 0.0  # the next call may try at once
        if conn is not None:
            self.lost += 1
            _quietly(conn.raw.unregisterCloseCallback)
            _quietly(conn.raw.close)

    def lost_by(self, error: libvirt.libvirtError) -> bool:
        """Whether ``error`` means the connection is gone; if so it is dropped (reopened on next use)."""
        code = error.get_error_code()
        if code in CONNECTION_ERRORS:
            self.connection_failed(error)
            return True
        if code in MAYBE_CONNECTION_ERRORS:
            conn = self._conn
            try:
                alive = conn is not None and conn.raw.isAlive() == 1
            except Exception:
                alive = False
            if not alive:
                self.connection_failed(error)
                return True
        return False

    def connection_failed(self, error: libvirt.libvirtError) -> None:
        """Called when a call failed with a connection error: drop the connection."""
        with self._lock:
            LOG.warning("Lost the libvirt connection to %s: %s", self.uri, error.get_error_message())
            self._drop(f"lost the connection to {self.uri}: {error.get_error_message()}")

    def close(self) -> None:
        with self._lock:
            conn, self._conn = self._conn, None
            if conn is not None:
                _quietly(conn.raw.unregisterCloseCallback)
                _quietly(conn.raw.close)
