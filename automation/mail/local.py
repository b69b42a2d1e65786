"""Mail folders on this machine, read with the standard library's mailbox module: a Maildir (what an SMTP
server or an MDA delivers into) and an mbox file. A Maildir's arrival time is its file's modification time
(set by delivery); an mbox's is its 'From ' line's date, else the Date header."""

from __future__ import annotations

import mailbox
from datetime import UTC
from email.utils import parsedate_to_datetime
from pathlib import Path

from automation.mail.base import Mail, Mailbox, MailboxError, addressed_to, arrived_since, parse_mail


class MaildirMailbox(Mailbox):
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.description = f"maildir {self.path}"

    def _open(self) -> mailbox.Maildir:
        if not (self.path / "new").is_dir() and not (self.path / "cur").is_dir():
            raise MailboxError(f"{self.description}: no Maildir there (it has no new/ or cur/ folder)")
        return mailbox.Maildir(self.path, factory=None, create=False)

    def mails(self, to: str, since: float) -> list[Mail]:
        box = self._open()
        found = []
        try:
            for key in box.iterkeys():
                try:
                    arrived = box.get_message(key).get_date()  # the file's mtime: when it was delivered
                    raw = box.get_bytes(key)
                except (KeyError, FileNotFoundError):
                    continue  # moved or deleted by someone else since the listing
                mail = parse_mail(key, raw, arrived)
                if arrived_since(mail, since) and addressed_to(mail, to):
                    found.append(mail)
        except OSError as exc:
            raise MailboxError(f"reading {self.description}: {exc}") from None
        return sorted(found, key=lambda m: m.arrived or 0.0, reverse=True)

    def mark_read(self, mail: Mail) -> None:
        box = self._open()
        try:
            message = box.get_message(mail.key)
            message.set_subdir("cur")
            message.add_flag("S")
            box[mail.key] = message
        except (KeyError, OSError) as exc:
            raise MailboxError(f"marking the mail read in {self.description}: {exc}") from None

    def delete(self, mail: Mail) -> None:
        try:
            self._open().discard(mail.key)
        except OSError as exc:
            raise MailboxError(f"deleting the mail in {self.description}: {exc}") from None


class MboxMailbox(Mailbox):
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.description = f"mbox {self.path}"

    def _open(self) -> mailbox.mbox:
        if not self.path.is_file():
            raise MailboxError(f"{self.description}: no such file")
        return mailbox.mbox(self.path, factory=None, create=False)

    def mails(self, to: str, since: float) -> list[Mail]:
        box = self._open()
        found = []
        try:
            for key in box.iterkeys():
                message = box.get_message(key)
                mail = parse_mail(str(key), box.get_bytes(key), _arrived(message))
                if arrived_since(mail, since) and addressed_to(mail, to):
                    found.append(mail)
        except OSError as exc:
            raise MailboxError(f"reading {self.description}: {exc}") from None
        finally:
            box.close()
        return sorted(found, key=lambda m: (m.arrived or 0.0, int(m.key)), reverse=True)

    def mark_read(self, mail: Mail) -> None:
        self._change(mail, read=True)

    def delete(self, mail: Mail) -> None:
        self._change(mail, read=False)

    def _change(self, mail: Mail, *, read: bool) -> None:
        box = self._open()
        box.lock()  # other mail programs honour the lock while the file is rewritten
        try:
            key = int(mail.key)
            if read:
                message = box.get_message(key)
                message.add_flag("R")
                box[key] = message
            else:
                box.discard(key)
            box.flush()
        except (KeyError, OSError, mailbox.Error) as exc:
            raise MailboxError(f"changing the mail in {self.description}: {exc}") from None
        finally:
            box.unlock()
            box.close()


def _arrived(message: mailbox.mboxMessage) -> float | None:
    """The delivery time on the 'From sender date' line, else the Date header; None when neither parses."""
    line = message.get_from()
    parts = line.split(None, 1)
    for text in (parts[1] if len(parts) > 1 else "", str(message.get("date", ""))):
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            continue
        # a 'From ' line has no zone: mail programs (and Python's mailbox) write it in UTC
        return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()
    return None
