"""Environments: app name -> base URL, credentials and mailbox, resolved into the Target a run uses.

The environments file itself (its models, reading it with file:line errors) is environment_file.py; the
optional secrets file is secrets_file.py. The default environment is the embedded sandbox, started on demand
in this process (once) and reset to its seed fixture before each run, so every run there starts from the same
documented state.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from automation.environment_file import EnvironmentSpec, is_http_url, load_config
from automation.errors import ConfigError
from automation.paths import PACKAGED_ENVIRONMENTS, data_dir, environment_name, environments_file
from automation.secrets_file import secret_file_values

if TYPE_CHECKING:
    from automation.mail.config import ImapConfig, MaildirConfig, MboxConfig

    MailboxSpec = str | ImapConfig | MaildirConfig | MboxConfig  # str: the URL of a sandbox's outbox

# automation.mail (its models, the mail parser) is imported only for a mailbox written as a mapping (IMAP,
# Maildir, mbox): the sandbox's outbox is a URL, and most runs read no mail at all (start-up cost, issue 12).

# load_config is named here too: where its importers have always found it.
__all__ = [
    "Target",
    "embedded_sandbox",
    "load_config",
    "missing_mailbox_variables",
    "parse_base_urls",
    "resolve",
    "sandbox_target",
    "sandbox_token_file",
]

# A sandbox's state-changing control routes want its token in this header (automation/sandbox/app.py's
# TOKEN_HEADER: the runner does not import the sandbox). A served sandbox's token comes from this variable
# (or the secrets file), else from the file `runbook sandbox serve` writes in the data folder.
SANDBOX_TOKEN_HEADER = "X-Runbook-Sandbox-Token"
SANDBOX_TOKEN_VAR = "RUNBOOK_SANDBOX_TOKEN"


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
    sandbox_token: str | None = None  # what the sandbox's control routes want (the embedded one's, or served)
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

    def sandbox_control(self, base: str, route: str, body: Any, *, timeout: float) -> Any:
        """POST JSON to one of the sandbox's /_sandbox routes with its token, the only requests they take that
        change anything (without a token, the sandbox's 403 says what it wants). Returns the httpx response."""
        import httpx  # here: a run on a real target never needs it (start-up cost, issue 12)

        headers = {SANDBOX_TOKEN_HEADER: self.sandbox_token} if self.sandbox_token else {}
        return httpx.post(f"{base}/_sandbox/{route}", json=body, headers=headers, timeout=timeout)

    def base_url(self, app: str) -> str:
        try:
            return self.apps[app].rstrip("/")
        except KeyError:
            known = ", ".join(sorted(self.apps)) or "none"
            raise ConfigError(
                f"environment '{self.name}' has no URL for app '{app}' (it has: {known}). "
                f"Give one with --base-url {app}=URL or RUNBOOK_BASE_URL_{app.upper()}=URL."
            ) from None


def _mailbox(spec: EnvironmentSpec, file: Path) -> MailboxSpec | None:
    """The environment's mailbox, checked by load_config: IMAP's login read from its variables (None if unset,
    refused before a run that reads mail: see missing_mailbox_variables), a relative path from the file's folder."""
    raw = spec.mailbox
    if raw is None or isinstance(raw, str):
        return raw
    from automation.mail.config import MAILBOX_TYPES, ImapConfig, MaildirConfig, MboxConfig

    config = MAILBOX_TYPES[raw["type"]].model_validate(raw)
    if isinstance(config, ImapConfig):
        values = {**secret_file_values(), **{k: v for k, v in os.environ.items() if v}}
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


def parse_base_urls(pairs: list[str]) -> dict[str, str]:
    """['portal=http://...'] -> {'portal': 'http://...'}. Raises ConfigError naming the bad value."""
    out: dict[str, str] = {}
    for pair in pairs:
        app, sep, url = pair.partition("=")
        if not sep or not app.strip() or not is_http_url(url):
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
                    file_values = secret_file_values()
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
        sandbox_token=server.token,
    )


def sandbox_token_file() -> Path:
    """Where `runbook sandbox serve` writes its token (0600), and where engines on this machine find it."""
    return data_dir() / "sandbox-token"


def _served_sandbox_token(spec: EnvironmentSpec) -> str | None:
    """A resettable (served) sandbox's token: RUNBOOK_SANDBOX_TOKEN (the environment, else the secrets file), else the file
    the last `runbook sandbox serve` with this data folder wrote; None when there is none (the sandbox's 403
    then says what it wants)."""
    if not spec.resettable:
        return None  # a real target: it gets no sandbox token
    given = os.environ.get(SANDBOX_TOKEN_VAR) or secret_file_values().get(SANDBOX_TOKEN_VAR)
    if given:
        return given.strip()
    try:
        return sandbox_token_file().read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


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
        sandbox_token=server.token if server is not None else _served_sandbox_token(spec),
        credential_env=_credential_env(spec),
    )


def _url_overrides() -> dict[str, str]:
    """app -> URL from RUNBOOK_BASE_URL_<APP> variables. Raises ConfigError for one that is not http(s)."""
    found: dict[str, str] = {}
    for key, value in os.environ.items():
        if key.startswith("RUNBOOK_BASE_URL_") and value:
            if not is_http_url(value):
                raise ConfigError(
                    f"{key}='{value[:80]}': give an http(s) URL, e.g. https://staging.example.com"
                )
            found[key.removeprefix("RUNBOOK_BASE_URL_").lower()] = value
    return found
