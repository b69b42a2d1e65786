"""Alembic scripts of the history store (run by automation.migrations.upgrade, never by hand)."""
