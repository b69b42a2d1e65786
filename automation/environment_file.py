"""The environments file: its pydantic models, read and checked whole, every error at its file:line.

The models alone do not say everything: the default environment exists, URLs are http(s), a mailbox is one of
the known kinds with its fields, a tracker's settings are valid. Turning an environment into a Target that a run
uses is environments.py's job.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from automation.errors import ConfigError, RunbookLoadError
from automation.paths import environments_file
from automation.yamlfile import Path_, Where, parse_yaml, read_yaml_text, suggest, vocabulary


class Credential(BaseModel):
    """A login. Real targets name environment variables; only sandbox entries carry values."""

    model_config = ConfigDict(extra="forbid")
    user: str | None = None
    password: str | None = None
    user_env: str | None = None
    password_env: str | None = None


class EnvironmentSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    description: str | None = None
    sandbox: bool = Field(default=False, description="Start the embedded sandbox for this environment")
    resettable: bool = Field(
        default=False, description="A sandbox served elsewhere: reset it before each run"
    )
    apps: dict[str, str] = Field(default_factory=dict)
    mailbox: str | dict[str, Any] | None = Field(
        default=None,
        description="'sandbox', the URL of a /_sandbox/mail endpoint, or {type: imap|maildir|mbox, ...} "
        "(see automation/mail/config.py)",
    )
    credentials: dict[str, Credential] = Field(default_factory=dict)
    sessions: dict[str, str] = Field(
        default_factory=dict,
        description="app -> a saved signed-in session (Playwright storage state JSON), e.g. to skip NetSuite's 2FA",
    )
    tickets: dict[str, Any] | None = Field(default=None, description="Tracker configuration")


class ConfigFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    default: str = "sandbox"
    environments: dict[str, EnvironmentSpec]


def load_config(path: Path | None = None) -> ConfigFile:
    """Read and check the whole environments file, trackers included. Raises ConfigError (with file:line)."""
    path = path or environments_file()
    try:
        text = read_yaml_text(path)
        data, positions = parse_yaml(text, str(path))
    except RunbookLoadError as exc:
        raise ConfigError(f"environments file {exc}") from None
    where = _ConfigWhere(Where(str(path), text, positions))
    if data is None:
        raise ConfigError(
            f"{path}: the environments file is empty. It needs at least one environment, e.g.\n"
            "  environments:\n    staging:\n      apps: {portal: https://staging.example.com}"
        )
    if not isinstance(data, dict):
        raise where.error("the environments file is a mapping with 'environments:' (and 'default:')", ())
    try:
        config = ConfigFile.model_validate(data)
    except ValidationError as exc:
        raise _validation_error(exc, where) from None
    _check_config(config, where)
    return config


@dataclass(frozen=True)
class _ConfigWhere:
    """The environments file being read: its errors are ConfigErrors (configuration, not a runbook) at a key's line."""

    file: Where

    def error(self, message: str, key_path: Path_) -> ConfigError:
        return ConfigError(str(self.file.error(message, key_path)))


_FIELDS = vocabulary([ConfigFile, EnvironmentSpec, Credential])


def _validation_error(exc: ValidationError, where: _ConfigWhere) -> ConfigError:
    errors = exc.errors(include_input=False, include_url=False)
    first = errors[0]
    loc, kind = tuple(first["loc"]), first["type"]
    if kind == "extra_forbidden":
        message = f"unknown key '{loc[-1]}'{suggest(str(loc[-1]), _FIELDS)}"
    elif kind == "missing":
        message = f"'{loc[-1]}' is required here"
        loc = loc[:-1]
    else:
        message = first["msg"].removeprefix("Value error, ")
    if len(errors) > 1:
        message += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
    return where.error(message, loc)


def _check_config(config: ConfigFile, where: _ConfigWhere) -> None:
    """What the models alone do not check: the default exists, URLs are http(s), trackers are valid."""
    for name, spec in config.environments.items():
        here: tuple[str | int, ...] = ("environments", name)
        for app, url in spec.apps.items():
            if not is_http_url(url):
                raise where.error(f"'{url[:80]}' is not an http(s) URL with a host", (*here, "apps", app))
        _check_mailbox(spec.mailbox, where, (*here, "mailbox"))
        if spec.tickets is None:  # the local store: the tracker models are not even imported (start-up cost)
            continue
        from automation.tickets.config import tracker_config_problems

        problems = tracker_config_problems(spec.tickets)
        if problems:
            loc, message = problems[0]
            raise where.error(f"tracker: {message}", (*here, "tickets", *loc))
    if "default" in config.model_fields_set and config.default not in config.environments:
        known = ", ".join(config.environments) or "none"
        raise where.error(f"'{config.default}' is not one of the environments (known: {known})", ("default",))


def _check_mailbox(
    mailbox: str | dict[str, Any] | None, where: _ConfigWhere, here: tuple[str | int, ...]
) -> None:
    """A mailbox is 'sandbox', an outbox URL, or a mapping of a known type with its fields. Raises ConfigError."""
    if mailbox is None or mailbox == "sandbox":
        return
    if isinstance(mailbox, str):
        if not is_http_url(mailbox):
            raise where.error(
                "write 'sandbox', the http(s) URL of a /_sandbox/mail endpoint, or a mailbox such as "
                "{type: imap, host: ..., user_env: ..., password_env: ...}",
                here,
            )
        return
    from automation.mail.config import MAILBOX_TYPES, WRITTEN_KEYS

    kind = mailbox.get("type")
    if kind is None:
        raise where.error(f"'type' is required here (one of: {', '.join(MAILBOX_TYPES)})", here)
    if kind not in MAILBOX_TYPES:
        raise where.error(
            f"unknown mailbox type '{kind}' (known: {', '.join(MAILBOX_TYPES)})", (*here, "type")
        )
    for key in ("user", "password"):
        if key in mailbox:
            raise where.error(
                f"write {key}_env: VARIABLE instead: the mailbox {key} is read from the environment "
                "(or the secrets file), never from this file",
                (*here, key),
            )
    try:
        MAILBOX_TYPES[kind].model_validate(mailbox)
    except ValidationError as exc:
        errors = exc.errors(include_input=False, include_url=False)
        # a misspelt key also leaves its right spelling missing: name the typo, with the suggestion
        first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
        loc, problem = tuple(first["loc"]), first["type"]
        if problem == "extra_forbidden":
            hint = (
                suggest(str(loc[-1]), WRITTEN_KEYS[kind]) or f" (it takes: {', '.join(WRITTEN_KEYS[kind])})"
            )
            message = f"unknown key '{loc[-1]}' for a {kind} mailbox{hint}"
        elif problem == "missing":
            message, loc = f"'{loc[-1]}' is required in a {kind} mailbox", loc[:-1]
        else:
            message = f"{first['msg']}"
        raise where.error(message, (*here, *loc)) from None


def is_http_url(url: str) -> bool:
    """An http(s) URL with a host."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)
