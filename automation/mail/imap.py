"""An IMAP mailbox (imaplib), over TLS unless told otherwise. Messages are read with BODY.PEEK, so reading one
never marks it seen; only `then: mark_read` does."""

from __future__ import annotations

import imaplib
import ssl
import time
from datetime import UTC, datetime, timedelta

from automation.mail.base import Mail, Mailbox, MailboxError, addressed_to, parse_mail
from automation.mail.config import ImapConfig

TIMEOUT_S = 20.0


class ImapMailbox(Mailbox):
    def __init__(self, config: ImapConfig) -> None:
        self.config = config
        self.description = config.describe()
        self._conn: imaplib.IMAP4 | None = None
        self._seen: dict[str, Mail] = {}  # UID -> parsed mail, so each poll fetches only new messages

    def _connect(self) -> imaplib.IMAP4:
        if self._conn is not None:
            return self._conn
        c = self.config
        if not c.user or not c.password:
            missing = c.user_env if not c.user else c.password_env
            raise MailboxError(f"the mailbox {self.description} needs {missing} set in the environment")
        try:
            context = ssl.create_default_context()  # verifies the certificate and the host name
            if c.tls == "ssl":
                conn: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                    c.host, c.effective_port, ssl_context=context, timeout=TIMEOUT_S
                )
            else:
                conn = imaplib.IMAP4(c.host, c.effective_port, timeout=TIMEOUT_S)
                if c.tls == "starttls":
                    conn.starttls(ssl_context=context)
            conn.login(c.user, c.password)
            status, answer = conn.select(_quoted(c.folder))
            if status != "OK":
                raise MailboxError(
                    f"the mailbox {self.description}: folder '{c.folder}' cannot be opened ({_text(answer)})"
                )
        except MailboxError:
            raise
        except imaplib.IMAP4.error as exc:  # LOGIN refused, STARTTLS not offered...: the server's words
            raise MailboxError(f"the mailbox {self.description} refused: {exc}") from None
        except (OSError, ssl.SSLError) as exc:
            raise MailboxError(f"cannot reach the mailbox {self.description}: {exc}") from None
        self._conn = conn
        return conn

    def mails(self, to: str, since: float) -> list[Mail]:
        conn = self._connect()
        # SEARCH SINCE has day granularity and ignores the time zone: ask from the day before, filter exactly
        day = (datetime.fromtimestamp(since, UTC) - timedelta(days=1)).strftime("%d-%b-%Y")
        try:
            uids = _ok(conn.uid("SEARCH", "SINCE", day))[0].split()
            new = [u.decode() for u in uids if u.decode() not in self._seen]
            if new:
                self._fetch(conn, new)
        except imaplib.IMAP4.error as exc:
            raise MailboxError(f"reading the mailbox {self.description}: {exc}") from None
        except OSError as exc:
            self._conn = None  # reconnect on the next poll
            raise MailboxError(f"the mailbox {self.description} went away: {exc}") from None
        found = [
            m
            for m in self._seen.values()
            if m.arrived is not None and m.arrived >= since and addressed_to(m, to)
        ]
        return sorted(found, key=lambda m: (m.arrived or 0.0, int(m.key)), reverse=True)

    def _fetch(self, conn: imaplib.IMAP4, uids: list[str]) -> None:
        answer = _ok(conn.uid("FETCH", ",".join(uids), "(UID INTERNALDATE BODY.PEEK[])"))
        for item in answer:
            if not isinstance(item, tuple):
                continue
            head, raw = item
            fields = head.decode(errors="replace")
            uid = fields.split("UID ", 1)[1].split()[0].rstrip(")")
            stamp = imaplib.Internaldate2tuple(head)
            arrived = time.mktime(stamp) if stamp else None
            self._seen[uid] = parse_mail(uid, raw, arrived)

    def mark_read(self, mail: Mail) -> None:
        self._store(mail, r"(\Seen)")

    def delete(self, mail: Mail) -> None:
        conn = self._store(mail, r"(\Deleted)")
        try:
            if "UIDPLUS" in conn.capabilities:  # expunge only this one, not others flagged by someone else
                _ok(conn.uid("EXPUNGE", mail.key))
            else:
                _ok(conn.expunge())
        except imaplib.IMAP4.error as exc:
            raise MailboxError(f"deleting the mail in {self.description}: {exc}") from None
        self._seen.pop(mail.key, None)

    def _store(self, mail: Mail, flags: str) -> imaplib.IMAP4:
        conn = self._connect()
        try:
            _ok(conn.uid("STORE", mail.key, "+FLAGS", flags))
        except imaplib.IMAP4.error as exc:
            raise MailboxError(f"flagging the mail in {self.description}: {exc}") from None
        return conn

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.logout()
            except (imaplib.IMAP4.error, OSError):
                pass  # already gone: nothing is left to release


def _ok(reply: tuple[str, list[object]]) -> list[object]:
    status, data = reply
    if status != "OK":
        raise imaplib.IMAP4.error(_text(data))
    return data


def _text(data: list[object]) -> str:
    return " ".join(d.decode(errors="replace") if isinstance(d, bytes) else str(d) for d in data if d)


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'
