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

Before any of that the worker trusts no message (`judge`): anyone who can publish to the broker could otherwise
make it log in with real credentials as often as they like (account lockout, a ticket flood). A task for a
check this worker does not know, for a disabled check, for a tick that is not on the check's schedule, or for
one far from now that beat never sent is refused: nothing runs, it is recorded as a `refused` run (kept apart
from the check's runs, see History.refusals) and operations are told once (alerting.policy.decide_refused).
A tick beat did send but that reaches a worker too late (every worker was down) is only dropped and logged:
the next tick runs, and a backlog of stale logins after an outage would help nobody.

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
from typing import TYPE_CHECKING, Any, Literal

from automation.checks.config.load import Check, ChecksConfig
from automation.checks.config.schedule import describe, due, format_period, next_tick, previous_tick
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
# Beat sends a tick once it is due, never before: a tick ahead of the worker's clock by more than two hosts'
# clocks can disagree was not beat's.
FUTURE_SKEW = timedelta(minutes=2)
# How old a tick may be and still run: one interval of its check (the next tick makes an older one moot),
# but at least LATE_MIN (a short queue while workers are busy) and at most LATE_MAX.
LATE_MIN = timedelta(minutes=10)
LATE_MAX = timedelta(hours=1)


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


@dataclass(frozen=True)
class Verdict:
    """What a worker does with a task: run it, refuse it (forged or replayed) or drop it (genuine but late)."""

    action: Literal["run", "refuse", "drop"]
    reason: str = ""


def judge(check: Check, tick: datetime, now: datetime, last_sent: datetime | None) -> Verdict:
    """Whether a task for (check, tick) may run at `now`; `last_sent` is the last tick beat sent for it.

    A pure function of the check, the tick and the time, so every rule is tested without a broker."""
    if not check.enabled:
        return Verdict("refuse", "the check is disabled in the checks file")
    if tick.tzinfo is None or tick.utcoffset() is None:
        return Verdict("refuse", f"its tick {tick.isoformat()} has no time zone (beat sends UTC)")
    if previous_tick(check.schedule, tick, failing=True) != tick:
        return Verdict(
            "refuse", f"its tick {_when(tick)} is not on the schedule ({describe(check.schedule)})"
        )
    if tick > now + FUTURE_SKEW:
        return Verdict("refuse", f"its tick {_when(tick)} is {_gap(tick - now)} ahead (beat sends due ticks)")
    if tick < now - late_after(check, tick):
        age = _gap(now - tick)
        if last_sent is not None and tick <= last_sent:
            return Verdict("drop", f"its tick {_when(tick)} arrived {age} late (were the workers down?)")
        return Verdict("refuse", f"its tick {_when(tick)} is {age} old and beat never sent it")
    return Verdict("run")


def late_after(check: Check, tick: datetime) -> timedelta:
    """How old a tick of this check may be and still run: one interval, within LATE_MIN and LATE_MAX."""
    interval = next_tick(check.schedule, tick) - tick
    return min(max(interval, LATE_MIN), LATE_MAX)


def _when(tick: datetime) -> str:
    return tick.isoformat(timespec="seconds")


def _gap(delta: timedelta) -> str:
    return format_period(round(delta.total_seconds()))


def take_task(name: str, tick_text: str, host: Host, config: ChecksConfig) -> str:
    """A worker's answer to a task `runbook.checks.run(name, tick)`: the recorded status, 'duplicate',
    'refused' or 'dropped'. Nothing about the message is trusted until `judge` says so."""
    check = config.checks.get(name)
    if check is None:
        # Not recorded: a name nobody configured must not become a check in the history, the status page or
        # the metrics' labels. The log says it, once per task.
        log.error(
            "refused a task for check %r: it is not in %s. A task this worker cannot place is either forged "
            "(someone can publish to the broker: rotate its password) or sent by a beat with a newer checks "
            "file (give this worker the same one)",
            name[:80],
            config.path,
        )
        return "refused"
    try:
        tick = datetime.fromisoformat(tick_text)
    except (TypeError, ValueError):
        refuse(check, None, host, config, f"its tick {str(tick_text)[:40]!r} is not a time")
        return "refused"
    now = host.clock()
    verdict = judge(check, tick, now, host.history.state(check.name).last_tick)
    if verdict.action == "refuse":
        refuse(check, tick, host, config, verdict.reason)
        return "refused"
    if verdict.action == "drop":
        log.warning("%s: not run: %s; the next tick runs as usual", check.name, verdict.reason)
        return "dropped"
    recorded = run_tick(check, tick, host, config)
    return recorded.status if recorded is not None else "duplicate"


def refuse(check: Check, tick: datetime | None, host: Host, config: ChecksConfig, reason: str) -> CheckRun:
    """Record a refused task (nothing ran) and tell operations the first time (decide_refused)."""
    from automation.checks.alerting.policy import decide_refused

    now = host.clock()
    log.error(
        "%s: refused a task: %s. Nothing ran. If beat did not send it, someone can publish to the broker",
        check.name,
        reason,
    )
    run = CheckRun.not_run(
        check.name,
        check.runbook,
        check.env,
        scheduled_at=tick if tick is not None and tick.tzinfo is not None else now,
        at=now,
        status="refused",
        summary=f"refused: {reason}; nothing ran",
    )
    recorded = host.history.record(run)
    with host.history.holding(check.name) as held:
        state, notes = decide_refused(held.state, recorded, now)
        if notes:
            held.save(state, at=now)  # the health word stays: a refusal says nothing about the target
        word = held.health
        # Straight to the outbox: the webhook channels carry it (a ticket channel has no ticket for it).
        for note in notes:
            for channel in check.channels:
                if channel.kind == "webhook":
                    held.add_notification(note, channel.id)
    host.flush(config.checks)
    host.metrics.observe(recorded, word or "unknown")  # type: ignore[arg-type]
    return recorded


def run_tick(check: Check, tick: datetime, host: Host, config: ChecksConfig) -> CheckRun | None:
    """Run and record the check's tick unless it is a duplicate; returns the run, or None when it did nothing.

    Raises nothing for a failing run (it is recorded); a crash of the run itself is recorded as an error."""
    from automation.checks.config.resolved import in_window
    from automation.checks.watchdog.run_check import run_check, skip_check
    from automation.checks.watchdog.scheduler import crash_summary

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
            summary = crash_summary(check, host, exc, "worker")
            log.error("check %s crashed: %s", check.name, summary)
            return _record_crash(check, tick, host, config, summary)


def recorded(history: History, check: str, tick: datetime) -> bool:
    """Whether a run of the check for this scheduled tick is in the history."""
    return any(r.scheduled_at == tick for r in history.runs(check, since=tick - timedelta(seconds=1)))


def _record_crash(
    check: Check, tick: datetime, host: Host, config: ChecksConfig, summary: str
) -> CheckRun | None:
    """Record the crash; `summary` is already masked (crash_summary)."""
    from automation.checks.watchdog.run_check import settle

    now = host.clock()
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
