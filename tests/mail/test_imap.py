"""The IMAP mailbox against a real dovecot: TLS (IMAPS and STARTTLS) verified against the server's own
certificate, reading without marking seen, mark_read, mail from before the run or to someone else ignored, a
refused login."""

from __future__ import annotations

import imaplib
import time
from typing import Any

import pytest
from sites.mail_site import code_mail

from automation.mail import ImapConfig, MailboxError, find_answer, open_mailbox

CODE = r"code is (\d{6})"


@pytest.fixture
def trusted(dovecot: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("SSL_CERT_FILE", str(dovecot.cert))
    return dovecot


def config(server: Any, tls: str = "ssl", password: str | None = None) -> ImapConfig:
    port = server.ssl_port if tls == "ssl" else server.port
    return ImapConfig(
        type="imap", host="127.0.0.1", port=port, tls=tls, user_env="U", password_env="P",  # type: ignore[arg-type]
        user=server.user, password=password or server.password,
    )  # fmt: skip


def append(server: Any, to: str, code: str) -> None:
    with imaplib.IMAP4("127.0.0.1", server.port) as conn:
        conn.login(server.user, server.password)
        conn.append("INBOX", None, None, code_mail(to, code))


def flags(server: Any) -> list[bytes]:
    with imaplib.IMAP4("127.0.0.1", server.port) as conn:
        conn.login(server.user, server.password)
        conn.select("INBOX")
        return [f for f in conn.fetch("1:*", "(FLAGS)")[1] if isinstance(f, bytes)]


def clear(server: Any) -> None:
    with imaplib.IMAP4("127.0.0.1", server.port) as conn:
        conn.login(server.user, server.password)
        if conn.select("INBOX")[1] != [b"0"]:  # an empty folder has no message set to flag
            conn.store("1:*", "+FLAGS", r"(\Deleted)")
            conn.expunge()


@pytest.mark.parametrize("tls", ["ssl", "starttls"])
def test_reading_keeps_the_mail_unseen_and_mark_read_marks_it(trusted: Any, tls: str) -> None:
    clear(trusted)
    since = time.time()
    append(trusted, "ana@example.test", "314159")
    with open_mailbox(config(trusted, tls)) as box:
        kept = find_answer(box, to="ana@example.test", pattern=CODE, subject=None, since=since, timeout_s=5)
    assert kept == "314159" and not any(b"\\Seen" in f for f in flags(trusted))
    with open_mailbox(config(trusted, tls)) as box:
        find_answer(
            box, to="ana@example.test", pattern=CODE, subject=None, since=since, timeout_s=5, then="mark_read"
        )
    assert any(b"\\Seen" in f for f in flags(trusted))


def test_mail_from_before_the_run_is_ignored(trusted: Any) -> None:
    clear(trusted)
    append(trusted, "ana@example.test", "111111")
    since = time.time() + 2  # the run starts after it arrived (IMAP's arrival time has whole seconds)
    with open_mailbox(config(trusted)) as box:
        found = find_answer(box, to="ana@example.test", pattern=CODE, subject=None, since=since, timeout_s=0)
    assert found is None


def test_a_newer_mail_to_another_recipient_is_not_taken(trusted: Any) -> None:
    # One mailbox, two customers (a shared test inbox): Bob's code arrives after Ana's, so it is the newest.
    clear(trusted)
    since = time.time()
    append(trusted, "ana@example.test", "111111")
    append(trusted, "bob@example.test", "222222")
    with open_mailbox(config(trusted)) as box:
        for_ana = find_answer(
            box, to="ana@example.test", pattern=CODE, subject=None, since=since, timeout_s=0
        )
        for_carol = find_answer(
            box, to="carol@example.test", pattern=CODE, subject=None, since=since, timeout_s=0
        )
    assert (for_ana, for_carol) == ("111111", None)


def test_a_certificate_the_machine_does_not_trust_is_refused(
    dovecot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    with pytest.raises(
        MailboxError, match="cannot reach the mailbox imap://127.0.0.1.*CERTIFICATE_VERIFY_FAILED"
    ):
        open_mailbox(config(dovecot)).mails("ana@example.test", 0)


def test_a_refused_login_says_so(trusted: Any) -> None:
    with pytest.raises(MailboxError, match="refused"):
        open_mailbox(config(trusted, password="not-the-password")).mails("ana@example.test", 0)
