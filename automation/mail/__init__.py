"""Mailboxes a `from_mail` question reads its answer from: IMAP, Maildir, mbox, and the sandbox's outbox.

open_mailbox(target.mailbox)   -> a Mailbox (use it as a context manager)
find_answer(box, to=..., pattern=..., ...)   -> the code, or None when no mail matched in time
"""

from __future__ import annotations

from automation.mail.base import Mail, Mailbox, MailboxError, find_answer, html_to_text, parse_mail
from automation.mail.config import ImapConfig, MailboxConfig, MaildirConfig, MboxConfig

__all__ = [
    "ImapConfig",
    "Mail",
    "Mailbox",
    "MailboxConfig",
    "MailboxError",
    "MaildirConfig",
    "MboxConfig",
    "find_answer",
    "html_to_text",
    "open_mailbox",
    "parse_mail",
]


def open_mailbox(setting: str | ImapConfig | MaildirConfig | MboxConfig) -> Mailbox:
    """The Mailbox for an environment's resolved `mailbox:` (a URL is the sandbox's outbox)."""
    if isinstance(setting, str):
        from automation.mail.sandbox import SandboxOutbox

        return SandboxOutbox(setting)
    if isinstance(setting, ImapConfig):
        from automation.mail.imap import ImapMailbox

        return ImapMailbox(setting)
    from automation.mail.local import MaildirMailbox, MboxMailbox

    return MaildirMailbox(setting.path) if isinstance(setting, MaildirConfig) else MboxMailbox(setting.path)
