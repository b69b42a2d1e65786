"""An in-memory tracker for tests: it keeps what it receives and can be told to fail.

It implements automation.tickets.base.Tracker, the interface every adapter implements, so a test hands it to
open_ticket / retry_outbox where a Jira or Zendesk adapter would go. Nothing in the product uses it, so it
lives with the tests, not in the package."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from automation.errors import TicketError, TrackerUnavailable
from automation.tickets.base import RemoteRef, Tracker
from automation.tickets.models import Attachment, Ticket


@dataclass
class MemoryTicket:
    """A ticket as the double received it; attachments are read at delivery, as a real tracker would."""

    remote_id: str
    ticket: Ticket
    body: str
    attachments: dict[str, bytes]
    comments: list[MemoryComment] = field(default_factory=list)


@dataclass
class MemoryComment:
    body: str
    attachments: dict[str, bytes]
    idempotency_key: str | None


class MemoryTracker(Tracker):
    """Tracker double: honours idempotency keys like the real adapters and fails on request."""

    def __init__(self, name: str = "memory") -> None:
        self.name = name
        self.tickets: dict[str, MemoryTicket] = {}
        self.calls = 0
        self._failures: list[TicketError] = []
        self._lost_responses = 0

    def fail_next(self, times: int = 1, error: TicketError | None = None) -> None:
        """Make the next `times` calls raise `error` (TrackerUnavailable by default) without effect."""
        self._failures += [error or TrackerUnavailable(f"{self.name} is down (simulated)")] * times

    def lose_next_responses(self, times: int = 1) -> None:
        """Make the next `times` calls take effect and then raise TrackerUnavailable, like a lost answer."""
        self._lost_responses += times

    def create(self, ticket: Ticket, body: str, attachments: Sequence[Attachment]) -> RemoteRef:
        """Open the ticket unless one with the same idempotency key exists. Raises what fail_next set."""
        self._enter()
        existing = self._by_key(ticket.idempotency_key)
        if existing is None:
            existing = MemoryTicket(f"MEM-{len(self.tickets) + 1}", ticket, body, _read(attachments))
            self.tickets[existing.remote_id] = existing
        self._leave()
        return RemoteRef(existing.remote_id, f"memory://{existing.remote_id}")

    def comment(
        self,
        remote_id: str,
        body: str,
        attachments: Sequence[Attachment],
        *,
        idempotency_key: str | None = None,
    ) -> None:
        """Add a comment. Raises TicketError for an unknown remote id, or what fail_next set."""
        self._enter()
        if remote_id not in self.tickets:
            raise TicketError(f"{self.name}: no ticket {remote_id}")
        self.tickets[remote_id].comments.append(MemoryComment(body, _read(attachments), idempotency_key))
        self._leave()

    def _by_key(self, key: str) -> MemoryTicket | None:
        return next((t for t in self.tickets.values() if t.ticket.idempotency_key == key), None)

    def _enter(self) -> None:
        self.calls += 1
        if self._failures:
            raise self._failures.pop(0)

    def _leave(self) -> None:
        if self._lost_responses:
            self._lost_responses -= 1
            raise TrackerUnavailable(f"{self.name}: the answer was lost (simulated)")


def _read(attachments: Sequence[Attachment]) -> dict[str, bytes]:
    return {a.name: a.path.read_bytes() for a in attachments}
