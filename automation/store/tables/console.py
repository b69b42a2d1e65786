"""The console store's tables (SQLAlchemy Core): users, API tokens, sessions, runs, SSO sign-ins and the
executors' leases.

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

# -- runs (migration 0002) ------------------------------------------------------------------------------------
# A run's state, its events, its questions and their answers pass through these rows, so that the server
# that shows a run need not be the one that executes it (the next step: Celery workers, several replicas).
# Nothing secret is kept: inputs as shown (secrets left out), a secret answer only sealed to the run that
# asked, and wiped when taken.

runs = Table(
    "console_runs",
    metadata,
    Column("id", String(160), primary_key=True),  # the run id: its evidence folder's name
    Column("seq", Integer, nullable=False, unique=True),  # the queue's order
    Column("runbook", String(120), nullable=False, index=True),
    Column("environment", String(64), nullable=False),
    # queued, running, waiting (a question), then the ending as run.json names it
    Column("status", String(20), nullable=False, index=True),
    Column("outcome", String(120)),
    Column("summary", Text),
    Column("error", Text),
    Column("started_by", String(64), nullable=False, index=True),
    Column("team", String(64)),
    Column("via", String(80), nullable=False),  # "session" or "token <name>"
    Column("inputs", Text, nullable=False),  # JSON: the values as shown, secret ones left out
    Column("search", Text, nullable=False),  # the shown values, case-folded: what the history search reads
    Column("external_ticket", String(200)),
    Column("idempotency_key", String(200)),
    Column("created", UTCDateTime, nullable=False),
    Column("started", UTCDateTime),
    Column("finished", UTCDateTime),
    Column("cancel_requested_by", String(64)),
    Column("worker", String(120)),  # who executes it, once claimed
    Column("result", Text),  # JSON: evidence folder, artifacts, ticket, exit code
    Index("ux_console_runs_idempotency", "started_by", "idempotency_key", unique=True),
)

run_events = Table(
    "console_run_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),  # the SSE event id (Last-Event-ID)
    Column("run_id", String(160), ForeignKey("console_runs.id"), nullable=False, index=True),
    Column("kind", String(20), nullable=False),  # status, step, say, question, answered, finished
    Column("data", Text, nullable=False),  # JSON, masked by the run that wrote it
    Column("at", UTCDateTime, nullable=False),
    sqlite_autoincrement=True,
)

questions = Table(
    "console_questions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(160), ForeignKey("console_runs.id"), nullable=False, index=True),
    Column("name", String(120), nullable=False),
    Column("prompt", Text, nullable=False),
    Column("kind", String(20), nullable=False),  # text or yes_no
    Column("secret", Boolean, nullable=False),
    Column("pattern", Text),
    Column("pattern_hint", Text),
    Column("step", String(40), nullable=False),
    Column("screenshot", Text),  # the last picture before the question, relative to the run folder
    Column("asked", UTCDateTime, nullable=False),
    Column("deadline", UTCDateTime, nullable=False),
    Column("status", String(20), nullable=False),  # waiting, answered, unanswered, cancelled
    Column(
        "public_key", Text, nullable=False
    ),  # a secret answer is sealed to it; the run holds the other half
    Column("answer", Text),  # sealed (base64), taken and wiped by the run
    Column("answered_by", String(64)),
    Column("answered_via", String(80)),
    Column("answered_at", UTCDateTime),
    sqlite_autoincrement=True,
)

audit = Table(
    "console_audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False, index=True),
    Column("actor", String(64), nullable=False, index=True),
    Column("via", String(80), nullable=False),
    Column("action", String(40), nullable=False),  # run.start, run.answer, run.cancel
    Column("run_id", String(160), index=True),
    Column("detail", Text, nullable=False),  # masked: a secret answer is "••••••"
    sqlite_autoincrement=True,
)

# -- single sign-on (migration 0003) --------------------------------------------------------------------------
# A sign-in through the OpenID provider in flight: its state, bound to the browser that started it. Only
# hashes: the state and the browser's pre-login id as their SHA-256; the PKCE verifier and the nonce are not
# kept at all (each is an HMAC of the state under the browser's id, which only the browser holds). `used` is
# set once, when the provider sends the browser back: a replayed state finds it set and is refused.

sso_logins = Table(
    "console_sso_logins",
    metadata,
    Column("state_hash", String(64), primary_key=True),
    Column("browser_hash", String(64), nullable=False),
    Column("next", Text, nullable=False),  # the page to go to after sign-in (a path on this site)
    Column("created", UTCDateTime, nullable=False),
    Column("expires", UTCDateTime, nullable=False, index=True),
    Column("used", UTCDateTime),
)

# -- executor leases (migration 0004) -------------------------------------------------------------------------
# One row per live executor process (a console replica's pool, later a Celery worker): its identity (host, pid,
# a random part), refreshed by its heartbeat every few seconds. A running or waiting run whose `worker` has no
# lease fresher than the grace period is one nobody executes any more: any live executor ends it as `error`.
# A clean stop deletes its row; a crashed worker's row is deleted by whoever finds it stale.

executor_leases = Table(
    "console_executor_leases",
    metadata,
    Column("id", String(120), primary_key=True),  # what console_runs.worker names
    Column("host", String(255), nullable=False),
    Column("started", UTCDateTime, nullable=False),
    Column("heartbeat_at", UTCDateTime, nullable=False),
)
