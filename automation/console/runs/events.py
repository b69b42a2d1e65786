"""A run's events, in the store, in order: what the live page and `GET /api/runs/{id}/events` replay.

The event's id is the stream's id: a client that reconnects with Last-Event-ID gets exactly what followed it,
nothing lost and nothing twice. Kinds: status (queued, its position, running, waiting for the sandbox), step
(started, then finished), say, question, answered, finished.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select

from automation.console.store import ConsoleStore, now_utc
from automation.store.tables.console import run_events

KINDS = ("status", "step", "say", "question", "answered", "finished")


@dataclass(frozen=True)
class Event:
    id: int
    kind: str
    data: dict[str, Any]
    at: datetime


def add_event(
    store: ConsoleStore, run_id: str, kind: str, data: dict[str, Any], now: datetime | None = None
) -> int:
    """Append one event (its data already masked by whoever wrote it); returns its id."""
    assert kind in KINDS, kind
    with store.transaction() as conn:
        written = conn.execute(
            insert(run_events).values(run_id=run_id, kind=kind, data=json.dumps(data), at=now or now_utc())
        )
        return int(written.inserted_primary_key[0])


def events_after(store: ConsoleStore, run_id: str, after: int = 0, limit: int = 500) -> list[Event]:
    """The run's events whose id is above `after`, oldest first."""
    statement = (
        select(run_events)
        .where(run_events.c.run_id == run_id, run_events.c.id > after)
        .order_by(run_events.c.id)
        .limit(limit)
    )
    with store.reading() as conn:
        return [Event(e.id, e.kind, json.loads(e.data), e.at) for e in conn.execute(statement)]


def steps_of(events: list[Event]) -> list[dict[str, Any]]:
    """Each step once, as it last stood (a step event is written when it starts and again when it ends)."""
    by_number: dict[str, dict[str, Any]] = {}
    for event in events:
        if event.kind == "step":
            by_number[event.data["number"]] = event.data
    return list(by_number.values())
