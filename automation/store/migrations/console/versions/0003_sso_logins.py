"""Single sign-on: the sign-ins in flight through the OpenID provider (issue 22).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# Frozen: the store's UTCDateTime as it was at this revision (in DDL, a timezone-aware DateTime).
UTCDateTime = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "console_sso_logins",
        sa.Column("state_hash", sa.String(64), primary_key=True),
        sa.Column("browser_hash", sa.String(64), nullable=False),
        sa.Column("next", sa.Text, nullable=False),
        sa.Column("created", UTCDateTime, nullable=False),
        sa.Column("expires", UTCDateTime, nullable=False),
        sa.Column("used", UTCDateTime),
    )
    op.create_index("ix_console_sso_logins_expires", "console_sso_logins", ["expires"])


def downgrade() -> None:
    op.drop_table("console_sso_logins")
