"""The console store's accounts: users, API tokens and sign-in sessions (issue 21).

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Frozen: the store's UTCDateTime as it was at this revision (in DDL, a timezone-aware DateTime).
UTCDateTime = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "console_users",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("team", sa.String(64)),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False),
        sa.Column("created", UTCDateTime, nullable=False),
    )
    op.create_table(
        "console_api_tokens",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("owner", sa.String(64), sa.ForeignKey("console_users.name")),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("team", sa.String(64)),
        sa.Column("hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created", UTCDateTime, nullable=False),
        sa.Column("expires", UTCDateTime),
        sa.Column("revoked", UTCDateTime),
        sa.Column("last_used", UTCDateTime),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_console_api_tokens_name", "console_api_tokens", ["name"])
    op.create_table(
        "console_sessions",
        sa.Column("id_hash", sa.String(64), primary_key=True),
        sa.Column("user_name", sa.String(64), sa.ForeignKey("console_users.name"), nullable=False),
        sa.Column("created", UTCDateTime, nullable=False),
        sa.Column("last_seen", UTCDateTime, nullable=False),
        sa.Column("expires", UTCDateTime, nullable=False),
        sa.Column("revoked", UTCDateTime),
    )
    op.create_index("ix_console_sessions_user_name", "console_sessions", ["user_name"])


def downgrade() -> None:
    op.drop_table("console_sessions")
    op.drop_table("console_api_tokens")
    op.drop_table("console_users")
