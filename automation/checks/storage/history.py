"""The history store: runs with their attempts and step timings, each check's alert state and health changes,
the claimed schedule ticks, and the notifications outbox.

SQLAlchemy Core over SQLite by default (WAL, busy timeout, foreign keys), or over the fleet's shared database
(RUNBOOK_DATABASE_URL, PostgreSQL with psycopg 3), with the same statements on both; the tables are
automation.store.tables.history. Times go in and come out as timezone-aware UTC. The scheduler writes here;
the status page, `checks status` and `checks history` only read. The summary numbers are summary.py's.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Table, delete, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from automation.checks.model import FAILING_STATUSES, CheckRun, CheckState, Notification
from automation.checks.model import health as health_word
from automation.checks.storage.rows import chunks, evidence_dirs, from_json, insert_run, load_runs, to_json
from automation.checks.storage.summary import WEEK, CheckSummary, summarize
from automation.store.database import database_url, lock_for_transaction, make_engine
from automation.store.migrations import upgrade
from automation.store.tables.history import check_states, notifications, runs, state_changes, ticks

PENDING = ("queued", "failed")
# How long a notification taken for delivery stays the taker's: a process killed mid-delivery leaves it
# "sending", and after this another may try again (a slow tracker answers well within it).
SENDING_LEASE = timedelta(minutes=10)
# Runs kept for `failed_s` rather than `passed_s`: someone may still need their evidence.
_KEEP_LONGER = (*FAILING_STATUSES, "degraded", "aborted", "refused")
# Tasks a worker refused (forged or replayed broker messages) are kept apart from the check's runs: they did
# not probe the target, so the status page, its chart and uptime never see them; `refusals` reads them.
REFUSED = "refused"


class History:
    """The history store; one per process is enough, two on one file (or two processes) are safe."""

    def __init__(self, url: str | None = None, *, data_dir: Path | None = None) -> None:
        self.url = url if url is not None else database_url(data_dir, "checks.db")
        self.engine = make_engine(self.url)
        upgrade(self.engine, "history")  # an older file, or one made before migrations, keeps its rows

    # -- schedule ticks -------------------------------------------------------------------------------------

    def claim(self, check: str, scheduled_at: datetime) -> bool:
        """True the first time a (check, tick) is claimed, by anyone; False for a duplicate."""
        values = {"check_name": check, "scheduled_at": scheduled_at, "claimed_at": _now()}
        with self._write() as conn:
            return _insert_once(conn, ticks, values)

    # -- runs -----------------------------------------------------------------------------------------------

    def record(self, run: CheckRun) -> CheckRun:
        """Store a run with its attempts and steps; returns it with `id` set."""
        with self._write() as conn:
            run_id = insert_run(conn, run)
        return dataclasses.replace(run, id=run_id)

    def record_skip(
        self, check: str, runbook: str, env: str, scheduled_at: datetime, reason: str
    ) -> CheckRun:
        """Record a tick that did not run (a maintenance window): no attempt, no evidence, no alert."""
        skip = CheckRun.not_run(
            check, runbook, env, scheduled_at=scheduled_at, at=scheduled_at, status="skipped", summary=reason
        )
        return self.record(skip)

    def runs(self, check: str, *, since: datetime | None = None, limit: int | None = None) -> list[CheckRun]:
        """The check's runs, newest first, with their attempts and steps (refused tasks are `refusals`)."""
        return self._runs(check, runs.c.status != REFUSED, since=since, limit=limit)

    def refusals(
        self, check: str, *, since: datetime | None = None, limit: int | None = None
    ) -> list[CheckRun]:
        """The tasks a worker refused for this check (nothing ran), newest first."""
        return self._runs(check, runs.c.status == REFUSED, since=since, limit=limit)

    def _runs(self, check: str, which: Any, *, since: datetime | None, limit: int | None) -> list[CheckRun]:
        query = select(runs).where(runs.c.check_name == check, which)
        if since is not None:
            query = query.where(runs.c.started_at >= since)
        query = query.order_by(runs.c.started_at.desc(), runs.c.id.desc())
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
            return load_runs(conn, rows)

    def last_run(self, check: str) -> CheckRun | None:
        found = self.runs(check, limit=1)
        return found[0] if found else None

    def checks(self) -> list[str]:
        """Every check with a run or a saved state, sorted."""
        with self.engine.connect() as conn:
            names = set(conn.execute(select(runs.c.check_name).distinct()).scalars())
            names.update(conn.execute(select(check_states.c.check_name)).scalars())
        return sorted(names)

    def summary(self, check: str, now: datetime) -> CheckSummary:
        """Uptime over 24 h and 7 d, p50/p95 and counts over 24 h, and the last run."""
        query = select(runs.c.started_at, runs.c.status, runs.c.duration_s).where(
            runs.c.check_name == check, runs.c.started_at >= now - WEEK, runs.c.started_at <= now
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return summarize(check, rows, now, self.last_run(check))

    # -- alert state ----------------------------------------------------------------------------------------

    def state(self, check: str) -> CheckState:
        """The check's saved alert state; `CheckState()` if it has none yet."""
        with self.engine.connect() as conn:
            raw = conn.execute(
                select(check_states.c.state).where(check_states.c.check_name == check)
            ).scalar_one_or_none()
        return CheckState() if raw is None else from_json(CheckState, raw)

    def save_state(
        self, check: str, state: CheckState, *, health: str | None = None, at: datetime | None = None
    ) -> None:
        """Save the alert state, and the health word when given; a change of the word is logged too.

        Without `health` the stored word stays (a bookkeeping save, such as the last tick, must not turn
        "maintenance" back into "passing"); a check's first save derives it with model.health(state)."""
        with self.holding(check) as held:
            held.save(state, health=health, at=at)

    @contextmanager
    def holding(self, check: str) -> Iterator[HeldState]:
        """The check's state under a lock per check until the block ends, for a read-decide-write.

        Two workers settling runs of one check at the same moment take turns: the second reads what the first
        saved, so the alert policy opens one ticket, not two. The outbox rows queued through the handle commit
        with the state, or neither does."""
        with self._write() as conn:
            lock_for_transaction(conn, f"check-state:{check}")
            yield HeldState(conn, check)

    def state_changes(self, check: str, since: datetime | None = None) -> list[tuple[datetime, str, str]]:
        """(at, from, to) for each change of the check's health word, oldest first."""
        query = select(state_changes.c.at, state_changes.c.from_health, state_changes.c.to_health).where(
            state_changes.c.check_name == check
        )
        if since is not None:
            query = query.where(state_changes.c.at >= since)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(state_changes.c.at, state_changes.c.id)).all()
        return [(r.at, r.from_health, r.to_health) for r in rows]

    # -- notifications outbox -------------------------------------------------------------------------------

    def add_notification(self, n: Notification, channel: str) -> int:
        """Queue a notification for a channel; returns its id. Delivery is the channel's job."""
        with self._write() as conn:
            return _add_notification(conn, n, channel)

    def pending_notifications(self, channel: str | None = None) -> list[tuple[int, str, Notification]]:
        """(id, channel, notification) still to deliver (queued, or failed and due a retry), oldest first."""
        query = select(notifications.c.id, notifications.c.channel, notifications.c.payload).where(
            _deliverable(_now())
        )
        if channel is not None:
            query = query.where(notifications.c.channel == channel)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(notifications.c.id)).all()
        return [(r.id, r.channel, from_json(Notification, r.payload)) for r in rows]

    def earlier_undelivered(self, id: int, check: str, channel: str) -> bool:
        """Whether a notification of this check and channel queued before `id` is not delivered yet.

        A check's notifications reach a channel in the order they were queued: a "failed-again" comment sent
        while another worker is still opening the ticket would find no ticket to add to, and be lost."""
        n = notifications.c
        query = select(n.id).where(
            n.id < id, n.check_name == check, n.channel == channel, n.status != "delivered"
        )
        with self.engine.connect() as conn:
            return conn.execute(query.limit(1)).first() is not None

    def take_notification(self, id: int) -> bool:
        """Take a pending notification for delivery; False if another process has it (or it is delivered).

        Two workers flushing the outbox at once must not both deliver one alert (two tickets, two pages):
        only the one whose update changes the row delivers it, then marks it delivered or failed."""
        now = _now()
        query = (
            update(notifications)
            .where(notifications.c.id == id, _deliverable(now))
            .values(status="sending", updated_at=now)
        )
        with self._write() as conn:
            return conn.execute(query).rowcount == 1

    def mark_notification(self, id: int, status: Literal["delivered", "failed"], detail: str = "") -> None:
        """Record a delivery attempt; a failed one stays pending. Raises KeyError for an unknown id."""
        if status not in ("delivered", "failed"):
            raise ValueError(f"mark_notification: status must be 'delivered' or 'failed', not {status!r}")
        query = (
            update(notifications)
            .where(notifications.c.id == id)
            .values(status=status, detail=detail, attempts=notifications.c.attempts + 1, updated_at=_now())
        )
        with self._write() as conn:
            if conn.execute(query).rowcount == 0:
                raise KeyError(f"no notification with id {id}")

    def notifications(self, check: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """The latest notifications, newest first, as plain dicts (for tests and the status page)."""
        n = notifications.c
        query = select(n.id, n.check_name, n.kind, n.channel, n.status, n.at, n.message, n.detail, n.attempts)
        if check is not None:
            query = query.where(n.check_name == check)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(n.id.desc()).limit(limit)).mappings().all()
        return [{**dict(r), "check": r["check_name"]} for r in rows]

    # -- retention ------------------------------------------------------------------------------------------

    def prune(
        self, now: datetime, *, passed_s: float, failed_s: float, keep: Collection[str] = ()
    ) -> list[str]:
        """Delete expired runs and their evidence folders, never one in `keep`; returns the folders removed."""
        kept = {_norm(k) for k in keep}
        passed_before, failed_before = now - timedelta(seconds=passed_s), now - timedelta(seconds=failed_s)
        expired = (runs.c.status.notin_(_KEEP_LONGER) & (runs.c.started_at < passed_before)) | (
            runs.c.status.in_(_KEEP_LONGER) & (runs.c.started_at < failed_before)
        )
        with self.engine.connect() as conn:
            candidates = conn.execute(select(runs.c.id).where(expired)).scalars().all()
            folders = evidence_dirs(conn, candidates)
        doomed = [rid for rid in candidates if not any(_norm(f) in kept for f in folders.get(rid, ()))]
        removed = [f for rid in doomed for f in folders.get(rid, ()) if _remove_folder(f)]
        with self._write() as conn:
            for chunk in chunks(doomed):
                conn.execute(delete(runs).where(runs.c.id.in_(chunk)))
            # Old ticks only guard against duplicates of old ticks, which no scheduler runs again.
            conn.execute(delete(ticks).where(ticks.c.scheduled_at < failed_before))
            conn.execute(
                delete(notifications).where(
                    notifications.c.status == "delivered", notifications.c.updated_at < failed_before
                )
            )
        return removed

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """A write transaction; on SQLite it takes the write lock up front (BEGIN IMMEDIATE), so a read
        followed by a write waits for another writer (busy timeout) instead of failing with 'locked'."""
        with self.engine.connect() as conn:
            conn.execution_options(runbook_immediate=True)
            with conn.begin():
                yield conn


