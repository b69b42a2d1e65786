"""The secrets an environment brings: its credentials' passwords, its mailbox's password, and passwords written into its apps' URLs
(`https://user:pass@host`), which a browser turns into an Authorization header and a trace writes down."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from automation.environments import Target
from automation.errors import ConfigError
from automation.redaction.canon import SecretTooShort, check_secret


def target_secrets(target: Target) -> set[str]:
    """Every password of `target`, as used. Raises ConfigError for one too short to mask (exit 2)."""
    given = [(f"the password of credentials '{n}'", c.get("password")) for n, c in target.credentials.items()]
    given += [
        (f"the password in the URL of app '{app}'", _url_password(url)) for app, url in target.apps.items()
    ]
    mailbox_password = getattr(target.mailbox, "password", None)  # an IMAP mailbox's, read from its variable
    given.append(("the password of the mailbox", mailbox_password))
    found: set[str] = set()
    for what, password in given:
        if not password:
            continue
        try:
            found.add(check_secret(password))
        except SecretTooShort as exc:
            raise ConfigError(f"environment '{target.name}': {what} cannot be kept secret: {exc}.") from None
    return found


def _url_password(url: str) -> str | None:
    try:
        password = urlsplit(url).password
    except ValueError:  # a malformed URL: opening it will say so, and it names no password we can tell
        return None
    return unquote(password) if password else None
