"""The in-process wake-up beside the store: whoever writes a run's row or event rings; the executor's threads
and the event streams (asyncio) waiting on that run wake at once instead of at their next look at the store.

The store stays the truth: a waiter that is not rung (another replica wrote the row) still finds the change
at its next look, `POLL_S` later at most. Nothing here carries data, only "look again".
"""

from __future__ import annotations

import asyncio
import threading
from collections import defaultdict

POLL_S = 1.0  # how long a waiter sleeps without a ring before it looks at the store again


class Wakeup:
    """Rings per run id (and "*" for anything, which the executor's idle threads wait on)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._generation: dict[str, int] = defaultdict(int)
        self._async: dict[str, set[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = defaultdict(set)

    def ring(self, run_id: str) -> None:
        with self._lock:
            for key in (run_id, "*"):
                self._generation[key] += 1
            waiters = list(self._async.get(run_id, ())) + list(self._async.get("*", ()))
            self._changed.notify_all()
        for loop, event in waiters:
            try:
                loop.call_soon_threadsafe(event.set)
            except RuntimeError:  # that loop has closed: its stream is gone
                pass

    def generation(self, run_id: str) -> int:
        with self._lock:
            return self._generation[run_id]

    def wait(self, run_id: str, seen: int, timeout_s: float = POLL_S) -> int:
        """Block until `run_id` rings after generation `seen`, or timeout_s; returns the generation now."""
        with self._lock:
            self._changed.wait_for(lambda: self._generation[run_id] != seen, timeout=timeout_s)
            return self._generation[run_id]

    def subscribe(self, run_id: str) -> asyncio.Event:
        """An asyncio.Event set whenever `run_id` rings (clear it after each wake); `unsubscribe` it after."""
        event = asyncio.Event()
        with self._lock:
            self._async[run_id].add((asyncio.get_running_loop(), event))
        return event

    def unsubscribe(self, run_id: str, event: asyncio.Event) -> None:
        with self._lock:
            self._async[run_id] = {pair for pair in self._async[run_id] if pair[1] is not event}
            if not self._async[run_id]:
                del self._async[run_id]
