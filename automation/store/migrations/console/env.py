"""Alembic's entry point: the connection and version table come from automation.store.migrations.upgrade."""

from __future__ import annotations

from automation.store.migrations import run_migrations

run_migrations()
