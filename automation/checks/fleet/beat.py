"""`runbook checks beat`'s scheduler: RedBeat's lock, and on each of its ticks the due (check, tick) pairs.

Why one RedBeat scheduler subclass rather than a RedBeat entry per check: the checks' ticks (every with a
spread, cron in a time zone, the faster cadence while failing, catch-up after downtime) are schedule.py's, and
RedBeat's entries know only Celery's schedules. So RedBeat contributes what it is good at, the lock in Redis
that lets one beat of several schedule (`redbeat_lock_timeout` about one check interval, so a standby takes
over within one interval), and each tick of the lock holder asks fleet.ticks.Dispatcher, which asks
schedule.due on the shared history, exactly as the embedded scheduler does. The checks file is the same for both.

A beat that loses the lock (it stalled past the timeout, or Redis restarted empty) goes back to waiting for
it; one that cannot reach Redis retries on its next tick. Sending a tick twice is harmless (the worker's claim
decides), losing one only happens to a tick whose beat died between its due time and the send.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

from redbeat import RedBeatScheduler
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import LockError
from redis.exceptions import TimeoutError as RedisTimeoutError

from automation.checks.fleet.ticks import Dispatcher, poll_s

log = logging.getLogger(__name__)

PRUNE_EVERY_S = 3600.0


class FleetBeatScheduler(RedBeatScheduler):
    """RedBeat's lock; on each tick, sends the checks' due ticks (`runbook.checks.run(check, tick)`)."""

    _fleet: _Fleet | None = None

    def tick(self, min: Any = min, **kwargs: Any) -> float:
        try:
            remaining = super().tick(min=min, **kwargs)  # extends the lock, or raises LockError
        except LockError:
            log.warning("beat: lost the RedBeat lock; waiting to take it again")
            self._take_lock_again()
            return 0.0
        except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
            log.warning("beat: Redis unreachable (%s); trying again", exc)
            return self._fleet_poll_s()
        fleet = self._fleet_context()
        fleet.dispatch(self.app)
        return min(remaining, fleet.poll_s)

    def _take_lock_again(self) -> None:
        while True:
            try:
                if self.lock is not None and self.lock.acquire(blocking=True):
                    log.info("beat: acquired the RedBeat lock again")
                    return
            except (RedisConnectionError, RedisTimeoutError, OSError):
                time.sleep(self._fleet_poll_s())

    def _fleet_poll_s(self) -> float:
        return self._fleet.poll_s if self._fleet else 1.0

    def _fleet_context(self) -> _Fleet:
        if self._fleet is None:
            self._fleet = _Fleet()
        return self._fleet


class _Fleet:
    """The beat's checks file, history and dispatcher (made on the first tick, after the lock is held)."""

    def __init__(self) -> None:
        from automation.checks.places import Places, load
        from automation.paths import fleet_evidence_root as evidence_root

        places = Places(evidence_root=evidence_root())
        self.config = load(places)
        self.host = places.host()
        self.dispatcher = Dispatcher(self.config, self.host.history)
        self.poll_s = poll_s(self.config)
        self.sent = 0
        self._last_prune = 0.0

    def dispatch(self, app: Any) -> int:
        """Send every due tick; returns how many were sent. A failing send is tried again next tick."""
        from automation.checks.fleet.celery_app import QUEUE, RUN_TASK

        now = datetime.now(UTC)
        count = 0
        try:
            for check, tick in self.dispatcher.due(now):
                stamp = tick.isoformat()
                app.send_task(
                    RUN_TASK, args=(check.name, stamp), queue=QUEUE, task_id=f"{check.name}@{stamp}"
                )
                self.dispatcher.sent(check, tick)
                count += 1
            self._housekeeping()
        except Exception as exc:  # noqa: BLE001 - broker or database down: the unsent ticks stay due
            log.warning("beat: sending due ticks failed (%s: %s); trying again", type(exc).__name__, exc)
        self.sent += count
        return count

    def _housekeeping(self) -> None:
        from automation.checks.watchdog.run_check import prune

        # Notifications whose channel was down wait in the shared outbox: beat, the one scheduler, retries them.
        if self.host.history.pending_notifications():
            self.host.flush(self.config.checks)
        if time.monotonic() - self._last_prune >= PRUNE_EVERY_S:
            self._last_prune = time.monotonic()
            prune(self.config, self.host)
