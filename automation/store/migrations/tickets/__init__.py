"""Alembic scripts of the tickets store (run by automation.store.migrations.upgrade, never by hand)."""
