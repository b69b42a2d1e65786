"""Alembic scripts of the history store (run by automation.store.migrations.upgrade, never by hand)."""
