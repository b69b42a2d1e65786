"""The history store as the scheduled checks issue made it (metadata.create_all, before migrations).

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

# Frozen: the store's UTCDateTime as it was at this revision. A migration only emits DDL, and in DDL that type
# is its impl, a timezone-aware DateTime (DATETIME on SQLite, TIMESTAMP WITH TIME ZONE on PostgreSQL).
UTCDateTime = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "ticks",
        sa.Column("check_name", sa.String(200), primary_key=True),
        sa.Column("scheduled_at", UTCDateTime, primary_key=True),
        sa.Column("claimed_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("check_name", sa.String(200), nullable=False),
        sa.Column("runbook", sa.String(200), nullable=False),
        sa.Column("env", sa.String(200), nullable=False),
        sa.Column("scheduled_at", UTCDateTime, nullable=False),
        sa.Column("started_at", UTCDateTime, nullable=False),
        sa.Column("finished_at", UTCDateTime, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("duration_s", sa.Float, nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("outcome", sa.String(200)),
        sa.Column("error", sa.Text),
        sa.Column("slow_steps", sa.Text, nullable=False),
    )
    op.create_index("ix_runs_check_started", "runs", ["check_name", "started_at"])
    for name, columns in (
        (
            "attempts",
            [
                sa.Column("number", sa.Integer, nullable=False),
                sa.Column("status", sa.String(20), nullable=False),
                sa.Column("run_id", sa.String(200)),
                sa.Column("evidence_dir", sa.Text),
                sa.Column("duration_s", sa.Float, nullable=False),
                sa.Column("outcome", sa.String(200)),
                sa.Column("error", sa.Text),
                sa.Column("started_at", UTCDateTime),
            ],
        ),
        (
            "steps",
            [
                sa.Column("position", sa.Integer, nullable=False),
                sa.Column("number", sa.String(50), nullable=False),
                sa.Column("label", sa.Text, nullable=False),
                sa.Column("status", sa.String(20), nullable=False),
                sa.Column("duration_s", sa.Float, nullable=False),
                sa.Column("slow", sa.Boolean, nullable=False),
            ],
        ),
    ):
        op.create_table(
            name,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column(
                "check_run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False
            ),
            *columns,
        )
        op.create_index(f"ix_{name}_check_run_id", name, ["check_run_id"])
    op.create_table(
        "check_states",
        sa.Column("check_name", sa.String(200), primary_key=True),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("health", sa.String(20), nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "state_changes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("check_name", sa.String(200), nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("from_health", sa.String(20), nullable=False),
        sa.Column("to_health", sa.String(20), nullable=False),
    )
    op.create_index("ix_state_changes_check_at", "state_changes", ["check_name", "at"])
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("check_name", sa.String(200), nullable=False),
        sa.Column("channel", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_notifications_check_name", "notifications", ["check_name"])
    op.create_index("ix_notifications_status", "notifications", ["status", "channel"])


def downgrade() -> None:
    for name in ("notifications", "state_changes", "check_states", "steps", "attempts", "runs", "ticks"):
        op.drop_table(name)
