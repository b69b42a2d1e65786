"""The data a ticket carries, what the store keeps of it, and the readable body sent to trackers.

`Ticket` is what the engine's `escalate` step hands over; `StoredTicket` / `StoredComment` are what
`TicketStore` gives back (the CLI renders them); `TicketReceipt` is the answer of `open_ticket`.
"""

from __future__ import annotations

import hashlib
import mimetypes
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

ReceiptStatus = Literal["delivered", "queued", "deduplicated"]
Delivery = Literal["local", "queued", "delivered"]
State = Literal["open", "closed"]
Relay = Literal["local", "pending", "relayed"]

TRACE_COMMAND = "runbook trace"


def idempotency_key_for(run_id: str) -> str:
    """The key a run's ticket is known by in every tracker: stable across retries, label-safe."""
    return hashlib.sha256(run_id.encode()).hexdigest()[:24]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Attachment(_Model):
    """One evidence file: `name` is what the tracker shows, `path` where the bytes are."""

    name: str
    path: Path
    content_type: str = ""

    @field_validator("name")
    @classmethod
    def _plain_file_name(cls, name: str) -> str:
        # The name becomes a file name in the store and in exports: no directories, no escape.
        if not name or name in {".", ".."} or "/" in name or "\\" in name or "\x00" in name:
            raise ValueError(f"attachment name {name!r} must be a plain file name")
        return name

    @model_validator(mode="after")
    def _guess_content_type(self) -> Attachment:
        if not self.content_type:
            self.content_type = mimetypes.guess_type(self.name)[0] or "application/octet-stream"
        return self


class TicketStep(_Model):
    """One step of the run as the ticket reports it."""

    index: int
    label: str
    status: str
    duration_s: float = 0.0
    error: str | None = None


class Ticket(_Model):
    """An escalation: who, what the agent noted, what the run did, and the evidence to attach."""

    queue: str
    title: str
    customer: dict[str, str] = Field(default_factory=dict)
    notes: str = ""
    steps: list[TicketStep] = Field(default_factory=list)
    outcome: str
    runbook: str
    target: str
    run_id: str
    # The run's page on the console ({RUNBOOK_PUBLIC_URL}/runs/RUN_ID), when the server has a public address.
    run_url: str | None = None
    evidence_dir: Path | None = None
    attachments: list[Attachment] = Field(default_factory=list)
    fingerprint: str = ""
    idempotency_key: str = ""

    @model_validator(mode="after")
    def _derive_idempotency_key(self) -> Ticket:
        if not self.idempotency_key:
            self.idempotency_key = idempotency_key_for(self.run_id)
        return self


class TicketReceipt(_Model):
    """What became of one ticket (or one relayed comment): delivered, waiting in the outbox, or merged."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    local_id: str
    status: ReceiptStatus
    tracker: str
    remote_id: str | None = None
    url: str | None = None
    message: str


class StoredComment(_Model):
    """A "seen again" entry added to an open ticket by the dedupe rule."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: int
    local_id: str
    created_at: datetime
    run_id: str
    idempotency_key: str
    body: str
    attachments: list[Attachment] = Field(default_factory=list)
    relay: Relay
    last_error: str | None = None


class StoredTicket(_Model):
    """A ticket as the local store keeps it, with its delivery state and its comments."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    local_id: str
    ticket: Ticket
    state: State
    delivery: Delivery
    created_at: datetime
    last_seen_at: datetime
    tracker: str | None = None
    remote_id: str | None = None
    url: str | None = None
    attempts: int = 0
    last_error: str | None = None
    comments: list[StoredComment] = Field(default_factory=list)


def _customer_lines(customer: dict[str, str]) -> list[str]:
    if not customer:
        return ["(no customer identifiers given)"]
    return [f"- {key}: {value}" for key, value in customer.items()]


def _step_line(step: TicketStep) -> str:
    line = f"{step.index}. [{step.status}] {step.label} ({step.duration_s:.1f} s)"
    if step.error:
        line += f"\n   error: {step.error}"
    return line


def _links(ticket: Ticket) -> list[str]:
    if not ticket.run_url:
        return []
    return [f"- the run on the console: {ticket.run_url}", f"- its report: {ticket.run_url}/report"]


def render_body(ticket: Ticket) -> str:
    """The ticket body (plain text / Markdown) an agent reads in the tracker."""
    lines = [
        f"Runbook `{ticket.runbook}` on {ticket.target} ended: {ticket.outcome}",
        "",
        "## Customer",
        *_customer_lines(ticket.customer),
        "",
        "## Agent notes",
        ticket.notes.strip() or "(none)",
        "",
        "## Steps",
        *([_step_line(step) for step in ticket.steps] or ["(no steps recorded)"]),
        "",
        "## Evidence",
        f"- run: {ticket.run_id}",
        *_links(ticket),
    ]
    if ticket.fingerprint:
        lines.append(f"- failure fingerprint: {ticket.fingerprint}")
    if ticket.attachments:
        lines.append("- attached: " + ", ".join(a.name for a in ticket.attachments))
    lines.append(f"- open the trace: `{TRACE_COMMAND} {ticket.run_id}`")
    return "\n".join(lines) + "\n"


def render_comment(ticket: Ticket) -> str:
    """The "seen again" comment added to an open ticket when the same failure recurs."""
    lines = [
        f"Seen again: run {ticket.run_id} of `{ticket.runbook}` on {ticket.target} ended: {ticket.outcome}",
        *_customer_lines(ticket.customer),
    ]
    if ticket.notes.strip():
        lines += ["", "Agent notes:", ticket.notes.strip()]
    failed = [step for step in ticket.steps if step.error]
    if failed:
        lines += ["", *(_step_line(step) for step in failed)]
    if ticket.attachments:
        lines.append("Attached: " + ", ".join(a.name for a in ticket.attachments))
    if ticket.run_url:
        lines.append(f"The run: {ticket.run_url}")
    lines.append(f"Open the trace: `{TRACE_COMMAND} {ticket.run_id}`")
    return "\n".join(lines) + "\n"
