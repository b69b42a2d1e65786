"""Which database the history, the outbox and the tickets live in, and its SQLAlchemy engine.

SQLite files under the data folder by default (checks.db, tickets.db); one shared database, such as PostgreSQL
with psycopg 3, when RUNBOOK_DATABASE_URL names one, so that every worker, beat and status server of a fleet
reads and writes the same rows. Only SQLite gets pragmas; everything else is plain SQLAlchemy.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import StaticPool

from automation import paths

BUSY_TIMEOUT_MS = 10_000


def shared_url() -> str | None:
    """The fleet's shared database (RUNBOOK_DATABASE_URL), or None for the local SQLite files."""
    return paths.database_url()


def database_url(data_dir: Path | None, filename: str) -> str:
    """RUNBOOK_DATABASE_URL if set, else the SQLite file `filename` in the data folder (created if needed)."""
    url = shared_url()
    if url:
        return url
    return sqlite_url(data_dir, filename)


def sqlite_url(data_dir: Path | None, filename: str) -> str:
    """The local SQLite file of one store (the data folder is created if needed)."""
    from automation.paths import data_dir as default_data_dir

    folder = data_dir if data_dir is not None else default_data_dir()
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / filename}"


def is_sqlite(url_or_conn: str | Connection | Engine) -> bool:
    if isinstance(url_or_conn, str):
        return url_or_conn.startswith("sqlite")
    return url_or_conn.dialect.name == "sqlite"


def make_engine(url: str) -> Engine:
    """An engine for the URL; SQLite gets WAL, a busy timeout, foreign keys and BEGIN IMMEDIATE for writes."""
    if not is_sqlite(url):
        return create_engine(url, pool_pre_ping=True)
    memory = url in ("sqlite://", "sqlite:///:memory:") or "mode=memory" in url
    kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000}}
    if memory:
        kwargs["poolclass"] = StaticPool  # one connection, or each would see its own empty database
    engine = create_engine(url, **kwargs)
    _sqlite_pragmas(engine)
    return engine


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for pg_advisory_xact_lock (Python's hash() differs between processes)."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)


def lock_for_transaction(conn: Connection, name: str) -> None:
    """Hold a lock named `name` until the transaction ends, so read-decide-write on it is atomic.

    PostgreSQL: an advisory transaction lock (works before the row exists). SQLite: the write transaction
    already holds the whole file (BEGIN IMMEDIATE), so nothing more is needed."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock_key(name)})


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
