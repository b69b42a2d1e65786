"""`runbook checks db upgrade | move`: migrate the configured database, and move one machine's SQLite files
(checks.db: history, alert states, the outbox; tickets.db: tickets and their comments) into a shared one.

The move copies every row with its id (so run numbers and RB- ticket ids stay as people know them) in one
transaction on the target, and refuses a target that already holds any row of these stores: merging two
machines' histories would renumber one of them, which is not a move.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Table, func, insert, select
from sqlalchemy.engine import Connection, Engine

from automation.errors import ExitCode, RunbookError
from automation.paths import DATABASE_URL_VAR
from automation.store.database import is_sqlite, make_engine, shared_url, sqlite_url
from automation.store.migrations import Line, upgrade
from automation.store.tables import history, tickets

# Parents before children (foreign keys), per store.
TABLES: dict[Line, list[Table]] = {
    "history": [
        history.ticks,
        history.runs,
        history.attempts,
        history.steps,
        history.check_states,
        history.state_changes,
        history.notifications,
    ],
    "tickets": [tickets.tickets, tickets.comments],
}
FILES: dict[Line, str] = {"history": "checks.db", "tickets": "tickets.db"}
BATCH = 500


class StoreMoveError(RunbookError):
    """Raised when the move cannot start (no source, a non-empty or unreachable target); nothing was copied."""

    exit_code = ExitCode.BAD_INPUT


@dataclass(frozen=True)
class MoveResult:
    target: str  # the URL without its password
    rows: dict[str, int]  # table -> rows copied


@dataclass(frozen=True)
class UpgradeResult:
    database: str  # a URL without its password
    line: Line
    revision: str


def upgrade_databases(data_dir: Path | None, url: str | None = None) -> list[UpgradeResult]:
    """Apply the migrations to the configured database (`url`, RUNBOOK_DATABASE_URL, or the SQLite files)."""
    url = url or shared_url()
    done = []
    for line in TABLES:
        target = url or sqlite_url(data_dir, FILES[line])
        engine = _engine(target)
        try:
            done.append(UpgradeResult(_shown(engine), line, upgrade(engine, line)))
        finally:
            engine.dispose()
    return done


def move_sqlite(data_dir: Path | None, to: str) -> MoveResult:
    """Copy this machine's SQLite stores into the database `to`. Raises StoreMoveError before any copy."""
    if is_sqlite(to):
        raise StoreMoveError(
            f"--to {to}: the target must be the shared database (postgresql+psycopg://user@host/db), not SQLite"
        )
    folder = _data_folder(data_dir)
    sources = {line: folder / FILES[line] for line in TABLES if (folder / FILES[line]).exists()}
    if not sources:
        raise StoreMoveError(
            f"nothing to move: neither checks.db nor tickets.db is in {folder}"
            " (pass --data with the folder the scheduler used)"
        )
    target = _engine(to)
    try:
        for line in TABLES:
            upgrade(target, line)
        with target.begin() as dest:
            _refuse_non_empty(dest, _shown(target))
            copied: dict[str, int] = {}
            for line, path in sources.items():
                source = make_engine(f"sqlite:///{path}")
                try:
                    upgrade(source, line)  # a file from before migrations reads as the first revision
                    with source.connect() as src:
                        for table in TABLES[line]:
                            copied[table.name] = _copy(src, dest, table)
                finally:
                    source.dispose()
            _advance_sequences(dest)
        return MoveResult(_shown(target), copied)
    finally:
        target.dispose()


def _data_folder(data_dir: Path | None) -> Path:
    from automation.paths import data_dir as default_data_dir

    return data_dir if data_dir is not None else default_data_dir()


def _engine(url: str) -> Engine:
    try:
        engine = make_engine(url)
        with engine.connect():
            pass
    except Exception as exc:  # noqa: BLE001 - a bad URL or an unreachable server, said plainly
        raise StoreMoveError(
            f"cannot open the database {_safe(url)}: {type(exc).__name__}: {str(exc).splitlines()[0]}"
            f" (check the URL, or {DATABASE_URL_VAR}, and that the server is up)"
        ) from exc
    return engine


def _refuse_non_empty(dest: Connection, where: str) -> None:
    full = [
        t.name
        for tables in TABLES.values()
        for t in tables
        if dest.execute(select(func.count()).select_from(t)).scalar()
    ]
    if full:
        raise StoreMoveError(
            f"{where} already holds rows ({', '.join(full)}): a move goes into an empty database only."
            " Point --to at a new database, or empty these tables if the rows there are disposable"
        )


def _copy(src: Connection, dest: Connection, table: Table) -> int:
    count, rows = 0, src.execute(select(table)).mappings()
    while batch := [dict(r) for r in rows.fetchmany(BATCH)]:
        dest.execute(insert(table), batch)
        count += len(batch)
    return count


def _advance_sequences(dest: Connection) -> None:
    """Rows came with their ids: PostgreSQL's id sequences must start after them, or the next insert clashes."""
    if dest.dialect.name != "postgresql":
        return
    for tables in TABLES.values():
        for table in tables:
            if "id" in table.c:  # built, not formatted: no SQL is made of strings (bandit B608)
                sequence = func.pg_get_serial_sequence(table.name, "id")
                after = func.coalesce(select(func.max(table.c.id)).scalar_subquery(), 0) + 1
                dest.execute(select(func.setval(sequence, after, False)))


def _shown(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


def _safe(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - unparseable: show nothing that might be a password
        return "(the given URL)"
