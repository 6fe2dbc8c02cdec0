"""kombu's in-process broker, made event-driven: the embedded ``kombu+memory:////`` transport.

Why this exists: oslo.messaging's rabbit driver sets kombu's memory transport
to ``polling_interval = 0`` and a 50 ms poll timeout ("kludge to speed up
tests"), so every idle consumer spins on an empty queue until the timeout.
One idle compute service costs ~2.5% of a core that way; a thousand cannot
run. Here a consumer sleeps on an event that a put on one of its queues sets,
so an idle consumer wakes once per :data:`IDLE_WAKEUP_S` and a message is
delivered at once.

It is still kombu's memory transport (same queues, same semantics, the real
rabbit driver on top); only the waiting changes, and how a topic exchange
finds its queues (:class:`IndexedTopicExchange`). :func:`install` points
kombu's ``memory`` alias here, and a stopping consumer (oslo.messaging's ``stop_consuming``) wakes at once.
``get_transport`` installs it when it makes a ``kombu+memory://`` transport,
if the kombu and oslo.messaging it was written for are installed
(:data:`nova_common.messaging.patches.EMBEDDED_BROKER`).
"""

from __future__ import annotations

import threading
import weakref
from collections import defaultdict
from queue import Empty, Queue
from time import monotonic
from typing import Any

import kombu.transport
from kombu.transport import memory
from kombu.transport.virtual.exchange import STANDARD_EXCHANGE_TYPES, TopicExchange
from oslo_messaging._drivers import impl_rabbit

#: How long an idle consumer sleeps between wakeups when nothing arrives.
#: oslo.messaging asks for 50 ms; a put, an ack and a stop wake the consumer
#: at once, so the wakeup only runs oslo's loop bookkeeping (deferred acks,
#: which the in-process broker never redelivers). Measured with 1,000 idle
#: compute services in one process: 1 s cost 49% of a core, 10 s cost 20%
#: (the rest is their heartbeats).
IDLE_WAKEUP_S = 10.0

_lock = threading.Lock()
#: queue name -> the transports (one per kombu connection) consuming from it.
_consumers: dict[str, weakref.WeakSet[Transport]] = defaultdict(weakref.WeakSet)


