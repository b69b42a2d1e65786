"""The checks file's language: pydantic models, the single source of its published JSON Schema.

It reads like an operations policy:

    defaults:
      env: production
      timeout: 1m
      retries: {attempts: 2, backoff: 10s}
      alert:
        after: {failures: 3, within: 15m}
        recover_after: 2
        remind: {every: 1h, at_most: 5}
        channels:
          - ticket: {queue: portal-operations}
    checks:
      portal-login:
        runbook: synthetic-login
        every: 5m
        degraded: {steps: {Log In: 2s}}
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

NAME_PATTERN = r"^[a-z][a-z0-9_-]*$"
_DURATION = re.compile(r"^\s*(?:\d+(?:\.\d+)?\s*(?:ms|s|m|h|d)\s*)+$")

Duration = Annotated[
    float | str,
    Field(
        description="Seconds, or a string such as '500ms', '30s', '5m', '1h', '2d', '1h30m'", examples=["5m"]
    ),
]


def _duration(value: Any) -> Any:
    if value is None or isinstance(value, int | float):
        if isinstance(value, int | float) and value <= 0:
            raise ValueError(f"{value} is not a positive duration")
        return value
    if not isinstance(value, str) or not _DURATION.match(value):
        raise ValueError(f"'{value}' is not a duration; write e.g. 30s, 5m, 1h or 2d")
    return value


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Retries(_Model):
    """A failed attempt is tried again before the run counts as failed; every attempt keeps its evidence."""

    attempts: int = Field(default=1, ge=1, le=5, description="Attempts in all (1: no retry)")
    backoff: Duration = Field(default="10s", description="Wait between attempts")

    _d = field_validator("backoff")(_duration)


class AfterWindow(_Model):
    """Alert on N failures inside a sliding window: a single pass does not reset it."""

    failures: int = Field(ge=1, le=100)
    within: Duration

    _d = field_validator("within")(_duration)


class Remind(_Model):
    every: Duration = Field(description="How often to remind while the alert lasts")
    at_most: int = Field(default=5, ge=0, le=100, description="Reminders stop after this many")

    _d = field_validator("every")(_duration)


class TicketChannel(_Model):
    """One ticket per failing check in the environment's tracker (or the local store)."""

    queue: str = Field(default="operations", description="The tracker's queue or project")


class WebhookChannel(_Model):
    """A JSON POST signed with HMAC-SHA256 (X-Runbook-Signature), with a `text` a chat tool shows."""

    url: str | None = Field(
        default=None, description="The URL (prefer url_env: chat webhook URLs are secrets)"
    )
    url_env: str | None = Field(default=None, description="Environment variable holding the URL")
    secret_env: str | None = Field(default=None, description="Environment variable holding the HMAC key")

    @model_validator(mode="after")
    def _one_url(self) -> WebhookChannel:
        if (self.url is None) == (self.url_env is None):
            raise ValueError("give the webhook exactly one of url or url_env")
        if self.url is not None and not self.url.startswith(("http://", "https://")):
            raise ValueError(f"'{self.url}' is not an http(s) URL")
        if self.url is not None:
            # A signed alert (and a chat tool's secret URL) must not cross a network in clear.
            from automation.tickets.config import plain_http_problem

            if problem := plain_http_problem(self.url):
                raise ValueError(f"the webhook's URL {problem}")
        return self


class Channel(_Model):
    ticket: TicketChannel | None = None
    webhook: WebhookChannel | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if value == "ticket":  # `- ticket` alone: the default queue
            return {"ticket": {}}
        return value

    @model_validator(mode="after")
    def _exactly_one(self) -> Channel:
        if (self.ticket is None) == (self.webhook is None):
            raise ValueError("a channel is either ticket: or webhook:")
        return self


class Alert(_Model):
    after: int | AfterWindow = Field(
        default=3, description="N consecutive failed runs, or {failures: N, within: 15m}"
    )
    recover_after: int = Field(default=2, ge=1, le=100, description="Consecutive passes that end an alert")
    remind: Remind | None = None
    degraded: bool = Field(default=False, description="Degraded runs count as failures for alerting")
    channels: list[Channel] = Field(default_factory=list)

    @field_validator("after")
    @classmethod
    def _positive(cls, value: Any) -> Any:
        if isinstance(value, int) and not 1 <= value <= 100:
            raise ValueError("after must be between 1 and 100 failed runs")
        return value


