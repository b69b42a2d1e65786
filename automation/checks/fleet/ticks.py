"""The distributed mode's library, without Celery: what beat decides to send and what a worker does with it.

Beat side (`Dispatcher`): the same decision as the embedded scheduler's tick, from the same functions
(schedule.due on the check's saved last tick, the faster cadence while failing), for every enabled check of
the checks file. A due tick is sent as (check name, tick); the check's `last_tick` is then saved under the
check's lock, so the next poll, or the other beat after a takeover, moves on to the next tick.

Worker side (`run_tick`): a (check, tick) delivered once, twice (two beats during a takeover) or again after
its worker was killed is run and recorded exactly once:
1. a lease on (check, tick) for the length of the run: a PostgreSQL session advisory lock (a flock on SQLite),
   which the database drops the moment its holder dies, so a redelivery after `kill -9` gets it at once while
   a duplicate arriving during the run does not;
2. the claim, `History.claim(check, tick)`: the unique row per (check, tick) in the shared database;
3. a tick already claimed but with no recorded run is one whose worker died mid-run: it is run again;
   a tick already recorded is a duplicate delivery and does nothing.
Then the tick runs through `watchdog.run_check.run_check`, as `checks run` and the embedded scheduler run it.

One difference from the embedded scheduler, on purpose: a run longer than its check's interval does not hold
back the next tick (a free worker takes it), so no tick is dropped for a slow run; both settle under the
check's lock, so the alert policy still sees one run after the other.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from automation.checks.config.load import Check, ChecksConfig
from automation.checks.config.schedule import due, next_tick
from automation.checks.model import FAILING_STATUSES, CheckRun

if TYPE_CHECKING:
    from automation.checks.storage.history import History
    from automation.checks.watchdog.run_check import Host

log = logging.getLogger(__name__)

# Bounds of the RedBeat lock's timeout: about one check interval, but never so short that a busy beat loses
# it between two of its own ticks, nor RedBeat's 25 minutes that would leave the fleet unscheduled that long.
LOCK_TIMEOUT_MIN_S = 10.0
LOCK_TIMEOUT_MAX_S = 300.0
# The hard time limit sits above the longest run by this margin (the run's own deadline ends it first).
TIME_LIMIT_MARGIN_S = 60.0


def longest_run_s(check: Check) -> float:
    """The most a run of the check can take: every attempt to its timeout, with the backoffs between."""
    return check.attempts * check.timeout_s + (check.attempts - 1) * check.backoff_s


def time_limit_s(config: ChecksConfig) -> float:
    """Celery's hard task time limit: above every check's longest run."""
    longest = max((longest_run_s(c) for c in config.checks.values()), default=60.0)
    return longest + TIME_LIMIT_MARGIN_S


def shortest_interval_s(config: ChecksConfig) -> float:
    enabled = [c for c in config.checks.values() if c.enabled]
    intervals = [c.schedule.every_s or 60.0 for c in enabled]
    fast = [c.schedule.while_failing_every_s for c in enabled if c.schedule.while_failing_every_s]
    return min([*intervals, *fast], default=60.0)


def lock_timeout_s(config: ChecksConfig) -> float:
    """RedBeat's lock timeout: about one check interval, so a standby beat takes over within one interval."""
    return min(max(shortest_interval_s(config), LOCK_TIMEOUT_MIN_S), LOCK_TIMEOUT_MAX_S)


def poll_s(config: ChecksConfig) -> float:
    """How often beat looks for due ticks (and extends its lock): a fifth of the shortest interval, at most 1 s."""
    return min(1.0, shortest_interval_s(config) / 5)


# -- beat ------------------------------------------------------------------------------------------------


