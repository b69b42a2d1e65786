"""Environments: app name -> base URL, credentials references and mailbox, from one documented file.

The default environment is the embedded sandbox, started on demand in this process (once) and reset to
its seed fixture before each run, so every run there starts from the same documented state.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import ConfigError

PACKAGED = Path(__file__).with_name("environments.yaml")


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
    mailbox: str | None = Field(default=None, description="'sandbox' or the URL of a /_sandbox/mail endpoint")
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
    mailbox: str | None = None
    credentials: dict[str, dict[str, str]] = field(default_factory=dict)
    tickets: dict[str, Any] | None = None
    sandbox: Any = None  # the SandboxServer when this is the embedded sandbox
    resettable: bool = False  # a sandbox reached over HTTP (never true for a real target)
    sessions: dict[str, Path] = field(default_factory=dict)  # app -> saved signed-in session (storage state)

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


def data_dir() -> Path:
    """Where the local ticket store and check history live: RUNBOOK_DATA, else ./.runbook."""
    return Path(os.environ.get("RUNBOOK_DATA", ".runbook"))


def config_path() -> Path:
    env = os.environ.get("RUNBOOK_CONFIG")
    if env:
        return Path(env)
    local = Path.cwd() / "environments.yaml"
    return local if local.exists() else PACKAGED


def load_config(path: Path | None = None) -> ConfigFile:
    """Read the environments file. Raises ConfigError."""
    path = path or config_path()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        return ConfigFile.model_validate(data)
    except OSError as exc:
        raise ConfigError(f"cannot read the environments file {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from exc
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"{path}: {where}: {first['msg']}") from exc


def parse_base_urls(pairs: list[str]) -> dict[str, str]:
    """['portal=http://...'] -> {'portal': 'http://...'}. Raises ConfigError naming the bad value."""
    out: dict[str, str] = {}
    for pair in pairs:
        app, sep, url = pair.partition("=")
        if not sep or not app.strip() or not url.strip().startswith(("http://", "https://")):
            raise ConfigError(f"--base-url '{pair}': write APP=URL, e.g. portal=https://staging.example.com")
        out[app.strip()] = url.strip()
    return out


_SANDBOX: Any = None


def embedded_sandbox() -> Any:
    """The process's sandbox, started on first use and stopped at exit."""
    global _SANDBOX
    if _SANDBOX is None:
        import atexit

        from .sandbox import SandboxServer

        _SANDBOX = SandboxServer().start()
        atexit.register(_SANDBOX.stop)
    return _SANDBOX


def _secret_file_values() -> dict[str, str]:
    """Optional ~/.config/runbook/secrets.env (KEY=VALUE lines), honoured only if readable by its owner alone."""
    path = Path(os.environ.get("RUNBOOK_SECRETS_FILE", Path.home() / ".config" / "runbook" / "secrets.env"))
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


def sandbox_target(server: Any, name: str = "sandbox") -> Target:
    """A Target for a running SandboxServer, with the sandbox's accounts as credentials."""
    spec = load_config(PACKAGED).environments["sandbox"]
    return Target(
        name=name,
        apps=dict(server.urls),
        mailbox=server.urls["portal"] + "/_sandbox/mail",
        credentials=_credentials(spec),
        sandbox=server,
    )


def resolve(name: str | None = None, base_urls: dict[str, str] | None = None) -> Target:
    """The environment to run in: --env, else RUNBOOK_ENV, else the file's default. Raises ConfigError."""
    config = load_config()
    name = name or os.environ.get("RUNBOOK_ENV") or config.default
    if name not in config.environments:
        known = ", ".join(sorted(config.environments))
        raise ConfigError(f"--env '{name}': no such environment (known: {known}) in {config_path()}")
    spec = config.environments[name]
    apps = dict(spec.apps)
    mailbox = spec.mailbox
    server = None
    if spec.sandbox:
        server = embedded_sandbox()
        apps = {**server.urls, **apps}
        if mailbox == "sandbox":
            mailbox = server.urls["portal"] + "/_sandbox/mail"
    for key, value in os.environ.items():
        if key.startswith("RUNBOOK_BASE_URL_") and value:
            apps[key.removeprefix("RUNBOOK_BASE_URL_").lower()] = value
    apps.update(base_urls or {})
    return Target(
        name=name,
        apps=apps,
        mailbox=mailbox,
        credentials=_credentials(spec),
        tickets=spec.tickets,
        sandbox=server,
        resettable=spec.resettable,
    )
