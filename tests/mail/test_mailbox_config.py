"""An environment's `mailbox:` in environments.yaml: the forms it takes, the errors it gives (file:line, before
any browser), and the IMAP password read from a variable and kept secret."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from automation.environments import load_config, resolve
from automation.errors import ConfigError
from automation.mail import ImapConfig, MaildirConfig

HEAD = "environments:\n  qa:\n    apps: {site: http://127.0.0.1:9}\n"
IMAP = (
    "    mailbox:\n      type: imap\n      host: 127.0.0.1\n      port: 1143\n      tls: none\n"
    "      user_env: QA_MAIL_USER\n      password_env: QA_MAIL_PASSWORD\n"
)


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "environments.yaml"
    monkeypatch.setenv("RUNBOOK_CONFIG", str(path))
    monkeypatch.setenv("RUNBOOK_SECRETS_FILE", str(tmp_path / "no-secrets.env"))
    return path


def refused(config: Path, mailbox: str) -> str:
    config.write_text(HEAD + mailbox)
    with pytest.raises(ConfigError) as info:
        load_config(config)
    return str(info.value)


def test_an_unknown_mailbox_type_names_its_line_and_the_known_ones(config: Path) -> None:
    message = refused(config, "    mailbox:\n      type: pop3\n      host: mail.example.test\n")
    assert f"{config}:5:7: environments.qa.mailbox.type: unknown mailbox type 'pop3'" in message
    assert "imap, maildir, mbox" in message


def test_a_missing_field_names_the_mailbox_and_the_field(config: Path) -> None:
    message = refused(config, "    mailbox:\n      type: imap\n      user_env: U\n      password_env: P\n")
    assert (
        f"{config}:4:" in message and "environments.qa.mailbox" in message and "'host' is required" in message
    )


def test_a_misspelt_key_suggests_the_right_one(config: Path) -> None:
    message = refused(config, IMAP.replace("password_env", "pasword_env"))
    assert f"{config}:10:7:" in message and "did you mean password_env?" in message


def test_a_tls_mode_that_does_not_exist_is_refused_with_its_line(config: Path) -> None:
    message = refused(config, IMAP.replace("tls: none", "tls: tls1.3"))
    assert f"{config}:8:" in message and "'ssl', 'starttls' or 'none'" in message


def test_a_password_written_in_the_file_is_refused(config: Path) -> None:
    message = refused(config, IMAP + "      password: hunter2-hunter2\n")
    assert f"{config}:11:7:" in message and "password_env" in message
    assert "hunter2" not in message.split("\n")[0]


def test_a_maildir_path_is_read_from_the_environments_file_folder(config: Path) -> None:
    config.write_text(HEAD + "    mailbox: {type: maildir, path: mail/qa}\n")
    target = resolve("qa")
    assert isinstance(target.mailbox, MaildirConfig)
    assert Path(target.mailbox.path) == config.parent / "mail" / "qa"


def test_the_sandbox_and_outbox_url_forms_still_load(config: Path) -> None:
    config.write_text(HEAD + "    mailbox: http://127.0.0.1:8700/_sandbox/mail\n")
    assert resolve("qa").mailbox == "http://127.0.0.1:8700/_sandbox/mail"
    message = refused(config, "    mailbox: imap.example.test\n")
    assert f"{config}:4:" in message and "{type: imap" in message


def test_the_imap_login_comes_from_its_variables_and_the_password_is_a_secret(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from automation.engine.credentials import target_secrets

    config.write_text(HEAD + IMAP)
    monkeypatch.setenv("QA_MAIL_USER", "qa@example.test")
    monkeypatch.setenv("QA_MAIL_PASSWORD", "Mailbox-Secret-77")
    target = resolve("qa")
    assert isinstance(target.mailbox, ImapConfig) and target.mailbox.user == "qa@example.test"
    assert "Mailbox-Secret-77" in target_secrets(target)  # masked in the run's evidence like any password
    assert "Mailbox-Secret-77" not in repr(target.mailbox) + target.mailbox.model_dump_json()


RUNBOOK = """name: mailed-code
title: Read a mailed code
app: site
outcomes: {done: {status: resolved}}
steps:
  - ask: code
    prompt: The code
    secret: true
    from_mail: {to: qa@example.test, pattern: 'code is (\\d{6})'}
  - goto: /
"""


def test_an_unset_mailbox_variable_is_named_before_the_browser_starts(
    tmp_path: Path, config: Path, env: dict[str, str]
) -> None:
    config.write_text(HEAD + IMAP)
    book = tmp_path / "mailed-code.yaml"
    book.write_text(RUNBOOK)
    environ = {k: v for k, v in env.items() if not k.startswith("QA_MAIL_")}
    environ.update(RUNBOOK_CONFIG=str(config), QA_MAIL_USER="qa@example.test")
    environ["RUNBOOK_SECRETS_FILE"] = str(tmp_path / "no-secrets.env")
    proc = subprocess.run(
        [sys.executable, "-m", "automation.cli", "run", str(book), "--env", "qa"],
        env=environ, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "QA_MAIL_PASSWORD" in proc.stderr + proc.stdout and "Traceback" not in proc.stderr
    assert not (tmp_path / "BROWSER-STARTED").exists()