class _WakingQueue(Queue):
    """A queue whose put wakes the transports consuming from it."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        super().put(item, block, timeout)
        with _lock:
            waiting = list(_consumers.get(self.name, ()))
        for transport in waiting:
            transport.wake()


#: Bumped on every binding change made through :class:`Channel`, so the
#: exchange indexes know to rebuild.
_bindings_generation = 0


def _bindings_changed() -> None:
    global _bindings_generation
    with _lock:
        _bindings_generation += 1


class IndexedTopicExchange(TopicExchange):
    """kombu's topic exchange with its exact-match bindings in a dict.

    Why: kombu matches a published routing key against every binding of the
    exchange, one regular expression each. oslo.messaging binds each RPC
    server's queues by exact key (``compute``, ``compute.<host>``), so with
    1,000 compute services in one process every publish on the control
    exchange ran ~2,000 matches (0.4 ms, measured here), heartbeats included.
    Keys without ``*`` or ``#`` are looked up in a dict; wildcard bindings are
    still matched one by one, so routing is unchanged.
    """

    #: exchange name -> (generation, table identity, table length, exact, wildcard)
    _indexes: dict[str, tuple[int, int, int, dict[str, set[str]], list[tuple[str, str]]]] = {}

    def lookup(self, table: list, exchange: str, routing_key: str, default: Any) -> set[str]:
        index = self._indexes.get(exchange)
        # The length check also catches a change made by a plain kombu memory
        # channel, which shares the broker state but does not bump the generation.
        if index is None or index[:3] != (_bindings_generation, id(table), len(table)):
            index = self._index(table, exchange)
        exact, wildcard = index[3], index[4]
        queues = set(exact.get(routing_key, ()))
        if wildcard:
            queues.update(queue for pattern, queue in wildcard if self._match(pattern, routing_key))
        return queues

    def _index(self, table: list, exchange: str) -> tuple:
        generation = _bindings_generation
        bindings = list(table)
        exact: dict[str, set[str]] = defaultdict(set)
        wildcard: list[tuple[str, str]] = []
        for rkey, pattern, queue in bindings:
            if "*" in rkey or "#" in rkey:
                wildcard.append((pattern, queue))
            else:
                exact[rkey].add(queue)
        index = (generation, id(table), len(bindings), dict(exact), wildcard)
        self._indexes[exchange] = index
        return index


class Channel(memory.Channel):
    # Shares memory.Channel's class-level ``queues`` dict on purpose: one
    # broker per process, whichever class a connection uses.

    exchange_types = {**STANDARD_EXCHANGE_TYPES, "topic": IndexedTopicExchange}

    def queue_bind(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().queue_bind(*args, **kwargs)
        finally:
            _bindings_changed()

    def queue_unbind(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().queue_unbind(*args, **kwargs)
        finally:
            _bindings_changed()

    def exchange_delete(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().exchange_delete(*args, **kwargs)
        finally:
            _bindings_changed()

    def _queue_for(self, queue: str) -> Queue:
        found = self.queues.get(queue)
        if found is None:
            found = self.queues.setdefault(queue, _WakingQueue(queue))
        return found

    def _new_queue(self, queue: str, **kwargs: Any) -> None:
        self._queue_for(queue)

    def basic_consume(self, queue: str, *args: Any, **kwargs: Any) -> Any:
        tag = super().basic_consume(queue, *args, **kwargs)
        with _lock:
            _consumers[queue].add(self.connection)
        # A message put before we registered must not wait for the idle wakeup.
        self.connection.wake()
        return tag

    def basic_ack(self, *args: Any, **kwargs: Any) -> Any:
        # An ack can free a prefetch slot (qos.can_consume), which a put would
        # not signal. Without a prefetch limit (oslo.messaging's default) it
        # frees nothing, and a wake would only spin the consumer once more
        # per message.
        result = super().basic_ack(*args, **kwargs)
        if self.qos.prefetch_count:
            self.connection.wake()
        return result

    def basic_cancel(self, consumer_tag: str) -> Any:
        queue = self._tag_to_queue.get(consumer_tag)
        result = super().basic_cancel(consumer_tag)
        if queue is not None and queue not in self._active_queues:
            with _lock:
                _consumers[queue].discard(self.connection)
        return result


class Transport(memory.Transport):
    Channel = Channel
    global_state = memory.Transport.global_state

    def __init__(self, client: Any, **kwargs: Any) -> None:
        super().__init__(client, **kwargs)
        self._ready = threading.Event()

    def wake(self) -> None:
        self._ready.set()

    def drain_events(self, connection: Any, timeout: float | None = None) -> None:
        # Waits for a put instead of spinning; the deadline is stretched to
        # IDLE_WAKEUP_S because the caller only loops again on a timeout.
        wait_s = None if timeout is None else max(timeout, IDLE_WAKEUP_S)
        deadline = None if wait_s is None else monotonic() + wait_s
        woken = False
        while True:
            self._ready.clear()
            try:
                self.cycle.get(self._deliver, timeout=timeout)
                return
            except Empty:
                pass
            # Woken with nothing to deliver (a stop, an ack): return to the
            # caller, which reads its stop flag and polls again.
            if woken:
                raise TimeoutError()
            if deadline is None:
                woken = self._ready.wait()
                continue
            remaining = deadline - monotonic()
            if remaining <= 0:
                raise TimeoutError()
            woken = self._ready.wait(remaining)


def install() -> None:
    """Make kombu's ``memory`` transport (``kombu+memory://``) this one. Idempotent."""
    target = f"{__name__}:Transport"
    if kombu.transport.TRANSPORT_ALIASES.get("memory") != target:
        kombu.transport.TRANSPORT_ALIASES["memory"] = target
        kombu.transport._transport_cache.pop("memory", None)
    _wake_on_stop_consuming()


def _wake_on_stop_consuming() -> None:
    # oslo.messaging stops a consumer (an RPC server's listener, a client's
    # reply waiter) by setting a flag its consume loop reads after each poll
    # timeout, then joins the thread. Our idle wait is longer than its 50 ms
    # poll, so wake the connection's transport when the flag is set.
    connection_cls = impl_rabbit.Connection
    if getattr(connection_cls.stop_consuming, "_wakes_embedded_broker", False):
        return
    original = connection_cls.stop_consuming

    def stop_consuming(self: Any) -> None:
        original(self)
        transport = getattr(getattr(self, "connection", None), "transport", None)
        if isinstance(transport, Transport):
            transport.wake()

    stop_consuming._wakes_embedded_broker = True  # type: ignore[attr-defined]
    stop_consuming.__wrapped__ = original  # type: ignore[attr-defined]  # the upstream code, for its digest
    connection_cls.stop_consuming = stop_consuming
