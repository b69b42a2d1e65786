"""Environments: app name -> base URL, credentials references and mailbox, from one documented file.

The default environment is the embedded sandbox, started on demand in this process (once) and reset to
its seed fixture before each run, so every run there starts from the same documented state.
"""

from __future__ import annotations

import difflib
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from automation.errors import ConfigError, RunbookLoadError
from automation.paths import PACKAGED_ENVIRONMENTS, environment_name, environments_file, secrets_file

if TYPE_CHECKING:
    from automation.mail.config import ImapConfig, MaildirConfig, MboxConfig

    MailboxSpec = str | ImapConfig | MaildirConfig | MboxConfig  # str: the URL of a sandbox's outbox

# automation.mail (its models, the mail parser) is imported only for a mailbox written as a mapping (IMAP,
# Maildir, mbox): the sandbox's outbox is a URL, and most runs read no mail at all (start-up cost, issue 12).


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


@dataclass
class Target:
    """A resolved environment: what a run needs to reach its apps."""

    name: str
    apps: dict[str, str]
    mailbox: MailboxSpec | None = None
    credentials: dict[str, dict[str, str]] = field(default_factory=dict)
    tickets: dict[str, Any] | None = None
    sandbox: Any = None  # the SandboxServer when this is the embedded sandbox
    resettable: bool = False  # a sandbox reached over HTTP (never true for a real target)
    sessions: dict[str, Path] = field(default_factory=dict)  # app -> saved signed-in session (storage state)
    # credentials name -> part (user, password) -> the variable it is read from, to name it when unset
    credential_env: dict[str, dict[str, str]] = field(default_factory=dict)

    def session_for(self, app: str) -> Path | None:
        """The saved session for an app. Raises ConfigError if one is configured but missing or readable by others."""
        path = self.sessions.get(app)
        if path is None:
            return None
        if not path.exists():
            raise ConfigError(
                f"environment '{self.name}': no saved session for {app} at {path}. "
                f"Create it with: runbook session save {app} --env {self.name}"
            )
        if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ConfigError(
                f"{path} holds a signed-in session and is readable by others; run: chmod 600 {path}"
            )
        return path

    def base_url(self, app: str) -> str:
        try:
            return self.apps[app].rstrip("/")
        except KeyError:
            known = ", ".join(sorted(self.apps)) or "none"
            raise ConfigError(
                f"environment '{self.name}' has no URL for app '{app}' (it has: {known}). "
                f"Give one with --base-url {app}=URL or RUNBOOK_BASE_URL_{app.upper()}=URL."
            ) from None


def load_config(path: Path | None = None) -> ConfigFile:
    """Read and check the whole environments file, trackers included. Raises ConfigError (with file:line)."""
    from automation.yamlfile import parse_yaml, read_yaml_text

    path = path or environments_file()
    try:
        text = read_yaml_text(path)
        data, positions = parse_yaml(text, str(path))
    except RunbookLoadError as exc:
        raise ConfigError(f"environments file {exc}") from None
    where = _Where(str(path), text, positions)
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


@dataclass
class _Where:
    """The environments file's text and key positions, to point errors at their line."""

    source: str
    text: str
    positions: dict[Any, tuple[int, int]]

    def error(self, message: str, key_path: tuple[str | int, ...]) -> ConfigError:
        from automation.yamlfile import error_at_key

        return ConfigError(str(error_at_key(message, self.source, self.text, self.positions, key_path)))


_FIELDS = sorted({*ConfigFile.model_fields, *EnvironmentSpec.model_fields, *Credential.model_fields})


def _validation_error(exc: ValidationError, where: _Where) -> ConfigError:
    errors = exc.errors(include_input=False, include_url=False)
    first = errors[0]
    loc, kind = tuple(first["loc"]), first["type"]
    if kind == "extra_forbidden":
        close = difflib.get_close_matches(str(loc[-1]), _FIELDS, n=1)
        message = f"unknown key '{loc[-1]}'" + (f" (did you mean {close[0]}?)" if close else "")
    elif kind == "missing":
        message = f"'{loc[-1]}' is required here"
        loc = loc[:-1]
    else:
        message = first["msg"].removeprefix("Value error, ")
    if len(errors) > 1:
        message += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
    return where.error(message, loc)