class Degraded(_Model):
    """Over a threshold the run is `degraded`, not failed, and the status names the slow step."""

    run: Duration | None = Field(default=None, description="Threshold on the whole run")
    steps: dict[str, Duration] = Field(
        default_factory=dict, description="Per step, by label or number: {Log In: 2s, '3': 1s}"
    )

    _d = field_validator("run")(_duration)

    @field_validator("steps")
    @classmethod
    def _step_durations(cls, value: dict[str, Any]) -> dict[str, Any]:
        for item in value.values():
            _duration(item)
        return value


class WhileFailing(_Model):
    every: Duration = Field(description="Run this often while the check fails")

    _d = field_validator("every")(_duration)


class Maintenance(_Model):
    """Runs inside a window are skipped and recorded as skipped; nobody is alerted."""

    name: str | None = None
    start: str = Field(
        description="First occurrence, local time: 'YYYY-MM-DD HH:MM'", examples=["2026-12-06 02:00"]
    )
    duration: Duration
    repeat: Literal["never", "daily", "weekdays", "weekly", "monthly"] = "never"
    timezone: str = "UTC"
    checks: list[str] = Field(default_factory=list, description="Only these checks (global windows only)")

    _d = field_validator("duration")(_duration)


class Retention(_Model):
    passed: Duration = Field(default="2d", description="Evidence of passed runs is kept this long")
    failed: Duration = Field(default="30d", description="Evidence of failed and degraded runs")

    _d = field_validator("passed", "failed")(_duration)


class FromEnv(_Model):
    env: str = Field(description="Environment variable holding the value")


class FromCredential(_Model):
    credential: str = Field(description="NAME.user or NAME.password of the environment's credentials")

    @field_validator("credential")
    @classmethod
    def _shape(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*\.(user|password)", value):
            raise ValueError(f"'{value}' is not NAME.user or NAME.password")
        return value


InputValue = str | int | bool | FromEnv | FromCredential


Pictures = Literal["each-step", "on-failure", "off"]


class Defaults(_Model):
    """Applied to every check that does not say otherwise."""

    env: str | None = None
    screenshots: Pictures = Field(
        default="each-step", description="A picture per step, only the failing step's (cheaper), or none"
    )
    timezone: str = "UTC"
    timeout: Duration = "2m"
    retries: Retries = Field(default_factory=Retries)
    alert: Alert = Field(default_factory=Alert)

    _d = field_validator("timeout")(_duration)


class CheckSpec(_Model):
    title: str | None = None
    runbook: str = Field(description="The runbook this check runs, by name")
    inputs: dict[str, InputValue] = Field(
        default_factory=dict,
        description="Its inputs; secrets only as {env: VAR} or {credential: NAME.password}",
    )
    env: str | None = Field(
        default=None, description="Environment (default: defaults.env, else the file's default)"
    )
    every: Duration | None = None
    cron: str | None = Field(default=None, description="Five-field cron, e.g. '*/30 8-18 * * 1-5'")
    timezone: str | None = Field(default=None, description="For cron and this check's windows")
    while_failing: WhileFailing | None = None
    timeout: Duration | None = Field(default=None, description="Cap on one run (default: defaults.timeout)")
    retries: Retries | None = None
    degraded: Degraded | None = None
    alert: Alert | None = None
    maintenance: list[Maintenance] = Field(default_factory=list)
    screenshots: Pictures | None = Field(default=None, description="Default: defaults.screenshots")
    enabled: bool = True

    _d = field_validator("every", "timeout")(_duration)

    @model_validator(mode="after")
    def _one_schedule(self) -> CheckSpec:
        if (self.every is None) == (self.cron is None):
            raise ValueError("give a check exactly one schedule: every: 5m or cron: '*/5 * * * *'")
        return self


class ChecksFile(_Model):
    """runbooks/checks.yaml: what operations checks, how often, and when a person is told."""

    defaults: Defaults = Field(default_factory=Defaults)
    maintenance: list[Maintenance] = Field(default_factory=list, description="Windows for every check")
    retention: Retention = Field(default_factory=Retention)
    checks: dict[Annotated[str, Field(pattern=NAME_PATTERN)], CheckSpec]


def written_keys() -> list[str]:
    """Every key a checks file may hold, wherever it goes: the words an unknown key is compared with."""
    from automation.yamlfile import vocabulary

    return vocabulary(m for m in globals().values() if isinstance(m, type) and issubclass(m, _Model))


def json_schema() -> dict[str, Any]:
    """The checks file's JSON Schema (committed as runbooks/checks.schema.json)."""
    schema = ChecksFile.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "runbook checks file"
    return schema
