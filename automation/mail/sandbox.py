"""The sandbox's mail outbox (GET /_sandbox/mail?to=ADDRESS, JSON, newest first): what its apps 'send'.
Every reset empties it, so all it holds is this run's (arranged state included, which a case may set up
before the run starts: `since` is not applied). It keeps no read state: mark_read and delete leave it as is."""

from __future__ import annotations

import httpx

from automation.mail.base import Mail, Mailbox, MailboxError


class SandboxOutbox(Mailbox):
    def __init__(self, url: str) -> None:
        self.url = url
        self.description = f"the mail outbox at {url}"

    def mails(self, to: str, since: float) -> list[Mail]:
        try:
            answer = httpx.get(self.url, params={"to": to}, timeout=5)
            answer.raise_for_status()
            rows = answer.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise MailboxError(f"cannot read {self.description}: {exc}") from None
        return [
            Mail(
                key=str(row.get("id", "")),
                recipients=frozenset({str(row.get("to", to)).lower()}),
                subject=str(row.get("subject", "")),
                text=str(row.get("text", "")),
                arrived=None,
            )
            for row in rows
        ]

    def mark_read(self, mail: Mail) -> None:
        """The outbox has no read state: nothing to do (its next reset empties it)."""

    def delete(self, mail: Mail) -> None:
        """The outbox keeps every mail until its next reset: nothing to do."""
