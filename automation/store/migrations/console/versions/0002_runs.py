"""The console's runs: their state, events, questions and the audit log (issue 21).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# Frozen: the store's UTCDateTime as it was at this revision (in DDL, a timezone-aware DateTime).
UTCDateTime = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "console_runs",
        sa.Column("id", sa.String(160), primary_key=True),
        sa.Column("seq", sa.Integer, nullable=False, unique=True),
        sa.Column("runbook", sa.String(120), nullable=False),
        sa.Column("environment", sa.String(64), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("outcome", sa.String(120)),
        sa.Column("summary", sa.Text),
        sa.Column("error", sa.Text),
        sa.Column("started_by", sa.String(64), nullable=False),
        sa.Column("team", sa.String(64)),
        sa.Column("via", sa.String(80), nullable=False),
        sa.Column("inputs", sa.Text, nullable=False),
        sa.Column("search", sa.Text, nullable=False),
        sa.Column("external_ticket", sa.String(200)),
        sa.Column("idempotency_key", sa.String(200)),
        sa.Column("created", UTCDateTime, nullable=False),
        sa.Column("started", UTCDateTime),
        sa.Column("finished", UTCDateTime),
        sa.Column("cancel_requested_by", sa.String(64)),
        sa.Column("worker", sa.String(120)),
        sa.Column("result", sa.Text),
    )
    op.create_index("ix_console_runs_runbook", "console_runs", ["runbook"])
    op.create_index("ix_console_runs_status", "console_runs", ["status"])
    op.create_index("ix_console_runs_started_by", "console_runs", ["started_by"])
    op.create_index(
        "ux_console_runs_idempotency", "console_runs", ["started_by", "idempotency_key"], unique=True
    )
    op.create_table(
        "console_run_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(160), sa.ForeignKey("console_runs.id"), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_console_run_events_run_id", "console_run_events", ["run_id"])
    op.create_table(
        "console_questions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(160), sa.ForeignKey("console_runs.id"), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("prompt", sa.Text, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("secret", sa.Boolean, nullable=False),
        sa.Column("pattern", sa.Text),
        sa.Column("pattern_hint", sa.Text),
        sa.Column("step", sa.String(40), nullable=False),
        sa.Column("screenshot", sa.Text),
        sa.Column("asked", UTCDateTime, nullable=False),
        sa.Column("deadline", UTCDateTime, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("public_key", sa.Text, nullable=False),
        sa.Column("answer", sa.Text),
        sa.Column("answered_by", sa.String(64)),
        sa.Column("answered_via", sa.String(80)),
        sa.Column("answered_at", UTCDateTime),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_console_questions_run_id", "console_questions", ["run_id"])
    op.create_table(
        "console_audit",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("via", sa.String(80), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("run_id", sa.String(160)),
        sa.Column("detail", sa.Text, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_console_audit_at", "console_audit", ["at"])
    op.create_index("ix_console_audit_actor", "console_audit", ["actor"])
    op.create_index("ix_console_audit_run_id", "console_audit", ["run_id"])


def downgrade() -> None:
    op.drop_table("console_audit")
    op.drop_table("console_questions")
    op.drop_table("console_run_events")
    op.drop_table("console_runs")
