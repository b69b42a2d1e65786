"""What every mailbox offers a `from_mail` question: the mails that arrived since a moment, and what to do with
the one that answered (keep it, mark it read, delete it).

A mail is matched on its text as a person reads it: text parts and HTML parts (stripped to their text), with
quoted-printable and base64 undone and each part's charset decoded, so a code in an HTML-only mail is found.
"""

from __future__ import annotations

import math
import re
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import getaddresses
from html.parser import HTMLParser

from automation import patterns

# the headers that can name a recipient: Delivered-To/X-Original-To hold a Bcc's address after delivery
RECIPIENT_HEADERS = ("to", "cc", "delivered-to", "x-original-to", "envelope-to")
THEN = ("keep", "mark_read", "delete")


class MailboxError(Exception):
    """A mailbox cannot be read (server refused, folder missing, file unreadable): the message says which."""


@dataclass(frozen=True)
class Mail:
    """One message, reduced to what matching needs. `key` identifies it in its mailbox for mark_read/delete."""

    key: str
    recipients: frozenset[str]  # addresses, lower-case
    subject: str
    text: str  # the text parts, then the HTML parts as text
    arrived: float | None  # epoch seconds the mailbox received it, when it knows


class Mailbox(ABC):
    """A place mails arrive. Implementations: IMAP, Maildir, mbox, the sandbox's outbox."""

    description: str  # for messages, e.g. "imap://mail.example.com/INBOX"

    @abstractmethod
    def mails(self, to: str, since: float) -> list[Mail]:
        """Mails to `to` that arrived at or after `since` (epoch seconds), newest first. Raises MailboxError."""

    @abstractmethod
    def mark_read(self, mail: Mail) -> None:
        """Mark the mail seen. Raises MailboxError."""

    @abstractmethod
    def delete(self, mail: Mail) -> None:
        """Remove the mail. Raises MailboxError."""

    def close(self) -> None:
        """Let go of connections and locks (most mailboxes hold none between polls)."""
        return None

    def __enter__(self) -> Mailbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def parse_mail(key: str, raw: bytes, arrived: float | None) -> Mail:
    """A Mail from the bytes of an RFC 5322 message."""
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return Mail(
        key=key,
        recipients=recipients_of(message),
        subject=str(message.get("subject", "")),
        text=readable_text(message),
        arrived=arrived,
    )


def recipients_of(message: EmailMessage) -> frozenset[str]:
    values = [str(v) for name in RECIPIENT_HEADERS for v in message.get_all(name, [])]
    return frozenset(addr.strip().lower() for _, addr in getaddresses(values) if addr)


def readable_text(message: EmailMessage) -> str:
    """The text parts, then the HTML parts stripped to text; attachments are left out."""
    texts: list[str] = []
    htmls: list[str] = []
    for part in message.walk():
        if part.is_multipart() or part.get_content_disposition() == "attachment":
            continue
        kind = part.get_content_type()
        if kind not in ("text/plain", "text/html"):
            continue
        try:
            content = part.get_content()  # undoes QP/base64 and decodes the charset
        except (LookupError, UnicodeError):  # an unknown or wrong charset: read what can be read
            payload = part.get_payload(decode=True) or b""
            content = payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else ""
        (texts if kind == "text/plain" else htmls).append(str(content))
    return "\n".join([*texts, *(html_to_text(h) for h in htmls)])


class _TextOfHtml(HTMLParser):
    BLOCKS = {"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "table", "td", "th"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "head", "title"):
            self._skip += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "head", "title"):
            self._skip = max(self._skip - 1, 0)
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """The text a reader sees: tags, scripts and styles gone, entities decoded, blanks collapsed per line."""
    parser = _TextOfHtml()
    parser.feed(html)
    parser.close()
    lines = (re.sub(r"[ \t\r\f\v\u00a0]+", " ", line).strip() for line in "".join(parser.parts).split("\n"))
    return "\n".join(line for line in lines if line)


def find_answer(
    mailbox: Mailbox,
    *,
    to: str,
    pattern: str,
    subject: str | None,
    since: float,
    timeout_s: float,
    then: str = "keep",
    poll_s: float = 0.5,
    clock: Callable[[], float] = time.monotonic,
    where: str = "from_mail.pattern",
) -> str | None:
    """Wait up to timeout_s for the newest mail to `to`, arrived since `since`, whose text matches `pattern`
    (and whose subject contains `subject`); return the pattern's first group (or whole match), else None.
    The mail found is then kept, marked read or deleted. Raises MailboxError; PatternTimeout (naming `where`,
    the pattern's file:line) when the pattern takes too long on a mail: anyone can send one."""
    # arrival times of some mailboxes (IMAP's INTERNALDATE) have whole seconds: compare from the second
    floor = math.floor(since)
    deadline = clock() + timeout_s
    while True:
        for mail in mailbox.mails(to, floor):
            if subject and subject.lower() not in mail.subject.lower():
                continue
            match = patterns.search(pattern, mail.text, where=where) or patterns.search(
                pattern, mail.subject, where=where
            )
            if match:
                if then == "mark_read":
                    mailbox.mark_read(mail)
                elif then == "delete":
                    mailbox.delete(mail)
                return patterns.kept(match)
        if clock() >= deadline:
            return None
        time.sleep(min(poll_s, max(deadline - clock(), 0.0)) or 0.01)


def addressed_to(mail: Mail, to: str) -> bool:
    return to.strip().lower() in mail.recipients


def arrived_since(mail: Mail, since: float) -> bool:
    return mail.arrived is None or mail.arrived >= since
