"""What `runbook tickets ...` does, as plain functions over the store (the CLI only prints their results)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from automation.errors import ConfigError, TicketError, UsageError
from automation.paths import data_dir
from automation.tickets.config import tracker_from_config
from automation.tickets.models import StoredComment, StoredTicket, TicketReceipt, render_body
from automation.tickets.service import retry_outbox
from automation.tickets.store import TicketStore


def _store(root: Path | None = None) -> TicketStore:
    folder = root or data_dir()
    try:
        return TicketStore(folder)
    except (OSError, sqlite3.Error) as exc:
        raise UsageError(
            f"the ticket store in {folder} cannot be opened ({exc}): set RUNBOOK_DATA to a folder you can write"
        ) from None


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


def _get(store: TicketStore, local_id: str) -> StoredTicket:
    try:
        return store.get(local_id)
    except TicketError as exc:  # an id that matches nothing is bad input (exit 2), not a failed run
        raise UsageError(str(exc)) from None


def show_ticket(local_id: str, *, root: Path | None = None) -> str:
    """The ticket as its tracker would show it. Raises UsageError for an unknown or malformed id."""
    stored = _get(_store(root), local_id)
    head = f"{stored.local_id}  [{stored.state}, {stored.delivery}]  {stored.ticket.queue}: {stored.ticket.title}\n\n"
    return head + render_body(stored.ticket)


def export_ticket(local_id: str, dest: Path, *, root: Path | None = None) -> Path:
    """ticket.json, body.md and the attachments into dest. Raises UsageError (unknown id), TicketError."""
    store = _store(root)
    _get(store, local_id)
    return store.export(local_id, dest)


def environment_of(stored: StoredTicket) -> str:
    """The environment a ticket was opened in: the first word of its target ("production https://...")."""
    return stored.ticket.target.split(" ", 1)[0]


class _OutboxOf(TicketStore):
    """The store with its outbox narrowed to the tickets (and their comments) of one environment."""

    def __init__(self, data_dir: Path, environment: str) -> None:
        super().__init__(data_dir)
        self.environment = environment

    def outbox(self) -> list[StoredTicket]:
        return [t for t in super().outbox() if environment_of(t) == self.environment]

    def pending_comments(self) -> list[StoredComment]:
        return [
            c for c in super().pending_comments() if environment_of(self.get(c.local_id)) == self.environment
        ]


def retry(*, env: str | None = None, root: Path | None = None) -> list[TicketReceipt]:
    """Deliver what waits in the outbox: with `env`, all of it to that environment's tracker; without, each
    ticket to the tracker of the environment it was opened in. One receipt per ticket waiting (a ticket
    that cannot be tried says why). Raises ConfigError (unknown environment, broken file), TicketError."""
    from automation.environments import load_config

    config = load_config()
    store = _store(root)
    if env:
        if env not in config.environments:
            raise ConfigError(f"--env '{env}': no such environment (known: {', '.join(config.environments)})")
        return _retry_to(env, config.environments[env].tickets, store, store.outbox())
    receipts: list[TicketReceipt] = []
    waiting = sorted({environment_of(t) for t in store.outbox()})
    for name in waiting:
        narrowed = _OutboxOf(store.data_dir, name)
        spec = config.environments.get(name)
        if spec is None:
            receipts += _untried(
                narrowed.outbox(),
                f"it was opened in environment '{name}', which the environments file no longer has",
            )
            continue
        receipts += _retry_to(name, spec.tickets, narrowed, narrowed.outbox())
    return receipts


def _retry_to(
    name: str, tickets: dict[str, Any] | None, store: TicketStore, waiting: list[StoredTicket]
) -> list[TicketReceipt]:
    # strict=False: a credential variable that is not set is reported per ticket (naming it), not raised.
    tracker = tracker_from_config(tickets, strict=False)
    if tracker is None:
        return _untried(waiting, f"environment '{name}' has no tracker configured (tickets:)")
    return retry_outbox(store=store, tracker=tracker)


def _untried(waiting: list[StoredTicket], why: str) -> list[TicketReceipt]:
    return [
        TicketReceipt(
            local_id=t.local_id,
            status="queued",
            tracker=t.tracker or "none",
            message=(
                f"{t.local_id} still waits in the outbox: {why}. Configure that tracker again, or deliver it "
                "to another environment's tracker with `runbook tickets retry --env NAME`."
            ),
        )
        for t in waiting
    ]
