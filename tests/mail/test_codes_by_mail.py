"""A runbook signs in with a code that a local site mails during the run, in real Chromium: read through IMAP
from a real dovecot, and from a Maildir that a real SMTP client (smtplib) delivered into via aiosmtpd. The run
ends verified, and the code appears in none of its evidence."""

from __future__ import annotations

import imaplib
import smtplib
import ssl
from pathlib import Path
from typing import Any

import pytest
from sites.mail_site import code_site

from automation.api import run
from automation.redaction.scan import find_secrets

HERE = Path(__file__).parent
RUNBOOK = HERE / "runbooks" / "sign-in-by-code.yaml"


def environments(tmp_path: Path, site_url: str, mailbox: str) -> Path:
    path = tmp_path / "environments.yaml"
    path.write_text(
        f"default: staging\nenvironments:\n  staging:\n    apps: {{shop: {site_url}}}\n    mailbox: {mailbox}\n"
    )
    return path


def run_sign_in(tmp_path: Path, browser: Any, email: str) -> Any:
    return run(
        RUNBOOK,
        {"email": email},
        env="staging",
        evidence_root=tmp_path / "traces",
        data_dir=tmp_path / "data",
        browser=browser,
    )


def assert_verified_without_leaking(result: Any, codes: list[str], tmp_path: Path) -> None:
    assert result.outcome == "verified", result.error
    assert codes, "the site mailed no code"
    assert find_secrets(tmp_path / "traces", codes, include_embedded=True) == []


def test_a_code_mailed_during_the_run_is_read_over_imap(
    dovecot: Any, tmp_path: Path, browser: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def deliver(to: str, raw: bytes) -> None:  # the site's mail reaches the user's INBOX on the IMAP server
        with imaplib.IMAP4("127.0.0.1", dovecot.port) as conn:
            conn.login(dovecot.user, dovecot.password)
            conn.append("INBOX", None, None, raw)

    monkeypatch.setenv("QA_MAIL_USER", dovecot.user)
    monkeypatch.setenv("QA_MAIL_PASSWORD", dovecot.password)
    monkeypatch.setenv("SSL_CERT_FILE", str(dovecot.cert))  # how a user trusts a private CA with OpenSSL
    with code_site(deliver) as site:
        mailbox = (
            f"{{type: imap, host: 127.0.0.1, port: {dovecot.ssl_port}, tls: ssl, "
            "user_env: QA_MAIL_USER, password_env: QA_MAIL_PASSWORD}"
        )
        monkeypatch.setenv("RUNBOOK_CONFIG", str(environments(tmp_path, site.url, mailbox)))
        result = run_sign_in(tmp_path, browser, dovecot.user)
        assert_verified_without_leaking(result, list(site.sent.values()), tmp_path)
    assert find_secrets(tmp_path / "traces", [dovecot.password], include_embedded=True) == []
    with imaplib.IMAP4_SSL("127.0.0.1", dovecot.ssl_port, ssl_context=ssl.create_default_context()) as conn:
        conn.login(dovecot.user, dovecot.password)
        conn.select("INBOX")
        assert conn.search(None, "ALL")[1] == [b""], "then: delete left the mail in the INBOX"


def test_a_code_delivered_over_smtp_into_a_maildir_is_read(
    smtp_maildir: Any, tmp_path: Path, browser: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def deliver(to: str, raw: bytes) -> None:  # a real SMTP client hands the mail to the SMTP server
        with smtplib.SMTP(smtp_maildir.host, smtp_maildir.port) as client:
            client.sendmail("no-reply@shop.example.test", [to], raw)

    with code_site(deliver) as site:
        mailbox = f"{{type: maildir, path: {smtp_maildir.maildir}}}"
        monkeypatch.setenv("RUNBOOK_CONFIG", str(environments(tmp_path, site.url, mailbox)))
        result = run_sign_in(tmp_path, browser, "ada@example.test")
        assert_verified_without_leaking(result, list(site.sent.values()), tmp_path)
    assert list((smtp_maildir.maildir / "new").iterdir()) == [], "then: delete left the mail in the Maildir"
