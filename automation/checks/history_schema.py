"""The history store's tables, its UTC datetime type and its engine (SQLite pragmas, or any SQLAlchemy URL).

Kept apart from history.py so the schema reads on one screen: one row per claimed tick, runs with their
attempts and steps (so per-step timings can be queried), each check's alert state and health changes, and the
notifications outbox.
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
    create_engine,
    event,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import StaticPool

BUSY_TIMEOUT_MS = 10_000


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


def make_engine(url: str) -> Engine:
    """An engine for the URL; SQLite gets WAL, a busy timeout, foreign keys and BEGIN IMMEDIATE for writes."""
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True)
    memory = url in ("sqlite://", "sqlite:///:memory:") or "mode=memory" in url
    kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000}}
    if memory:
        kwargs["poolclass"] = StaticPool  # one connection, or each would see its own empty database
    engine = create_engine(url, **kwargs)
    _sqlite_pragmas(engine)
    return engine


def _sqlite_pragmas(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own implicit BEGIN only starts at the first write; we emit BEGIN ourselves (below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")  # readers (the status page) never block the scheduler
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")  # attempts and steps go with their run
        cursor.execute("PRAGMA synchronous=NORMAL")  # safe with WAL; a commit is not an fsync
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("runbook_immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
