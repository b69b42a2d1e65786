"""Each store's migrations build exactly the tables its code uses: Alembic's comparison of the migrated
database with the tables module finds no difference (a column added to the code but not to a revision, or
an index forgotten, fails here before it fails on a user's database)."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData

from automation.store.database import make_engine
from automation.store.migrations import upgrade
from automation.store.tables import console, history, tickets

STORES = {"console": console.metadata, "history": history.metadata, "tickets": tickets.metadata}


def differences(url: str, line: str, metadata: MetaData) -> list[object]:
    engine = make_engine(url)
    try:
        upgrade(engine, line)  # type: ignore[arg-type]
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            found = compare_metadata(context, metadata)
    finally:
        engine.dispose()
    # the version tables are Alembic's own, not the code's
    return [d for d in found if "_version" not in repr(d)]


@pytest.mark.parametrize("line", sorted(STORES))
def test_the_migrated_schema_is_the_code_s_schema(tmp_path: Path, line: str) -> None:
    found = differences(f"sqlite:///{tmp_path / f'{line}.db'}", line, STORES[line])
    assert found == [], f"the {line} migrations and automation/store/tables/{line}.py differ: {found}"


def test_a_column_missing_from_the_migrations_is_found(tmp_path: Path) -> None:
    from sqlalchemy import Column, Table, Text

    grown = MetaData()
    for table in console.metadata.tables.values():
        table.to_metadata(grown)
    Table("console_runs", grown, Column("notes", Text), extend_existing=True)
    found = differences(f"sqlite:///{tmp_path / 'console.db'}", "console", grown)
    assert any("notes" in repr(d) for d in found)
