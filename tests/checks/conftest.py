"""The checks' tests. Those under fleet/ (Celery workers and beat on Redis and PostgreSQL) and watchdog/ (the
scheduler's worker threads, `runbook checks serve`) run real processes in real time: they are marked `timing`,
so `make stress` runs them under load."""

from __future__ import annotations

from pathlib import Path

import pytest

TIMING = tuple(Path(__file__).parent / name for name in ("fleet", "watchdog"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if any(item.path.is_relative_to(folder) for folder in TIMING):
            item.add_marker(pytest.mark.timing)
