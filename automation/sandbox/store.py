"""The sandbox's state: one SQLite file, seeded from a YAML fixture, shared by both emulated apps.

Each app (portal_accounts.py, netsuite.py) owns its tables: it registers a `Section` with its DDL and a
seed function. `Store.reset()` drops everything and re-seeds, which is what `POST /_sandbox/reset` does.
The mail outbox and the settings table belong to the store itself, as both apps use them.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

DEFAULT_SEED = Path(__file__).with_name("seed.yaml")

_CORE_DDL = """
CREATE TABLE IF NOT EXISTS mail (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    app TEXT NOT NULL,
    to_addr TEXT NOT NULL,
    subject TEXT NOT NULL,
    text TEXT NOT NULL,
    links TEXT NOT NULL,
    sent_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


@dataclass(frozen=True)
class Section:
    """One app's share of the database: its tables and how to seed them from its fixture section."""

    name: str
    ddl: str
    tables: tuple[str, ...]
    seed: Callable[[Store, dict[str, Any]], None]


_SECTIONS: dict[str, Section] = {}


def register(section: Section) -> Section:
    """Called once at import by each app module."""
    _SECTIONS[section.name] = section
    return section


class Store:
    """Thread-safe access to the sandbox database (uvicorn serves from its own thread)."""

    def __init__(self, db_path: Path, seed_path: Path = DEFAULT_SEED) -> None:
        self.db_path = db_path
        self.seed_path = seed_path
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(str(db_path), check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode=WAL")

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """A transaction; rolled back if the block raises."""
        with self._lock:
            self._conn.execute("BEGIN")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def one(self, sql: str, *args: Any) -> sqlite3.Row | None:
        with self._lock:
            return self._conn.execute(sql, args).fetchone()

    def all(self, sql: str, *args: Any) -> list[sqlite3.Row]:
        with self._lock:
            return self._conn.execute(sql, args).fetchall()

    def run(self, sql: str, *args: Any) -> int:
        """Execute one statement; returns lastrowid."""
        with self._lock:
            return self._conn.execute(sql, args).lastrowid or 0

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # -- lifecycle ---------------------------------------------------------------------------------

    def reset(self) -> None:
        """Drop every table and restore the seed fixture."""
        data = yaml.safe_load(self.seed_path.read_text(encoding="utf-8")) or {}
        with self._lock:
            tables = [r[0] for r in self._conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
            for table in tables:
                if not table.startswith("sqlite_"):
                    self._conn.execute(f'DROP TABLE IF EXISTS "{table}"')
            self._conn.executescript(_CORE_DDL)
            for section in _SECTIONS.values():
                self._conn.executescript(section.ddl)
            for key, value in (data.get("settings") or {}).items():
                self.set_setting(key, value)
            for name, section in _SECTIONS.items():
                section.seed(self, data.get(name) or {})

    # -- settings (switches such as how NetSuite shows its refusal) ---------------------------------

    def setting(self, key: str, default: Any = None) -> Any:
        row = self.one("SELECT value FROM settings WHERE key = ?", key)
        return json.loads(row["value"]) if row else default

    def set_setting(self, key: str, value: Any) -> None:
        self.run("INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)", key, json.dumps(value))

    # -- the mail outbox ---------------------------------------------------------------------------

    def send_mail(
        self, *, app: str, to: str, subject: str, text: str, links: list[str] | None = None
    ) -> None:
        """Store an e-mail one of the apps sends; nothing leaves the machine."""
        self.run(
            "INSERT INTO mail (app, to_addr, subject, text, links, sent_at) VALUES (?, ?, ?, ?, ?, ?)",
            app,
            to.strip().lower(),
            subject,
            text,
            json.dumps(links or []),
            time.time(),
        )

    def mail(self, to: str | None = None) -> list[dict[str, Any]]:
        """E-mails, newest first, optionally only those to one address (case-insensitive)."""
        if to:
            rows = self.all("SELECT * FROM mail WHERE to_addr = ? ORDER BY id DESC", to.strip().lower())
        else:
            rows = self.all("SELECT * FROM mail ORDER BY id DESC")
        return [
            {
                "id": r["id"],
                "app": r["app"],
                "to": r["to_addr"],
                "subject": r["subject"],
                "text": r["text"],
                "links": json.loads(r["links"]),
                "sent_at": r["sent_at"],
            }
            for r in rows
        ]
