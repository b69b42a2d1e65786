"""The small interface every tracker adapter implements, and the errors adapters raise.

    TicketError (automation.errors)
    ├── TrackerUnavailable (automation.errors)  down, slow, 429 or 5xx: retry later, the ticket waits
    ├── TrackerAuthError                        401/403: the credential in the named env variable is wrong
    └── TrackerConfigError                      the tracker configuration or a credential variable is missing

`TrackerAuthError` and `TrackerConfigError` are defined here until they join automation/errors.py.
Adapters never put a credential value into a message: they name the environment variable that holds it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from automation.errors import TicketError

if TYPE_CHECKING:  # the interface names the models; the errors need no pydantic (environments.py checks)
    from automation.tickets.models import Attachment, Ticket


class TrackerAuthError(TicketError):
    """The tracker refused the credentials (401/403). Fix the variables named in the message, then retry."""


class TrackerConfigError(TicketError):
    """The tracker configuration is invalid or a credential variable is unset. Fix it, then retry."""


@dataclass(frozen=True)
class RemoteRef:
    """Where a ticket lives in the tracker."""

    remote_id: str
    url: str | None = None


class Tracker(ABC):
    """A place tickets are delivered to (Jira, Zendesk, a webhook; tests use tests/support/tracker_double.py)."""

    name: str = "tracker"

    @abstractmethod
    def create(self, ticket: Ticket, body: str, attachments: Sequence[Attachment]) -> RemoteRef:
        """Open the ticket, or find the one already opened under `ticket.idempotency_key`.

        Raises TrackerUnavailable (retry later), TrackerAuthError, TicketError.
        """

    @abstractmethod
    def comment(
        self,
        remote_id: str,
        body: str,
        attachments: Sequence[Attachment],
        *,
        idempotency_key: str | None = None,
    ) -> None:
        """Add a comment (and its attachments) to an existing remote ticket.

        Raises TrackerUnavailable (retry later), TrackerAuthError, TicketError.
        """
