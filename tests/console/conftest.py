"""The console store of one test, in its tmp_path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from automation.console.store import ConsoleStore


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ConsoleStore]:
    with ConsoleStore(tmp_path) as opened:
        yield opened


@pytest.fixture
def stored_bytes(tmp_path: Path):
    """Everything the SQLite store wrote (the database, its WAL), to search for a secret in."""

    def read() -> bytes:
        return b"".join(path.read_bytes() for path in sorted(tmp_path.glob("console.db*")))

    return read
