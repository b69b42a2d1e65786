"""The checks file as the scheduler uses it: each Check with its defaults applied and its durations in
seconds, the alert channels, and the input values read when a check runs."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from automation.checks.config.schedule import Schedule, Window, active_window, describe
from automation.checks.config.spec import FromCredential, FromEnv
from automation.checks.model import AlertRule, CheckInfo
from automation.errors import ConfigError, RunbookLoadError
from automation.yamlfile import suggest


class ChecksFileError(RunbookLoadError):
    """The checks file is malformed (file:line:column, the key, a suggestion). Exit 2; nothing ran."""

    @classmethod
    def of(cls, error: RunbookLoadError) -> ChecksFileError:
        return cls(
            error.message, path=error.path, line=error.line, column=error.column, snippet=error.snippet
        )


@dataclass(frozen=True)
class ChannelConfig:
    kind: str  # "ticket" or "webhook"
    queue: str = "operations"
    url: str | None = None
    url_env: str | None = None
    secret_env: str | None = None

    @property
    def id(self) -> str:
        """How history names this channel (stable across restarts)."""
        if self.kind == "ticket":
            return f"ticket:{self.queue}"
        return f"webhook:{self.url_env or _host(self.url or '')}"


@dataclass(frozen=True)
class Check:
    """One check, its defaults applied and its durations in seconds."""

    name: str
    title: str
    runbook: str
    env: str
    schedule: Schedule
    timeout_s: float
    attempts: int = 1
    backoff_s: float = 10.0
    inputs: dict[str, Any] = field(default_factory=dict)
    degraded_run_s: float | None = None
    degraded_steps: dict[str, float] = field(default_factory=dict)
    rule: AlertRule = field(default_factory=AlertRule)
    channels: tuple[ChannelConfig, ...] = ()
    windows: tuple[Window, ...] = ()
    screenshots: str = "each-step"
    enabled: bool = True
    line: int | None = None

    def info(self) -> CheckInfo:
        return CheckInfo(
            name=self.name,
            title=self.title,
            runbook=self.runbook,
            env=self.env,
            schedule=describe(self.schedule),
            timeout_s=self.timeout_s,
            degraded_run_s=self.degraded_run_s,
            degraded_steps=dict(self.degraded_steps),
        )


@dataclass(frozen=True)
class ChecksConfig:
    checks: dict[str, Check]
    passed_s: float
    failed_s: float
    path: Path | None = None

    def select(self, names: list[str]) -> list[Check]:
        """The named checks (all when none is named). Raises ConfigError naming an unknown one."""
        if not names:
            return [c for c in self.checks.values() if c.enabled]
        unknown = [n for n in names if n not in self.checks]
        if unknown:
            known = sorted(self.checks)
            raise ConfigError(
                f"no check named '{unknown[0]}'{suggest(unknown[0], known)}; known: {', '.join(known)}"
            )
        return [self.checks[n] for n in names]


def resolve_inputs(check: Check, credentials: dict[str, dict[str, str]]) -> dict[str, Any]:
    """The check's input values, references read now. Raises ConfigError naming a missing variable."""
    values: dict[str, Any] = {}
    for name, value in check.inputs.items():
        if isinstance(value, FromEnv):
            found = os.environ.get(value.env)
            if found in (None, ""):
                raise ConfigError(
                    f"check '{check.name}': input '{name}' comes from ${value.env}, which is not set"
                )
            values[name] = found
        elif isinstance(value, FromCredential):
            cred, _, part = value.credential.partition(".")
            found = credentials.get(cred, {}).get(part)
            if not found:
                raise ConfigError(
                    f"check '{check.name}': input '{name}' comes from credential {value.credential}, "
                    f"which environment '{check.env}' does not have"
                )
            values[name] = found
        else:
            values[name] = value
    return values


def _host(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).hostname or "webhook"


def in_window(check: Check, at: datetime) -> str | None:
    """The name of the maintenance window `check` is in at `at`, or None."""
    window = active_window(check.windows, check.name, at)
    return window.name if window else None
