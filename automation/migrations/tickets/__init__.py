"""Alembic scripts of the tickets store (run by automation.migrations.upgrade, never by hand)."""
