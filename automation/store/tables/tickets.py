"""The ticket store's tables (SQLAlchemy Core): tickets and their "seen again" comments.

The same columns the store had as raw SQLite DDL, so a tickets.db made before migrations reads unchanged:
times are epoch seconds, and AUTOINCREMENT keeps a deleted ticket's RB- id from being given again.
automation.tickets.store reads and writes them; a change here needs a new revision in
automation/store/migrations/tickets.
"""

from __future__ import annotations

from sqlalchemy import Column, Float, ForeignKey, Index, Integer, MetaData, Table, Text

metadata = MetaData()

tickets = Table(
    "tickets",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("idempotency_key", Text, nullable=False, unique=True),
    Column("queue", Text, nullable=False),
    Column("runbook", Text, nullable=False),
    Column("target", Text, nullable=False),
    Column("fingerprint", Text, nullable=False),
    Column("state", Text, nullable=False, server_default="open"),
    Column("delivery", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("last_seen_at", Float, nullable=False),
    Column("tracker", Text),
    Column("remote_id", Text),
    Column("url", Text),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("last_error", Text),
    Column("data", Text, nullable=False),
    Index("tickets_dedupe", "runbook", "target", "fingerprint", "state"),
    sqlite_autoincrement=True,
)

comments = Table(
    "comments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ticket_id", Integer, ForeignKey("tickets.id"), nullable=False),
    Column("idempotency_key", Text, nullable=False, unique=True),
    Column("run_id", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("body", Text, nullable=False),
    Column("attachments", Text, nullable=False),
    Column("relay", Text, nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("last_error", Text),
    sqlite_autoincrement=True,
)
