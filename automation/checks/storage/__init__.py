"""Storage: the history store the scheduler writes and everything else reads. `history` holds the queries
(runs, alert states, claimed ticks, the notifications outbox, retention), `rows` turns rows into the model's
dataclasses and back, `summary` turns recent runs into uptime and percentiles. The tables themselves are
automation.store.tables.history, next to their migrations.
"""
