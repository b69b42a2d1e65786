"""Executor leases: one row per live executor process, kept fresh by its heartbeat, so a run is ended as
abandoned only when the worker that claimed it is gone (not when another replica on its host starts).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# Frozen: the store's UTCDateTime as it was at this revision (in DDL, a timezone-aware DateTime).
UTCDateTime = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "console_executor_leases",
        sa.Column("id", sa.String(120), primary_key=True),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("started", UTCDateTime, nullable=False),
        sa.Column("heartbeat_at", UTCDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("console_executor_leases")