@dataclass
class Dispatcher:
    """Which (check, tick) pairs are due, from the shared history; beat sends each and calls `sent`."""

    config: ChecksConfig
    history: History
    # The earliest instant a check could next be due (its fast cadence included): until then its saved
    # state is not read, so a poll over 1,000 checks reads only the few that may be due.
    _not_before: dict[str, datetime] = field(default_factory=dict)

    def due(self, now: datetime) -> list[tuple[Check, datetime]]:
        found = []
        for check in self.config.checks.values():
            if not check.enabled or now < self._not_before.get(check.name, now):
                continue
            state = self.history.state(check.name)
            failing = state.alerting or state.last_status in FAILING_STATUSES
            tick = due(check.schedule, state.last_tick, now, failing=failing)
            if tick is not None:
                found.append((check, tick))
            else:
                self._not_before[check.name] = next_tick(check.schedule, now, failing=True)
        return found

    def sent(self, check: Check, tick: datetime) -> None:
        """The tick is on the broker: save it as the check's last tick (under its lock: a settle may be saving)."""
        with self.history.holding(check.name) as held:
            last = held.state.last_tick
            if last is None or tick > last:
                held.save(held.state.with_(last_tick=tick))
        self._not_before[check.name] = next_tick(check.schedule, tick, failing=True)


# -- worker ----------------------------------------------------------------------------------------------


def run_tick(check: Check, tick: datetime, host: Host, config: ChecksConfig) -> CheckRun | None:
    """Run and record the check's tick unless it is a duplicate; returns the run, or None when it did nothing.

    Raises nothing for a failing run (it is recorded); a crash of the run itself is recorded as an error."""
    from automation.checks.config.resolved import in_window
    from automation.checks.watchdog.run_check import run_check, skip_check

    with tick_lease(host, check.name, tick) as leased:
        if not leased:
            log.info("%s at %s: another worker is running this tick", check.name, tick.isoformat())
            return None
        if not host.history.claim(check.name, tick) and recorded(host.history, check.name, tick):
            log.info("%s at %s: already recorded (a duplicate delivery)", check.name, tick.isoformat())
            return None
        window = in_window(check, tick)
        if window is not None:
            return skip_check(check, tick, host, window)
        try:
            return run_check(check, host, scheduled_at=tick, config=config)
        except Exception as exc:  # noqa: BLE001 - the tick must end recorded, as the embedded scheduler does
            log.error("check %s crashed: %s: %s", check.name, type(exc).__name__, exc)
            log.debug("the crash of %s", check.name, exc_info=True)
            return _record_crash(check, tick, host, config, exc)


def recorded(history: History, check: str, tick: datetime) -> bool:
    """Whether a run of the check for this scheduled tick is in the history."""
    return any(r.scheduled_at == tick for r in history.runs(check, since=tick - timedelta(seconds=1)))


def _record_crash(
    check: Check, tick: datetime, host: Host, config: ChecksConfig, exc: Exception
) -> CheckRun | None:
    from automation.checks.watchdog.run_check import settle

    now = host.clock()
    summary = f"error: the check could not be run ({type(exc).__name__}: {exc}); see the worker's log"
    run = CheckRun.not_run(
        check.name, check.runbook, check.env, scheduled_at=tick, at=now, status="error", summary=summary
    )
    try:
        return settle(check, run, host, config)
    except Exception:  # noqa: BLE001 - the history itself is failing: the log line above stands
        log.debug("recording the crash of %s failed", check.name, exc_info=True)
        return None


@contextmanager
def tick_lease(host: Host, check: str, tick: datetime) -> Iterator[bool]:
    """Hold (check, tick) while it runs; yields False when another live worker holds it.

    Released by the database (or the kernel, for a flock) when the holder dies, however it dies."""
    name = f"run:{check}:{tick.isoformat()}"
    engine = host.history.engine
    if engine.dialect.name == "postgresql":
        yield from _pg_lease(engine, name)
    else:
        yield from _file_lease(host.data_dir, name)


def _pg_lease(engine: Any, name: str) -> Iterator[bool]:
    from sqlalchemy import text

    from automation.store.database import lock_key

    key = lock_key(name)
    with engine.connect() as conn:
        got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar())
        conn.commit()  # a session lock: no transaction left open for the length of the run
        try:
            yield got
        finally:
            if got:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.commit()


def _file_lease(data_dir: Path, name: str) -> Iterator[bool]:
    folder = data_dir / "leases"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / hashlib.blake2b(name.encode(), digest_size=12).hexdigest()
    with open(path, "a+b") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
