"""Schema migrations (Alembic) of the stores, run by the program itself: opening a store upgrades it.

Lines of scripts, `history/`, `tickets/` and `console/`, each with a version table of its own, because on SQLite
they live in separate files (checks.db, tickets.db, console.db) and on PostgreSQL they share one database. A database made before
migrations existed (tables, no version table) is recognised and stamped at the first revision, which is that
schema, so its rows are kept and later revisions apply to it like to any other.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from sqlalchemy import column, inspect, select
from sqlalchemy import table as table_clause
from sqlalchemy.engine import Connection, Engine

from automation.store.database import lock_for_transaction

Line = Literal["history", "tickets", "console"]
HERE = Path(__file__).parent
FIRST = "0001"


@dataclass(frozen=True)
class _Spec:
    version_table: str
    marker: str  # a table every pre-migration database of this store has


SPECS: dict[str, _Spec] = {
    "history": _Spec("runbook_history_version", "runs"),
    "tickets": _Spec("runbook_tickets_version", "tickets"),
    "console": _Spec("runbook_console_version", "console_users"),
}


def upgrade(engine: Engine, line: Line) -> str:
    """Bring the store's schema to the newest revision; returns it. Safe when several processes start at once."""
    from alembic import command

    config = _config(line)
    with engine.connect() as conn:
        conn.execution_options(runbook_immediate=True)  # SQLite: the write lock first, one migrator at a time
        with conn.begin():
            lock_for_transaction(conn, f"runbook-migrations:{line}")  # PostgreSQL: likewise
            config.attributes["connection"] = conn
            if _made_before_migrations(conn, line):
                command.stamp(config, FIRST)
            command.upgrade(config, "head")
            return current(conn, line) or FIRST


def current(conn: Connection, line: Line) -> str | None:
    """The revision the database is at, or None for one never migrated."""
    table = SPECS[line].version_table
    if not inspect(conn).has_table(table):
        return None
    # built, not formatted: no SQL is made of strings (bandit B608), the name quoted by the dialect
    return conn.execute(select(column("version_num")).select_from(table_clause(table))).scalar()


def head(line: Line) -> str:
    """The newest revision shipped for this store."""
    from alembic.script import ScriptDirectory

    found = ScriptDirectory.from_config(_config(line)).get_current_head()
    assert found is not None
    return found


def run_migrations() -> None:
    """The body of each line's env.py: migrate on the connection upgrade() hands over (online only)."""
    from alembic import context

    config = context.config
    context.configure(
        connection=config.attributes["connection"],
        version_table=config.attributes["version_table"],
        render_as_batch=True,  # SQLite cannot ALTER most things; batch mode copies the table instead
    )
    with context.begin_transaction():
        context.run_migrations()


def _config(line: Line):  # noqa: ANN202 - alembic.config.Config, imported lazily
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(HERE / line))
    config.attributes["version_table"] = SPECS[line].version_table
    return config


def _made_before_migrations(conn: Connection, line: Line) -> bool:
    spec = SPECS[line]
    tables = inspect(conn)
    return not tables.has_table(spec.version_table) and tables.has_table(spec.marker)
