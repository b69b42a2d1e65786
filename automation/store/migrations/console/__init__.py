"""Alembic scripts of the console store (run by automation.store.migrations.upgrade, never by hand)."""
