"""The live tables of the two stores (SQLAlchemy Core): `history` (checks.db: runs, alert states, the outbox)
and `tickets` (tickets.db: tickets and their comments). Their owners read and write them (checks.storage,
tickets.store); they sit here, below both, so that moving a store (store.move) needs neither. The migrations
never import them: each revision carries its own frozen copy of what it creates.
"""