class HeldState:
    """A check's alert state read and written inside History.holding's transaction (under its lock)."""

    def __init__(self, conn: Connection, check: str) -> None:
        self.conn, self.check = conn, check
        raw = conn.execute(
            select(check_states.c.state, check_states.c.health).where(_is_check(check))
        ).first()
        self.health: str | None = None if raw is None else raw.health
        self.state: CheckState = CheckState() if raw is None else from_json(CheckState, raw.state)

    def save(self, state: CheckState, *, health: str | None = None, at: datetime | None = None) -> None:
        """As History.save_state, in this transaction."""
        at = at or state.last_run_at or _now()
        before = self.health
        word = health or before or health_word(state)
        row = {"state": to_json(state), "health": word, "updated_at": at}
        if before is None:
            self.conn.execute(insert(check_states).values(check_name=self.check, **row))
        else:
            self.conn.execute(update(check_states).where(_is_check(self.check)).values(**row))
        if (before or "unknown") != word:
            changed = {"from_health": before or "unknown", "to_health": word}
            self.conn.execute(insert(state_changes).values(check_name=self.check, at=at, **changed))
        self.state, self.health = state, word

    def add_notification(self, n: Notification, channel: str) -> int:
        """Queue a notification; it commits with the state."""
        return _add_notification(self.conn, n, channel)


