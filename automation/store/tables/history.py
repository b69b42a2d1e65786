"""The history store's tables and its UTC datetime type (the engine is automation.store.database.make_engine).

One row per claimed tick, runs with their attempts and steps (so per-step timings can be queried), each check's
alert state and health changes, and the notifications outbox. automation.checks.storage.history reads and
writes them; a change here needs a new revision in automation/store/migrations/history.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite keeps no offset; a naive value is taken as UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return utc(value)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else utc(value)


def utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData()

# One row per (check, tick): the scheduler claims a tick before running it, so a duplicate never runs.
ticks = Table(
    "ticks",
    metadata,
    Column("check_name", String(200), primary_key=True),
    Column("scheduled_at", UTCDateTime, primary_key=True),
    Column("claimed_at", UTCDateTime, nullable=False),
)

runs = Table(
    "runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("check_name", String(200), nullable=False),
    Column("runbook", String(200), nullable=False),
    Column("env", String(200), nullable=False),
    Column("scheduled_at", UTCDateTime, nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime, nullable=False),
    Column("status", String(20), nullable=False),
    Column("duration_s", Float, nullable=False),
    Column("summary", Text, nullable=False, default=""),
    Column("outcome", String(200)),
    Column("error", Text),
    Column("slow_steps", Text, nullable=False, default="[]"),  # JSON list of step labels
    Index("ix_runs_check_started", "check_name", "started_at"),
)

attempts = Table(
    "attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("check_run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("number", Integer, nullable=False),
    Column("status", String(20), nullable=False),
    Column("run_id", String(200)),  # the engine's run id (traces/<run-id>/)
    Column("evidence_dir", Text),
    Column("duration_s", Float, nullable=False),
    Column("outcome", String(200)),
    Column("error", Text),
    Column("started_at", UTCDateTime),
)

steps = Table(
    "steps",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("check_run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("position", Integer, nullable=False),
    Column("number", String(50), nullable=False),
    Column("label", Text, nullable=False),
    Column("status", String(20), nullable=False),
    Column("duration_s", Float, nullable=False),
    Column("slow", Boolean, nullable=False, default=False),
)

check_states = Table(
    "check_states",
    metadata,
    Column("check_name", String(200), primary_key=True),
    Column("state", Text, nullable=False),  # JSON of CheckState: new fields with defaults need no migration
    Column("health", String(20), nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

state_changes = Table(
    "state_changes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("check_name", String(200), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("from_health", String(20), nullable=False),
    Column("to_health", String(20), nullable=False),
    Index("ix_state_changes_check_at", "check_name", "at"),
)

notifications = Table(
    "notifications",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("check_name", String(200), nullable=False, index=True),
    Column("channel", String(100), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("message", Text, nullable=False),
    Column("payload", Text, nullable=False),  # JSON of the whole Notification
    Column("status", String(20), nullable=False, default="queued"),
    Column("attempts", Integer, nullable=False, default=0),
    Column("detail", Text, nullable=False, default=""),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_notifications_status", "status", "channel"),
)
