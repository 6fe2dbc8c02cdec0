"""The lifecycle events a driver emits, as the kit sees them in process."""

from __future__ import annotations

import threading
import time

from nova_common import objects


class EventLog:
    """The lifecycle events a driver emitted (in-process), in order."""

    def __init__(self) -> None:
        self._events: list[objects.LifecycleEvent] = []
        self._changed = threading.Condition()

    def append(self, event: objects.LifecycleEvent) -> None:
        with self._changed:
            self._events.append(event)
            self._changed.notify_all()

    def mark(self) -> int:
        with self._changed:
            return len(self._events)

    def since(self, mark: int, instance_uuid: str) -> list[objects.LifecycleEvent]:
        with self._changed:
            return [event for event in self._events[mark:] if event.instance_uuid == instance_uuid]

    def wait_for(self, mark: int, instance_uuid: str, timeout: float) -> list[objects.LifecycleEvent]:
        """The events of ``instance_uuid`` since ``mark``, waiting up to ``timeout`` for one."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [e for e in self._events[mark:] if e.instance_uuid == instance_uuid]
                left = deadline - time.monotonic()
                if found or left <= 0:
                    return found
                self._changed.wait(left)

    def settle(self, quiet: float, limit: float = 1.0) -> None:
        """Wait until no event arrived for ``quiet`` seconds (drivers whose
        events come from the hypervisor deliver them asynchronously)."""
        deadline = time.monotonic() + limit
        with self._changed:
            while time.monotonic() < deadline:
                count = len(self._events)
                self._changed.wait(quiet)
                if len(self._events) == count:
                    return
