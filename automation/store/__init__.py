"""The stores' database, below everything that keeps rows: `database` picks the URL (a SQLite file in the data
folder, or the fleet's shared RUNBOOK_DATABASE_URL) and makes the engine and locks; `tables` are the live tables
of the history and ticket stores; `migrations` are the Alembic scripts that bring either store to the newest
schema; `move` upgrades a database and moves one machine's SQLite files into a shared one.
"""
