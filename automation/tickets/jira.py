"""Jira (Cloud REST v2, or Data Center) adapter.

Create: POST /rest/api/2/issue, then POST /rest/api/2/issue/{key}/attachments (multipart field "file",
header `X-Atlassian-Token: no-check`). Comment: POST /rest/api/2/issue/{key}/comment.
Jira has no idempotency header, so every issue carries the label `rb-<idempotency key>` and `create`
first searches for it: a retry after a lost answer finds the issue (and uploads only missing files).
Jira Cloud removed GET /rest/api/2/search in 2025 (CHANGE-2046); `search_path` defaults to its
replacement /rest/api/2/search/jql. Set it to /rest/api/2/search for Jira Data Center.
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

# Jira Cloud's issue search (GET /rest/api/2/search is gone there); Data Center wants /rest/api/2/search.
CLOUD_SEARCH_PATH = "/rest/api/2/search/jql"
_SUMMARY_MAX = 255


def key_label(idempotency_key: str) -> str:
    """The label that marks an issue as the one opened for this idempotency key."""
    return f"rb-{idempotency_key}"


def _label(text: str) -> str:
    # Jira labels cannot contain spaces.
    return re.sub(r"\s+", "-", text.strip())


class JiraTracker(HttpTracker):
    """Opens Jira issues with basic auth (account email + API token)."""

    def __init__(
        self,
        base_url: str,
        *,
        project: str,
        user: str,
        token: str,
        issue_type: str = "Task",
        labels: Sequence[str] = (),
        search_path: str = CLOUD_SEARCH_PATH,
        timeout_s: float = 10.0,
        credential_vars: Sequence[str] = ("JIRA_USER", "JIRA_TOKEN"),
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(
            base_url,
            timeout_s=timeout_s,
            credential_vars=credential_vars,
            auth=httpx.BasicAuth(user, token),
            transport=transport,
        )
        self.name = "jira"
        self.project = project
        self.issue_type = issue_type
        self.labels = [_label(label) for label in labels]
        self.search_path = search_path

    def create(self, ticket: Ticket, body: str, attachments: Sequence[Attachment]) -> RemoteRef:
        """Open the issue (or find it by its key label) and upload the files it lacks.

        Raises TrackerUnavailable, TrackerAuthError, TicketError.
        """
        files = read_files(attachments)
        with self._client() as client:
            found = self._find(client, ticket.idempotency_key)
            if found is None:
                key, present = self._create_issue(client, ticket, body), set()
            else:
                key, present = found
            missing = [(a, data) for a, data in files if a.name not in present]
            if missing:
                self._attach(client, key, missing)
        return RemoteRef(key, f"{self.base_url}/browse/{key}")

    def comment(
        self,
        remote_id: str,
        body: str,
        attachments: Sequence[Attachment],
        *,
        idempotency_key: str | None = None,
    ) -> None:
        """Upload the files to the issue, then add the comment naming them.

        Raises TrackerUnavailable, TrackerAuthError, TicketError.
        """
        files = read_files(attachments)
        with self._client() as client:
            if files:
                self._attach(client, remote_id, files)
            self._send(
                client,
                "POST",
                f"{self.base_url}/rest/api/2/issue/{remote_id}/comment",
                f"comment on {remote_id}",
                json={"body": body},
            )

    def _find(self, client: httpx.Client, idempotency_key: str) -> tuple[str, set[str]] | None:
        """The issue already opened for this key, with the names of its attachments."""
        response = self._send(
            client,
            "GET",
            f"{self.base_url}{self.search_path}",
            "search for an earlier delivery",
            params={
                "jql": f'labels = "{key_label(idempotency_key)}"',
                "fields": "attachment",
                "maxResults": 1,
            },
        )
        data = self._json(response, "search")
        issues = data.get("issues") if isinstance(data, dict) else None
        if not issues or not isinstance(issues[0], dict) or "key" not in issues[0]:
            return None
        issue = issues[0]
        names = {a.get("filename", "") for a in (issue.get("fields") or {}).get("attachment") or []}
        return str(issue["key"]), names

    def _create_issue(self, client: httpx.Client, ticket: Ticket, body: str) -> str:
        response = self._send(
            client,
            "POST",
            f"{self.base_url}/rest/api/2/issue",
            f"create an issue in project {self.project}",
            json={"fields": self._fields(ticket, body)},
        )
        data = self._json(response, "create")
        if not isinstance(data, dict) or "key" not in data:
            raise TicketError("jira: the answer to creating an issue has no issue key")
        return str(data["key"])

    def _fields(self, ticket: Ticket, body: str) -> dict[str, Any]:
        summary = " ".join(ticket.title.split())[:_SUMMARY_MAX]
        labels = [_label(ticket.queue), "runbook", key_label(ticket.idempotency_key), *self.labels]
        return {
            "project": {"key": self.project},
            "issuetype": {"name": self.issue_type},
            "summary": summary,
            "description": body,
            "labels": list(dict.fromkeys(label for label in labels if label)),
        }

    def _attach(self, client: httpx.Client, key: str, files: list[tuple[Attachment, bytes]]) -> None:
        self._send(
            client,
            "POST",
            f"{self.base_url}/rest/api/2/issue/{key}/attachments",
            f"attach {len(files)} file(s) to {key}",
            headers={"X-Atlassian-Token": "no-check"},
            files=[("file", (a.name, data, a.content_type)) for a, data in files],
        )
