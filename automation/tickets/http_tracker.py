"""The base of the HTTP ticket trackers (Jira, Zendesk, the webhook tracker), and the one place httpx enters:
it maps transport errors and statuses to ours.

Messages name the tracker, the action, the server's origin (never the path, which may hold a webhook
secret) and, for 401/403, the environment variables holding the credential — never their values.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx

from automation.errors import TicketError, TrackerUnavailable
from automation.tickets.base import Tracker, TrackerAuthError
from automation.tickets.models import Attachment

# 429 and these mean "try again later"; everything else in 4xx is a request the tracker will keep refusing.
_RETRYABLE = {408, 425, 429}
_EXCERPT = 300


def origin(url: str) -> str:
    """scheme://host[:port] of a URL: what error messages may show of it."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}" + (f":{parts.port}" if parts.port else "")


def read_files(attachments: Sequence[Attachment]) -> list[tuple[Attachment, bytes]]:
    """The attachments' bytes. Raises TicketError naming a file that cannot be read."""
    files = []
    for attachment in attachments:
        try:
            files.append((attachment, attachment.path.read_bytes()))
        except OSError as exc:
            raise TicketError(
                f"attachment {attachment.name} cannot be read at {attachment.path} ({exc.strerror})"
            ) from exc
    return files


class HttpTracker(Tracker):
    """Shared plumbing of the Jira, Zendesk and webhook adapters."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout_s: float,
        credential_vars: Sequence[str],
        auth: httpx.Auth | None = None,
        headers: dict[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.credential_vars = tuple(credential_vars)
        self._auth = auth
        self._headers = headers or {}
        self._transport = transport

    def _client(self) -> httpx.Client:
        # One short-lived client per operation: nothing to close, and no stale connection between retries.
        return httpx.Client(
            auth=self._auth,
            headers={"Accept": "application/json", **self._headers},
            timeout=self.timeout_s,
            transport=self._transport,
            follow_redirects=False,
        )

    def _send(
        self, client: httpx.Client, method: str, url: str, action: str, **kwargs: Any
    ) -> httpx.Response:
        """One request, with every httpx error and unwanted status translated.

        Raises TrackerUnavailable, TrackerAuthError, TicketError.
        """
        where = origin(url)
        try:
            response = client.request(method, url, **kwargs)
        except httpx.TimeoutException as exc:
            raise TrackerUnavailable(
                f"{self.name}: {action}: no answer from {where} within {self.timeout_s:g} s"
            ) from exc
        except httpx.TransportError as exc:
            raise TrackerUnavailable(
                f"{self.name}: {action}: cannot reach {where} ({type(exc).__name__}: {exc})"
            ) from exc
        except httpx.HTTPError as exc:
            # Redirect loops, undecodable bodies: the tracker will answer the same way next time.
            raise TicketError(f"{self.name}: {action}: {where}: {type(exc).__name__}: {exc}") from exc
        self._check_status(response, action, where)
        return response

    def _check_status(self, response: httpx.Response, action: str, where: str) -> None:
        status = response.status_code
        if status < 300:
            return
        if status in (401, 403):
            names = " / ".join(self.credential_vars) or "the tracker's credential variables"
            raise TrackerAuthError(
                f"{self.name}: {action}: {where} refused the credentials (HTTP {status}). "
                f"Check {names}: the account must exist and may create tickets there."
            )
        if status >= 500 or status in _RETRYABLE:
            raise TrackerUnavailable(f"{self.name}: {action}: {where} answered HTTP {status}")
        raise TicketError(
            f"{self.name}: {action}: {where} refused the request (HTTP {status}): {_excerpt(response)}"
        )

    def _json(self, response: httpx.Response, action: str) -> Any:
        """The response's JSON. Raises TicketError if the answer is not JSON (e.g. a proxy's login page)."""
        try:
            return response.json()
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise TicketError(
                f"{self.name}: {action}: {origin(str(response.url))} answered something that is not JSON: "
                f"{_excerpt(response)}"
            ) from exc


def _excerpt(response: httpx.Response) -> str:
    text = " ".join(response.text.split())
    return text[:_EXCERPT] + ("..." if len(text) > _EXCERPT else "") or "(empty body)"