def _deliverable(now: datetime) -> Any:
    n = notifications.c
    return n.status.in_(PENDING) | ((n.status == "sending") & (n.updated_at < now - SENDING_LEASE))


def _is_check(check: str) -> Any:
    return check_states.c.check_name == check


def _insert_once(conn: Connection, table: Table, values: dict[str, Any]) -> bool:
    """Insert a row unless its key exists; True if this call inserted it (the duplicate is not an error)."""
    if conn.dialect.name in ("postgresql", "sqlite"):
        if conn.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as dialect_insert
        else:
            from sqlalchemy.dialects.sqlite import insert as dialect_insert
        key = next(iter(table.primary_key.columns))
        query = dialect_insert(table).values(**values).on_conflict_do_nothing().returning(key)
        return conn.execute(query).first() is not None  # rowcount is not reliable here on every driver
    try:
        with conn.begin_nested():
            conn.execute(insert(table).values(**values))
    except IntegrityError:
        return False
    return True


def _add_notification(conn: Connection, n: Notification, channel: str) -> int:
    values = {
        "check_name": n.check,
        "channel": channel,
        "kind": n.kind,
        "at": n.at,
        "message": n.message,
        "payload": to_json(n),
        "status": "queued",
        "attempts": 0,
        "detail": "",
        "updated_at": _now(),
    }
    key = conn.execute(insert(notifications).values(**values)).inserted_primary_key
    assert key is not None
    return int(key[0])


# -- small helpers --------------------------------------------------------------------------------------------


def _now() -> datetime:
    return datetime.now(UTC)


def _norm(folder: str) -> str:
    return str(Path(folder).resolve())


def _remove_folder(folder: str) -> bool:
    path = Path(folder)
    if not path.exists():
        return False
    shutil.rmtree(path, ignore_errors=True)
    return not path.exists()
