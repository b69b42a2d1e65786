"""The webhook ticket tracker: an adapter that delivers tickets by POSTing them to a URL the team controls
(`tickets: {type: webhook}` in an environment). Not to be confused with the checks' webhook *alert channel*
(automation.checks.alerting.channels.WebhookChannel), which posts alert notifications to a chat tool.

JSON mode: one JSON document (the ticket's fields, `event`, `body`, attachment names).
Multipart mode: the same JSON as a form part "ticket" plus one file part "attachment" per file.
Every request carries an `Idempotency-Key` header (the ticket's key; for comments a key of their own):
the receiver must treat a repeated key as the same ticket. A secret, if configured, goes in one header:
`Authorization: Bearer <secret>` by default, or the raw value in a header of your choice.
The answer may be JSON `{"id": ..., "url": ...}`; otherwise the idempotency key serves as remote id.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

import httpx

from automation.tickets.base import RemoteRef
from automation.tickets.http_tracker import HttpTracker, read_files
from automation.tickets.models import Attachment, Ticket


class WebhookTracker(HttpTracker):
    """Posts tickets and comments to one URL."""

    def __init__(
        self,
        url: str,
        *,
        secret: str | None = None,
        secret_header: str = "Authorization",
        multipart: bool = False,
        timeout_s: float = 10.0,
        credential_vars: Sequence[str] = (),
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {}
        if secret:
            is_auth = secret_header.lower() == "authorization"
            headers[secret_header] = f"Bearer {secret}" if is_auth else secret
        super().__init__(
            url, timeout_s=timeout_s, credential_vars=credential_vars, headers=headers, transport=transport
        )
        self.name = "webhook"
        self.url = url
        self.multipart = multipart

    def create(self, ticket: Ticket, body: str, attachments: Sequence[Attachment]) -> RemoteRef:
        """Post the ticket. Raises TrackerUnavailable, TrackerAuthError, TicketError."""
        fields = ticket.model_dump(mode="json", exclude={"attachments", "evidence_dir"})
        document = {"event": "ticket.created", **fields, "body": body}
        answer = self._post(document, attachments, ticket.idempotency_key, "post the ticket")
        remote_id = answer.get("id") or ticket.idempotency_key
        url = answer.get("url")
        return RemoteRef(str(remote_id), str(url) if url else None)

    def comment(
        self,
        remote_id: str,
        body: str,
        attachments: Sequence[Attachment],
        *,
        idempotency_key: str | None = None,
    ) -> None:
        """Post a comment on `remote_id`. Raises TrackerUnavailable, TrackerAuthError, TicketError."""
        key = idempotency_key or hashlib.sha256(f"{remote_id}\n{body}".encode()).hexdigest()[:24]
        document = {"event": "ticket.comment", "remote_id": remote_id, "body": body}
        self._post(document, attachments, key, f"post a comment on {remote_id}")

    def _post(
        self, document: dict[str, Any], attachments: Sequence[Attachment], key: str, action: str
    ) -> dict[str, Any]:
        files = read_files(attachments)
        document = {**document, "attachments": [a.name for a, _ in files]}
        headers = {"Idempotency-Key": key}
        with self._client() as client:
            if self.multipart:
                parts: list[tuple[str, Any]] = [("ticket", (None, json.dumps(document), "application/json"))]
                parts += [("attachment", (a.name, data, a.content_type)) for a, data in files]
                response = self._send(client, "POST", self.url, action, headers=headers, files=parts)
            else:
                response = self._send(client, "POST", self.url, action, headers=headers, json=document)
        return _answer(response)


def _answer(response: httpx.Response) -> dict[str, Any]:
    # A receiver owes us nothing but a 2xx: an empty or non-JSON answer is fine.
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
