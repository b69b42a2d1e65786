"""Zendesk Support adapter.

Create: each file is uploaded raw to POST /api/v2/uploads.json?filename=NAME (its own Content-Type) for
an upload token; then POST /api/v2/tickets.json with the body as the first comment, the tokens in
`comment.uploads`, and the idempotency key as `external_id`. Before creating, GET
/api/v2/tickets.json?external_id=KEY finds a ticket opened by an earlier try whose answer was lost.
Comment: PUT /api/v2/tickets/{id}.json with a comment and its uploads.
Auth: basic `{email}/token:{api_token}`. Comments are internal notes (`public: false`): the body is
evidence for agents, and a public comment would e-mail the requester.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import httpx

from automation.errors import TicketError
from automation.tickets.base import RemoteRef
from automation.tickets.http_tracker import HttpTracker, read_files
from automation.tickets.models import Attachment, Ticket


def _tag(text: str) -> str:
    # Zendesk splits tags on spaces.
    return re.sub(r"\s+", "_", text.strip().lower())


class ZendeskTracker(HttpTracker):
    """Opens Zendesk tickets with an agent's email and API token."""

    def __init__(
        self,
        base_url: str,
        *,
        email: str,
        token: str,
        tags: Sequence[str] = (),
        timeout_s: float = 10.0,
        credential_vars: Sequence[str] = ("ZENDESK_EMAIL", "ZENDESK_TOKEN"),
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(
            base_url,
            timeout_s=timeout_s,
            credential_vars=credential_vars,
            auth=httpx.BasicAuth(f"{email}/token", token),
            transport=transport,
        )
        self.name = "zendesk"
        self.tags = [_tag(tag) for tag in tags]

    def create(self, ticket: Ticket, body: str, attachments: Sequence[Attachment]) -> RemoteRef:
        """Open the ticket unless one with this external_id exists.

        Raises TrackerUnavailable, TrackerAuthError, TicketError.
        """
        files = read_files(attachments)
        with self._client() as client:
            remote_id = self._find(client, ticket.idempotency_key)
            if remote_id is None:
                tokens = [self._upload(client, a, data) for a, data in files]
                remote_id = self._create_ticket(client, ticket, body, tokens)
        return RemoteRef(remote_id, f"{self.base_url}/agent/tickets/{remote_id}")

    def comment(
        self,
        remote_id: str,
        body: str,
        attachments: Sequence[Attachment],
        *,
        idempotency_key: str | None = None,
    ) -> None:
        """Add an internal comment with the files to ticket `remote_id`.

        Raises TrackerUnavailable, TrackerAuthError, TicketError.
        """
        files = read_files(attachments)
        with self._client() as client:
            tokens = [self._upload(client, a, data) for a, data in files]
            self._send(
                client,
                "PUT",
                f"{self.base_url}/api/v2/tickets/{remote_id}.json",
                f"comment on ticket {remote_id}",
                json={"ticket": {"comment": {"body": body, "uploads": tokens, "public": False}}},
            )

    def _find(self, client: httpx.Client, idempotency_key: str) -> str | None:
        response = self._send(
            client,
            "GET",
            f"{self.base_url}/api/v2/tickets.json",
            "look up an earlier delivery",
            params={"external_id": idempotency_key},
        )
        data = self._json(response, "look-up")
        tickets = data.get("tickets") if isinstance(data, dict) else None
        if not tickets or not isinstance(tickets[0], dict) or "id" not in tickets[0]:
            return None
        return str(tickets[0]["id"])

    def _upload(self, client: httpx.Client, attachment: Attachment, data: bytes) -> str:
        response = self._send(
            client,
            "POST",
            f"{self.base_url}/api/v2/uploads.json",
            f"upload {attachment.name}",
            params={"filename": attachment.name},
            headers={"Content-Type": attachment.content_type},
            content=data,
        )
        answer = self._json(response, "upload")
        token = (answer.get("upload") or {}).get("token") if isinstance(answer, dict) else None
        if not token:
            raise TicketError(f"zendesk: the answer to uploading {attachment.name} has no upload token")
        return str(token)

    def _create_ticket(self, client: httpx.Client, ticket: Ticket, body: str, tokens: list[str]) -> str:
        payload: dict[str, Any] = {
            "ticket": {
                "subject": " ".join(ticket.title.split()),
                "comment": {"body": body, "uploads": tokens, "public": False},
                "tags": list(dict.fromkeys([_tag(ticket.queue), "runbook", *self.tags])),
                "external_id": ticket.idempotency_key,
            }
        }
        response = self._send(
            client, "POST", f"{self.base_url}/api/v2/tickets.json", "create a ticket", json=payload
        )
        data = self._json(response, "create")
        created = data.get("ticket") if isinstance(data, dict) else None
        if not isinstance(created, dict) or "id" not in created:
            raise TicketError("zendesk: the answer to creating a ticket has no ticket id")
        return str(created["id"])
