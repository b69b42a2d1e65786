"""Which tracker an environment delivers tickets to, and the environment variables holding its credentials.

    {"type": "local"}                                           the default: the local store only
    {"type": "jira", "url": "https://acme.atlassian.net", "project": "SUP",
     "user_env": "JIRA_USER", "token_env": "JIRA_TOKEN"}
    {"type": "zendesk", "url": "https://acme.zendesk.com",
     "user_env": "ZENDESK_EMAIL", "token_env": "ZENDESK_TOKEN"}
    {"type": "webhook", "url": "https://hooks.example/tickets", "secret_env": "TICKETS_SECRET",
     "multipart": false}

Credentials never sit in configuration: only the names of the variables do, read when the tracker is built.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
from collections.abc import Mapping, Sequence
from functools import cache
from typing import TYPE_CHECKING, Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

from automation.tickets.base import RemoteRef, Tracker, TrackerConfigError

if TYPE_CHECKING:
    from automation.tickets.models import Attachment, Ticket

# The adapters (httpx) are imported by _build, when a tracker is built: reading an environments file or a
# checks file needs only the models below (issue 12).


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _HttpConfig(_Config):
    url: str
    timeout_s: float = Field(default=10.0, gt=0, le=300)

    @field_validator("url")
    @classmethod
    def _plain_http_url(cls, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http(s) URL with a host")
        if parts.username or parts.password:
            # Credentials in a URL end up in logs and error messages.
            raise ValueError("must not contain credentials: name environment variables instead")
        if problem := plain_http_problem(url):
            raise ValueError(problem)
        return url.rstrip("/")


def plain_http_problem(url: str) -> str | None:
    """Why this URL may not be used for a tracker or a webhook, or None. A token or a signed body goes with
    every request, so plain http is refused except on loopback (127.0.0.0/8, ::1, localhost), where nothing
    crosses a network: a test tracker, or a TLS proxy on the same machine."""
    parts = urlsplit(url.strip())
    if parts.scheme == "https" or is_loopback(parts.hostname or ""):
        return None
    return (
        f"must be https:// (http:// is allowed only on loopback: 127.0.0.1, ::1, localhost), "
        f"since credentials or signed alerts go to {parts.hostname or 'it'}"
    )


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or localhost (a name that resolves elsewhere is not trusted to be loopback)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class LocalConfig(_Config):
    """Tickets stay in the local store (`runbook tickets list`)."""

    type: Literal["local"] = "local"


class JiraConfig(_HttpConfig):
    type: Literal["jira"]
    project: str
    issue_type: str = "Task"
    labels: list[str] = Field(default_factory=list)
    user_env: str = "JIRA_USER"
    token_env: str = "JIRA_TOKEN"
    # None: the adapter's default, Jira Cloud's search (jira.CLOUD_SEARCH_PATH); Data Center wants
    # /rest/api/2/search. Not the constant itself: it lives with the adapter, which this module loads lazily.
    search_path: str | None = None


class ZendeskConfig(_HttpConfig):
    type: Literal["zendesk"]
    tags: list[str] = Field(default_factory=list)
    user_env: str = "ZENDESK_EMAIL"
    token_env: str = "ZENDESK_TOKEN"


class WebhookConfig(_HttpConfig):
    type: Literal["webhook"]
    secret_env: str | None = None
    secret_header: str = "Authorization"
    multipart: bool = False


TrackerConfig = Annotated[
    LocalConfig | JiraConfig | ZendeskConfig | WebhookConfig, Field(discriminator="type")
]
_MODELS: dict[str, type[_Config]] = {
    "local": LocalConfig,
    "jira": JiraConfig,
    "zendesk": ZendeskConfig,
    "webhook": WebhookConfig,
}


@cache
def _adapter() -> TypeAdapter[TrackerConfig]:
    # Built on first use: most environments configure no tracker, and then nothing validates one.
    return TypeAdapter(TrackerConfig)


def parse_tracker_config(data: Mapping[str, Any] | None) -> TrackerConfig:
    """The tracker configuration from a mapping (None means local). Raises TrackerConfigError."""
    if data is None:
        return LocalConfig()
    try:
        return _adapter().validate_python(dict(data))
    except ValidationError as exc:
        raise TrackerConfigError(_describe(exc)) from None


TYPES = ("local", "jira", "zendesk", "webhook")
KeyPath = tuple[str | int, ...]


def tracker_config_problems(data: Any) -> list[tuple[KeyPath, str]]:
    """Every problem of a tracker configuration as (key path inside it, message); [] when it is valid.

    For callers that know where the configuration sits in a file (environments.yaml: file:line)."""
    if data is None:
        return []
    if not isinstance(data, Mapping):
        return [((), f"must be a mapping with a type ({', '.join(TYPES)})")]
    try:
        _adapter().validate_python(dict(data))
    except ValidationError as exc:
        return [_problem(error, data) for error in exc.errors(include_input=False, include_url=False)]
    return []


def _problem(error: Any, data: Mapping[str, Any]) -> tuple[KeyPath, str]:
    kind, loc = error["type"], tuple(error["loc"])
    if kind == "union_tag_invalid":
        given = data.get("type")
        close = difflib.get_close_matches(str(given), TYPES, n=1) if isinstance(given, str) else []
        hint = f" (did you mean {close[0]}?)" if close else ""
        return ("type",), f"'{str(given)[:40]}' is not a tracker type{hint}; types: {', '.join(TYPES)}"
    if kind == "union_tag_not_found":
        return (), f"'type' is required: one of {', '.join(TYPES)}"
    if loc and loc[0] in TYPES:  # pydantic puts the union member first: not a key of the file
        loc = loc[1:]
    if kind == "extra_forbidden":
        model = _MODELS.get(str(data.get("type")), LocalConfig)
        close = difflib.get_close_matches(str(loc[-1]), list(model.model_fields), n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        return loc, f"unknown key '{loc[-1]}'{hint}"
    if kind == "missing":
        return loc, "is required here"
    return loc, error["msg"].removeprefix("Value error, ")


def _describe(exc: ValidationError) -> str:
    # Never echo input values: a misplaced token would be printed back.
    problems = []
    for error in exc.errors(include_input=False, include_url=False):
        where = ".".join(str(part) for part in error["loc"]) or "(tracker)"
        problems.append(f"{where}: {error['msg']}")
    return (
        "tracker configuration is invalid: "
        + "; ".join(problems)
        + ". Types: local, jira, zendesk, webhook; credentials come only from the variables named by "
        "*_env keys."
    )


def _require(env: Mapping[str, str], tracker: str, key: str, name: str) -> str:
    value = env.get(name, "")
    if not value:
        raise TrackerConfigError(
            f"{tracker} tracker: environment variable {name} is not set (named by {key}). "
            f"Export it before running, or change {key} in the environment's tracker configuration."
        )
    return value


class UnusableTracker(Tracker):
    """Stands in for a tracker whose credentials are missing: every call raises that error.

    With it, `open_ticket` still records the ticket and queues it with a message naming the variable,
    and `retry_outbox` delivers it once the variable is set.
    """

    def __init__(self, name: str, error: TrackerConfigError) -> None:
        self.name = name
        self.error = error

    def create(self, ticket: Ticket, body: str, attachments: Sequence[Attachment]) -> RemoteRef:
        """Raises TrackerConfigError, always."""
        raise TrackerConfigError(str(self.error))

    def comment(
        self,
        remote_id: str,
        body: str,
        attachments: Sequence[Attachment],
        *,
        idempotency_key: str | None = None,
    ) -> None:
        """Raises TrackerConfigError, always."""
        raise TrackerConfigError(str(self.error))


def tracker_from_config(
    cfg: TrackerConfig | Mapping[str, Any] | None,
    *,
    env: Mapping[str, str] | None = None,
    strict: bool = True,
) -> Tracker | None:
    """The configured tracker, or None for the local store only. Raises TrackerConfigError.

    With strict=False a missing credential variable yields an `UnusableTracker` instead of raising, so
    an escalation still queues its ticket (an invalid configuration raises either way).
    """
    config = cfg if isinstance(cfg, _Config) else parse_tracker_config(cfg)
    try:
        return _build(config, os.environ if env is None else env)
    except TrackerConfigError as exc:
        if strict:
            raise
        return UnusableTracker(config.type, exc)


def _build(config: TrackerConfig, env: Mapping[str, str]) -> Tracker | None:
    if isinstance(config, JiraConfig):
        from automation.tickets.jira import CLOUD_SEARCH_PATH, JiraTracker

        return JiraTracker(
            config.url,
            project=config.project,
            user=_require(env, "jira", "user_env", config.user_env),
            token=_require(env, "jira", "token_env", config.token_env),
            issue_type=config.issue_type,
            labels=config.labels,
            search_path=CLOUD_SEARCH_PATH if config.search_path is None else config.search_path,
            timeout_s=config.timeout_s,
            credential_vars=(config.user_env, config.token_env),
        )
    if isinstance(config, ZendeskConfig):
        from automation.tickets.zendesk import ZendeskTracker

        return ZendeskTracker(
            config.url,
            email=_require(env, "zendesk", "user_env", config.user_env),
            token=_require(env, "zendesk", "token_env", config.token_env),
            tags=config.tags,
            timeout_s=config.timeout_s,
            credential_vars=(config.user_env, config.token_env),
        )
    if isinstance(config, WebhookConfig):
        from automation.tickets.webhook_tracker import WebhookTracker

        secret = _require(env, "webhook", "secret_env", config.secret_env) if config.secret_env else None
        return WebhookTracker(
            config.url,
            secret=secret,
            secret_header=config.secret_header,
            multipart=config.multipart,
            timeout_s=config.timeout_s,
            credential_vars=(config.secret_env,) if config.secret_env else (),
        )
    return None
