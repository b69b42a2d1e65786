"""An upgrade keeps what a store made before migrations existed: its tables are recognised, stamped at the
first revision and upgraded in place, and every row is still there."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine

from automation.checks.storage.history import History
from automation.store.migrations import current, head
from automation.store.tables import history as history_schema
from automation.tickets.models import Ticket
from automation.tickets.store import TicketStore

# The ticket store's tables exactly as the release before migrations created them (raw sqlite3).
OLD_TICKETS_DDL = """
CREATE TABLE IF NOT EXISTS tickets (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    idempotency_key TEXT NOT NULL UNIQUE,
    queue TEXT NOT NULL,
    runbook TEXT NOT NULL,
    target TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'open',
    delivery TEXT NOT NULL,
    created_at REAL NOT NULL,
    last_seen_at REAL NOT NULL,
    tracker TEXT,
    remote_id TEXT,
    url TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS tickets_dedupe ON tickets (runbook, target, fingerprint, state);
CREATE TABLE IF NOT EXISTS comments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id INTEGER NOT NULL REFERENCES tickets (id),
    idempotency_key TEXT NOT NULL UNIQUE,
    run_id TEXT NOT NULL,
    created_at REAL NOT NULL,
    body TEXT NOT NULL,
    attachments TEXT NOT NULL,
    relay TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);
"""


def test_a_history_made_before_migrations_keeps_its_ticks(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'checks.db'}"
    old = create_engine(url)
    history_schema.metadata.create_all(old)  # what the release before migrations did on open
    tick = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    with old.begin() as conn:
        conn.execute(
            history_schema.ticks.insert().values(
                check_name="portal-login", scheduled_at=tick, claimed_at=tick
            )
        )
    old.dispose()

    with History(url) as history:
        assert history.claim("portal-login", tick) is False  # the old tick is still there, still claimed
        assert history.claim("portal-login", datetime(2026, 11, 30, 8, 5, tzinfo=UTC)) is True
        with history.engine.connect() as conn:
            assert current(conn, "history") == head("history")


def test_a_ticket_store_made_before_migrations_keeps_its_tickets(tmp_path: Path) -> None:
    ticket = Ticket(
        queue="customer-portal-chat",
        title="Customer not found",
        outcome="escalated: the customer system cannot find the customer",
        runbook="resend-verify",
        target="sandbox",
        run_id="20261130-080000-aaaa",
        evidence_dir=tmp_path,
        fingerprint="resend-verify:3:not-found",
    )
    with sqlite3.connect(tmp_path / "tickets.db") as conn:
        conn.executescript(OLD_TICKETS_DDL)
        conn.execute(
            "INSERT INTO tickets (idempotency_key, queue, runbook, target, fingerprint, delivery, created_at,"
            " last_seen_at, data) VALUES ('k1', ?, ?, ?, ?, 'local', 1.0, 1.0, ?)",
            (ticket.queue, ticket.runbook, ticket.target, ticket.fingerprint, ticket.model_dump_json()),
        )
    store = TicketStore(tmp_path)
    assert [(t.local_id, t.ticket.title) for t in store.list()] == [("RB-1", "Customer not found")]
    assert store.find_by_key("k1") is not None
    assert (
        store.create(ticket.model_copy(update={"run_id": "20261130-090000-bbbb"}), delivery="local").local_id
        == "RB-2"
    )
