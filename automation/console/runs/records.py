"""The console's run rows: created queued, claimed by an executor, waiting on a question, finished.

Every change goes through the store in one transaction and then rings the wake-up, so a page or a stream on
any replica sees it. Status names: queued, running, waiting, then the ending as run.json names it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, or_, select, update

from automation.console.permissions import RunbookRef, RunRef
from automation.console.store import ConsoleStore, now_utc
from automation.store.tables.console import runs

ACTIVE = ("queued", "running", "waiting")


@dataclass(frozen=True)
class RunRow:
    """One console run as the store keeps it."""

    id: str
    seq: int
    runbook: str
    environment: str
    status: str
    outcome: str | None
    summary: str | None
    error: str | None
    started_by: str
    team: str | None
    via: str
    inputs: dict[str, Any]  # as shown: secret ones left out
    external_ticket: str | None
    created: datetime
    started: datetime | None
    finished: datetime | None
    cancel_requested_by: str | None
    result: dict[str, Any] | None  # evidence folder, artifacts, ticket, exit code

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    def ref(self, tags: frozenset[str] = frozenset()) -> RunRef:
        return RunRef(RunbookRef(self.runbook, tags), self.started_by, self.team)


def _row(found: Any) -> RunRow:
    return RunRow(
        id=found.id,
        seq=found.seq,
        runbook=found.runbook,
        environment=found.environment,
        status=found.status,
        outcome=found.outcome,
        summary=found.summary,
        error=found.error,
        started_by=found.started_by,
        team=found.team,
        via=found.via,
        inputs=json.loads(found.inputs),
        external_ticket=found.external_ticket,
        created=found.created,
        started=found.started,
        finished=found.finished,
        cancel_requested_by=found.cancel_requested_by,
        result=json.loads(found.result) if found.result else None,
    )


@dataclass(frozen=True)
class NewRun:
    """What starting a run writes (the id is the evidence folder's name)."""

    id: str
    runbook: str
    environment: str
    started_by: str
    team: str | None
    via: str
    inputs: dict[str, Any]
    external_ticket: str | None = None
    idempotency_key: str | None = None


def insert_run(store: ConsoleStore, new: NewRun, now: datetime | None = None) -> tuple[RunRow, bool]:
    """Queue the run; returns (row, True), or (the earlier row, False) when the same person already used the
    idempotency key: a repeated request finds the same run."""
    with store.transaction() as conn:
        if new.idempotency_key is not None:
            earlier = conn.execute(
                select(runs).where(
                    runs.c.started_by == new.started_by, runs.c.idempotency_key == new.idempotency_key
                )
            ).first()
            if earlier is not None:
                return _row(earlier), False
        seq = (conn.execute(select(func.max(runs.c.seq))).scalar() or 0) + 1
        conn.execute(
            insert(runs).values(
                id=new.id,
                seq=seq,
                runbook=new.runbook,
                environment=new.environment,
                status="queued",
                started_by=new.started_by,
                team=new.team,
                via=new.via,
                inputs=json.dumps(new.inputs),
                search=" ".join(str(v) for v in new.inputs.values()).casefold(),
                external_ticket=new.external_ticket,
                idempotency_key=new.idempotency_key,
                created=now or now_utc(),
            )
        )
        return _row(conn.execute(select(runs).where(runs.c.id == new.id)).one()), True


def get_run(store: ConsoleStore, run_id: str) -> RunRow | None:
    with store.reading() as conn:
        found = conn.execute(select(runs).where(runs.c.id == run_id)).first()
    return _row(found) if found is not None else None


def queue_position(store: ConsoleStore, row: RunRow) -> int | None:
    """1 for the next run to start; None when the run is not queued."""
    if row.status != "queued":
        return None
    with store.reading() as conn:
        ahead = conn.execute(
            select(func.count()).where(runs.c.status == "queued", runs.c.seq < row.seq)
        ).scalar()
    return int(ahead or 0) + 1


def queued_ids(store: ConsoleStore) -> list[str]:
    """The queued runs, next first."""
    with store.reading() as conn:
        return list(
            conn.execute(select(runs.c.id).where(runs.c.status == "queued").order_by(runs.c.seq)).scalars()
        )


def claim_next(store: ConsoleStore, worker: str, now: datetime | None = None) -> RunRow | None:
    """Take the oldest queued run for `worker` (running); None when none waits. Safe between processes: the
    update only succeeds for the one claimer that still finds it queued."""
    while True:
        with store.transaction() as conn:
            found = conn.execute(
                select(runs.c.id).where(runs.c.status == "queued").order_by(runs.c.seq).limit(1)
            ).first()
            if found is None:
                return None
            taken = conn.execute(
                update(runs)
                .where(runs.c.id == found.id, runs.c.status == "queued")
                .values(status="running", worker=worker, started=now or now_utc())
            )
            if taken.rowcount == 1:
                return _row(conn.execute(select(runs).where(runs.c.id == found.id)).one())


def set_status(store: ConsoleStore, run_id: str, status: str) -> None:
    """running <-> waiting while the run lives (never over an ending)."""
    with store.transaction() as conn:
        conn.execute(update(runs).where(runs.c.id == run_id, runs.c.status.in_(ACTIVE)).values(status=status))


def finish(
    store: ConsoleStore,
    run_id: str,
    *,
    status: str,
    outcome: str | None,
    summary: str | None,
    error: str | None,
    result: dict[str, Any] | None,
    now: datetime | None = None,
) -> None:
    with store.transaction() as conn:
        conn.execute(
            update(runs)
            .where(runs.c.id == run_id)
            .values(
                status=status,
                outcome=outcome,
                summary=summary,
                error=error,
                result=json.dumps(result) if result is not None else None,
                finished=now or now_utc(),
            )
        )


def add_to_result(store: ConsoleStore, run_id: str, more: dict[str, Any]) -> None:
    """Keep more beside a finished run's result (what became of its helpdesk comment)."""
    with store.transaction() as conn:
        found = conn.execute(select(runs.c.result).where(runs.c.id == run_id)).scalar()
        merged = {**(json.loads(found) if found else {}), **more}
        conn.execute(update(runs).where(runs.c.id == run_id).values(result=json.dumps(merged)))


def request_cancel(store: ConsoleStore, run_id: str, by: str, now: datetime | None = None) -> str | None:
    """Ask a live run to stop. A queued run ends at once (`cancelled`, nothing ran); a running or waiting one
    is stopped by its executor within a few seconds. Returns the status it had, or None if it had ended."""
    with store.transaction() as conn:
        found = conn.execute(select(runs.c.status).where(runs.c.id == run_id)).first()
        if found is None or found.status not in ACTIVE:
            return None
        values: dict[str, Any] = {"cancel_requested_by": by}
        if found.status == "queued":
            values |= {
                "status": "cancelled",
                "summary": f"Cancelled by {by} before it started.",
                "finished": now or now_utc(),
            }
        conn.execute(update(runs).where(runs.c.id == run_id).values(**values))
        return found.status


def cancel_requested(store: ConsoleStore, run_id: str) -> str | None:
    """Who asked this run to stop, if anyone."""
    with store.reading() as conn:
        return conn.execute(select(runs.c.cancel_requested_by).where(runs.c.id == run_id)).scalar()


@dataclass(frozen=True)
class RunQuery:
    """The history search: every given part must hold."""

    runbook: str | None = None
    outcome: str | None = None  # an outcome's name, or a status (passed, escalated, cancelled...)
    user: str | None = None
    q: str | None = None  # words that must appear in the shown input values (a customer's email)
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 50


def search_runs(store: ConsoleStore, query: RunQuery) -> list[RunRow]:
    """Newest first."""
    conditions: list[Any] = []
    if query.runbook:
        conditions.append(runs.c.runbook == query.runbook)
    if query.outcome:
        conditions.append(or_(runs.c.outcome == query.outcome, runs.c.status == query.outcome))
    if query.user:
        conditions.append(runs.c.started_by == query.user)
    for word in (query.q or "").casefold().split():
        conditions.append(runs.c.search.contains(word, autoescape=True))
    if query.since is not None:
        conditions.append(runs.c.created >= query.since)
    if query.until is not None:
        conditions.append(runs.c.created < query.until)
    statement = select(runs).where(*conditions).order_by(runs.c.seq.desc()).limit(query.limit)
    with store.reading() as conn:
        return [_row(found) for found in conn.execute(statement)]