def _check_config(config: ConfigFile, where: _Where) -> None:
    """What the models alone do not check: the default exists, URLs are http(s), trackers are valid."""
    for name, spec in config.environments.items():
        here: tuple[str | int, ...] = ("environments", name)
        for app, url in spec.apps.items():
            if not _is_http_url(url):
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


def _check_mailbox(mailbox: str | dict[str, Any] | None, where: _Where, here: tuple[str | int, ...]) -> None:
    """A mailbox is 'sandbox', an outbox URL, or a mapping of a known type with its fields. Raises ConfigError."""
    if mailbox is None or mailbox == "sandbox":
        return
    if isinstance(mailbox, str):
        if not _is_http_url(mailbox):
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
            close = difflib.get_close_matches(str(loc[-1]), WRITTEN_KEYS[kind], n=1)
            message = f"unknown key '{loc[-1]}' for a {kind} mailbox" + (
                f" (did you mean {close[0]}?)" if close else f" (it takes: {', '.join(WRITTEN_KEYS[kind])})"
            )
        elif problem == "missing":
            message, loc = f"'{loc[-1]}' is required in a {kind} mailbox", loc[:-1]
        else:
            message = f"{first['msg']}"
        raise where.error(message, (*here, *loc)) from None


def _mailbox(spec: EnvironmentSpec, file: Path) -> MailboxSpec | None:
    """The environment's mailbox, checked by load_config: IMAP's login read from its variables (None if unset,
    refused before a run that reads mail: see missing_mailbox_variables), a relative path from the file's folder."""
    raw = spec.mailbox
    if raw is None or isinstance(raw, str):
        return raw
    from automation.mail.config import MAILBOX_TYPES, ImapConfig, MaildirConfig, MboxConfig

    config = MAILBOX_TYPES[raw["type"]].model_validate(raw)
    if isinstance(config, ImapConfig):
        values = {**_secret_file_values(), **{k: v for k, v in os.environ.items() if v}}
        return config.model_copy(
            update={"user": values.get(config.user_env), "password": values.get(config.password_env)}
        )
    assert isinstance(config, MaildirConfig | MboxConfig)
    path = Path(config.path).expanduser()
    return config.model_copy(update={"path": str(path if path.is_absolute() else file.parent / path)})


def missing_mailbox_variables(target: Target) -> list[str]:
    """The variables an IMAP mailbox needs that are not set (in the environment or the secrets file)."""
    box = target.mailbox
    if box is None or isinstance(box, str):  # no mailbox, or a sandbox's outbox: no login to read
        return []
    from automation.mail.config import ImapConfig

    if not isinstance(box, ImapConfig):
        return []
    return [env for env, value in ((box.user_env, box.user), (box.password_env, box.password)) if not value]


def _is_http_url(url: str) -> bool:
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def parse_base_urls(pairs: list[str]) -> dict[str, str]:
    """['portal=http://...'] -> {'portal': 'http://...'}. Raises ConfigError naming the bad value."""
    out: dict[str, str] = {}
    for pair in pairs:
        app, sep, url = pair.partition("=")
        if not sep or not app.strip() or not _is_http_url(url):
            raise ConfigError(f"--base-url '{pair}': write APP=URL, e.g. portal=https://staging.example.com")
        out[app.strip()] = url.strip()
    return out


_SANDBOX: Any = None


def embedded_sandbox() -> Any:
    """The process's sandbox, started on first use and stopped at exit."""
    global _SANDBOX
    if _SANDBOX is None:
        import atexit

        from automation.sandbox import SandboxServer

        _SANDBOX = SandboxServer().start()
        atexit.register(_SANDBOX.stop)
    return _SANDBOX


