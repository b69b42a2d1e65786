"""The console store's tables (SQLAlchemy Core): its users, API tokens and sign-in sessions.

In console.db by default, or in the fleet's shared database: hence the `console_` prefix, which keeps them
apart from the history store's tables there. No secret is kept in clear: a password as its Argon2id hash, a
token and a session id as their SHA-256 (both are 256-bit random values, which a fast hash protects fully).
automation.console reads and writes them; a change here needs a new revision in
automation/store/migrations/console.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, ForeignKey, Index, Integer, MetaData, String, Table, Text

from automation.store.tables.history import UTCDateTime

metadata = MetaData()

users = Table(
    "console_users",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("role", String(20), nullable=False),
    Column("team", String(64)),
    Column("password_hash", Text, nullable=False),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("created", UTCDateTime, nullable=False),
)

api_tokens = Table(
    "console_api_tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False),
    # The user the token acts as (a token named after a user is theirs), or None for a service token.
    Column("owner", String(64), ForeignKey("console_users.name")),
    Column("role", String(20), nullable=False),
    Column("team", String(64)),
    Column("hash", String(64), nullable=False, unique=True),
    Column("created", UTCDateTime, nullable=False),
    Column("expires", UTCDateTime),  # None: never
    Column("revoked", UTCDateTime),  # when it was revoked; None: still valid
    Column("last_used", UTCDateTime),
    Index("ix_console_api_tokens_name", "name"),
    sqlite_autoincrement=True,  # a revoked token's id is never given to a new one
)

sessions = Table(
    "console_sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("user_name", String(64), ForeignKey("console_users.name"), nullable=False, index=True),
    Column("created", UTCDateTime, nullable=False),
    Column("last_seen", UTCDateTime, nullable=False),
    Column(
        "expires", UTCDateTime, nullable=False
    ),  # the absolute timeout; the idle one counts from last_seen
    Column("revoked", UTCDateTime),
)
