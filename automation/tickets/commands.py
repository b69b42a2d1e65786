"""What `runbook tickets ...` does, as plain functions over the store (the CLI only prints their results)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..environments import data_dir, resolve
from .config import tracker_from_config
from .models import TicketReceipt, render_body
from .service import retry_outbox
from .store import TicketStore


def _store(root: Path | None = None) -> TicketStore:
    return TicketStore(root or data_dir())


def list_tickets(
    *, status: str | None = None, queue: str | None = None, root: Path | None = None
) -> list[dict[str, Any]]:
    """Tickets newest first, as plain data."""
    return [
        {
            "id": t.local_id,
            "queue": t.ticket.queue,
            "title": t.ticket.title,
            "state": t.state,
            "delivery": t.delivery,
            "tracker": t.tracker,
            "remote_id": t.remote_id,
            "run_id": t.ticket.run_id,
            "runbook": t.ticket.runbook,
            "created_at": t.created_at.isoformat(),
            "attachments": [a.name for a in t.ticket.attachments],
        }
        for t in _store(root).list(status=status, queue=queue)
    ]


def show_ticket(local_id: str, *, root: Path | None = None) -> str:
    """The ticket as its tracker would show it. Raises TicketError for an unknown id."""
    stored = _store(root).get(local_id)
    head = f"{stored.local_id}  [{stored.state}, {stored.delivery}]  {stored.ticket.queue}: {stored.ticket.title}\n\n"
    return head + render_body(stored.ticket)


def export_ticket(local_id: str, dest: Path, *, root: Path | None = None) -> Path:
    """ticket.json, body.md and the attachments into dest. Raises TicketError."""
    return _store(root).export(local_id, dest)


def retry(*, env: str | None = None, root: Path | None = None) -> list[TicketReceipt]:
    """Deliver what waits in the outbox to the environment's tracker. Raises TicketError/ConfigError."""
    target = resolve(env) if env else None
    config = target.tickets if target else None
    return retry_outbox(store=_store(root), tracker=tracker_from_config(config))
