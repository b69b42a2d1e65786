"""Login throttling: after nine wrong passwords for one name, or from one client, within a minute, the next
sign-in attempt is refused (429) until the oldest of them is a minute old.

The decision is a pure function of the recent failures and now (`throttled`); `LoginThrottle` only keeps
those failures, in this process's memory (several replicas would each count their own: the store will keep
them when the console runs on more than one).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable, Sequence

MAX_FAILURES = 9  # the tenth attempt within the window is refused
WINDOW_S = 60.0
MAX_KEYS = 10_000  # a flood of made-up names must not grow memory without bound


def recent(failures: Iterable[float], now: float, window: float = WINDOW_S) -> list[float]:
    """The failures (seconds, monotonic) that fall within `window` before `now`."""
    return [moment for moment in failures if now - window < moment <= now]


def throttled(
    failures: Sequence[float], now: float, *, limit: int = MAX_FAILURES, window: float = WINDOW_S
) -> bool:
    """True when `limit` or more failures fall within the window: the next attempt is refused."""
    return len(recent(failures, now, window)) >= limit


def retry_after(failures: Sequence[float], now: float, *, window: float = WINDOW_S) -> int:
    """Whole seconds until the oldest recent failure leaves the window (for Retry-After)."""
    inside = recent(failures, now, window)
    return max(1, int(min(inside) + window - now + 0.999)) if inside else 0


class LoginThrottle:
    """Recent sign-in failures by key ("name:ana", "client:10.0.0.7"), safe across threads."""

    def __init__(self, *, limit: int = MAX_FAILURES, window: float = WINDOW_S) -> None:
        self.limit = limit
        self.window = window
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def refused(self, keys: Iterable[str], now: float) -> int:
        """0 when an attempt under these keys may go ahead, else the seconds to wait."""
        with self._lock:
            waits = [
                retry_after(found, now, window=self.window)
                for key in keys
                if (found := self._failures.get(key)) is not None
                and throttled(found, now, limit=self.limit, window=self.window)
            ]
        return max(waits, default=0)

    def failed(self, keys: Iterable[str], now: float) -> None:
        """Count one wrong password under each key."""
        with self._lock:
            for key in keys:
                kept = deque(recent(self._failures.pop(key, ()), now, self.window), maxlen=self.limit)
                kept.append(now)
                self._failures[key] = kept  # re-inserted: the dict's order is least recently failed first
            while len(self._failures) > MAX_KEYS:
                del self._failures[next(iter(self._failures))]

    def forget(self, key: str) -> None:
        """A right password clears the name's count (never the client's: one's own account must not reset
        the count of guesses at others)."""
        with self._lock:
            self._failures.pop(key, None)
