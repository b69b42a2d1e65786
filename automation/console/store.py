"""Where the console keeps its rows: console.db in the data folder, or the fleet's shared database.

Opening the store brings its schema to the newest revision (automation/store/migrations/console), like the
history and ticket stores do.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from sqlalchemy.engine import Connection

from automation.store.database import database_url, is_sqlite, make_engine
from automation.store.migrations import upgrade

CONSOLE_DB = "console.db"


def now_utc() -> datetime:
    return datetime.now(UTC)


class ConsoleStore:
    """The console's database: users, API tokens and sessions (safe across processes)."""

    def __init__(self, data_dir: Path | None = None, *, url: str | None = None) -> None:
        self.url = url or database_url(data_dir, CONSOLE_DB)
        self.engine = make_engine(self.url)
        upgrade(self.engine, "console")

    @property
    def where(self) -> str:
        """Where the rows are, for messages (never the URL's password)."""
        if is_sqlite(self.url):
            return self.url.removeprefix("sqlite:///")
        return self.engine.url.render_as_string(hide_password=True)

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One write transaction; on SQLite the write lock is taken first, so a read-decide-write holds."""
        with self.engine.connect() as conn:
            conn.execution_options(runbook_immediate=True)
            with conn.begin():
                yield conn

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> ConsoleStore:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
