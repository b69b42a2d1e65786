"""Alembic's entry point: the connection and version table come from automation.migrations.upgrade."""

from __future__ import annotations

from automation.migrations import run_migrations

run_migrations()
