"""The console's audit log: who started each run and who answered each question (the value masked), through
which session or token, and who cancelled. Written in the same store as the runs; searched by an admin."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection

from automation.console.store import ConsoleStore, now_utc
from automation.store.tables.console import audit

ACTIONS = ("run.start", "run.answer", "run.cancel")


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    via: str
    action: str
    run_id: str | None
    detail: str


def record(
    conn: Connection,
    *,
    actor: str,
    via: str,
    action: str,
    run_id: str | None,
    detail: str,
    now: datetime | None = None,
) -> None:
    """One line, inside the caller's transaction (so the action and its record land together)."""
    assert action in ACTIONS, action
    conn.execute(
        insert(audit).values(
            at=now or now_utc(), actor=actor, via=via, action=action, run_id=run_id, detail=detail
        )
    )


def search_audit(
    store: ConsoleStore,
    *,
    actor: str | None = None,
    action: str | None = None,
    run_id: str | None = None,
    q: str | None = None,
    limit: int = 200,
) -> list[AuditEntry]:
    """Newest first; every given part must hold (`q`: words in the detail)."""
    conditions = []
    if actor:
        conditions.append(audit.c.actor == actor)
    if action:
        conditions.append(audit.c.action == action)
    if run_id:
        conditions.append(audit.c.run_id == run_id)
    for word in (q or "").split():
        conditions.append(audit.c.detail.contains(word, autoescape=True))
    statement = select(audit).where(*conditions).order_by(audit.c.id.desc()).limit(limit)
    with store.reading() as conn:
        return [
            AuditEntry(e.id, e.at, e.actor, e.via, e.action, e.run_id, e.detail)
            for e in conn.execute(statement)
        ]