def _secret_file_values() -> dict[str, str]:
    """Optional ~/.config/runbook/secrets.env (KEY=VALUE lines), honoured only if readable by its owner alone."""
    path = secrets_file()
    if not path.exists():
        return {}
    if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(f"{path} is readable by others; run: chmod 600 {path}")
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        key, sep, value = line.partition("=")
        if sep and not line.lstrip().startswith("#"):
            values[key.strip()] = value.strip()
    return values


def _credentials(spec: EnvironmentSpec) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    file_values: dict[str, str] | None = None
    for name, cred in spec.credentials.items():
        entry: dict[str, str] = {}
        for part in ("user", "password"):
            value = getattr(cred, part)
            env_name = getattr(cred, f"{part}_env")
            if value is None and env_name:
                if file_values is None:
                    file_values = _secret_file_values()
                value = os.environ.get(env_name) or file_values.get(env_name)
            if value is not None:
                entry[part] = value
        out[name] = entry
    return out


def _credential_env(spec: EnvironmentSpec) -> dict[str, dict[str, str]]:
    return {
        name: {part: env for part in ("user", "password") if (env := getattr(cred, f"{part}_env"))}
        for name, cred in spec.credentials.items()
    }


def sandbox_target(server: Any, name: str = "sandbox") -> Target:
    """A Target for a running SandboxServer, with the sandbox's accounts as credentials."""
    spec = load_config(PACKAGED_ENVIRONMENTS).environments["sandbox"]
    return Target(
        name=name,
        apps=dict(server.urls),
        mailbox=server.urls["portal"] + "/_sandbox/mail",
        credentials=_credentials(spec),
        sandbox=server,
    )


def resolve(
    name: str | None = None, base_urls: dict[str, str] | None = None, *, needs: set[str] | None = None
) -> Target:
    """The environment to run in: --env, else RUNBOOK_ENV, else the file's default. Raises ConfigError.

    `needs`: the apps the run opens. When each of them has a URL of its own (--base-url,
    RUNBOOK_BASE_URL_<APP>, the environment's apps:), a sandbox environment does not start the embedded
    sandbox: the target is then named 'base-url', without the sandbox's accounts and mail outbox."""
    config = load_config()
    name = name or environment_name() or config.default
    if name not in config.environments:
        known = ", ".join(sorted(config.environments))
        raise ConfigError(f"--env '{name}': no such environment (known: {known}) in {environments_file()}")
    spec = config.environments[name]
    if spec.sandbox and needs is not None and needs <= {*spec.apps, *_url_overrides(), *(base_urls or {})}:
        spec = spec.model_copy(update={"sandbox": False, "credentials": {}, "mailbox": None})
        name = "base-url"
    apps = dict(spec.apps)
    mailbox = _mailbox(spec, environments_file())
    server = None
    if spec.sandbox:
        server = embedded_sandbox()
        apps = {**server.urls, **apps}
        if mailbox == "sandbox":
            mailbox = server.urls["portal"] + "/_sandbox/mail"
    apps.update(_url_overrides())
    apps.update(base_urls or {})
    return Target(
        name=name,
        apps=apps,
        mailbox=mailbox,
        credentials=_credentials(spec),
        tickets=spec.tickets,
        sandbox=server,
        resettable=spec.resettable,
        credential_env=_credential_env(spec),
    )


def _url_overrides() -> dict[str, str]:
    """app -> URL from RUNBOOK_BASE_URL_<APP> variables. Raises ConfigError for one that is not http(s)."""
    found: dict[str, str] = {}
    for key, value in os.environ.items():
        if key.startswith("RUNBOOK_BASE_URL_") and value:
            if not _is_http_url(value):
                raise ConfigError(
                    f"{key}='{value[:80]}': give an http(s) URL, e.g. https://staging.example.com"
                )
            found[key.removeprefix("RUNBOOK_BASE_URL_").lower()] = value
    return found
