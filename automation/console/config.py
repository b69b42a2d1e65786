"""The console's file (console.yaml): which team may run which runbooks, and the server's settings.

    teams:
      portal-support:
        runbooks: [reset-password, resend-verify]
        tags: [login]            # and every runbook tagged login
    server:
      host: 127.0.0.1
      port: 8790
      concurrency: 2             # runs at once; more wait their turn in the queue
      environment: sandbox       # the environment runs use (default: RUNBOOK_ENV, else the file's default)
      answer_within: 10m         # a question unanswered this long ends its run as unanswered
      public_url: https://runbook.example.com   # for links in alerts, tickets and the terminal
      session_idle: 30m          # a session ends after this long unused...
      session_absolute: 12h      # ...and this long after sign-in, always
      secure_cookie: true        # false only for plain http on loopback
      allowed_hosts: [127.0.0.1, localhost]   # any other Host header gets 400
    sso:                         # OpenID Connect sign-in beside (or instead of) the console's own users
      name: Example SSO          # the button says "Sign in with Example SSO"
      issuer: https://login.example.com/realms/support
      client_id: runbook-console
      client_secret_env: RUNBOOK_SSO_SECRET   # the variable holding the secret (never the secret here)
      scopes: [openid, profile, email, groups]
      username_claim: preferred_username
      groups_claim: groups
      roles: {support-agents: agent, support-leads: lead, ops: operations, admins: admin}
      teams: {support-agents: portal-support, support-leads: portal-support}   # or team_claim: team
      local_login: false         # no password form: everyone signs in through the provider

Read with the runbooks' YAML pipeline, so every mistake is named at its file:line: an unknown key (with the
nearest valid one), a runbook the catalog does not have, a tag no runbook carries, a team that may run nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from automation.catalog import Catalog
from automation.console.permissions import Role, Team
from automation.console.values import TEAM_PATTERN
from automation.environment_file import is_http_url
from automation.errors import RunbookLoadError
from automation.yamlfile import Path_, Where, first_problem, parse_yaml, read_yaml_text, suggest, vocabulary

CONSOLE_FILE = "console.yaml"


class ConsoleFileError(RunbookLoadError):
    """console.yaml is malformed (file:line:column, the key, a suggestion). Exit 2; nothing was started."""

    @classmethod
    def of(cls, error: RunbookLoadError) -> ConsoleFileError:
        return cls(
            error.message, path=error.path, line=error.line, column=error.column, snippet=error.snippet
        )


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TeamSpec(_Model):
    runbooks: list[str] = Field(default_factory=list, description="Runbooks this team may run, by name")
    tags: list[str] = Field(
        default_factory=list, description="...and every runbook carrying one of these tags"
    )


class ServerSpec(_Model):
    host: str = Field(
        default="127.0.0.1", description="Address to listen on (loopback unless told otherwise)"
    )
    port: int = Field(default=8790, ge=0, le=65535)
    concurrency: int = Field(default=2, ge=1, le=64, description="Runs at once; more wait in the queue")
    environment: str | None = Field(
        default=None,
        description="The environment runs use (environments.yaml); default: RUNBOOK_ENV, else the file's default",
    )
    answer_within: str = Field(
        default="10m",
        description="How long a run's question waits for an answer before the run ends as unanswered",
    )
    public_url: str | None = Field(
        default=None, description="The console's address as people open it, for links in alerts and tickets"
    )
    session_idle: str = Field(
        default="30m", description="A session ends after this long without a request (OWASP: 15-30 min)"
    )
    session_absolute: str = Field(default="12h", description="A session ends this long after sign-in, always")
    secure_cookie: bool = Field(
        default=True,
        description="Send the session cookie over https only; false for plain http on loopback",
    )
    allowed_hosts: list[str] = Field(
        default_factory=lambda: ["127.0.0.1", "localhost"],
        description="Host headers answered (others get 400): the names people reach the console by",
    )

    @field_validator("session_idle", "session_absolute", "answer_within", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> str:
        from automation.checks.config.schedule import parse_duration

        if not isinstance(value, str):  # a bare number would be seconds: too easy to mean minutes
            raise ValueError(f"write the duration with its unit, e.g. 30m or 12h (got {value!r})")
        if parse_duration(value) <= 0:  # its ValueError names the value and the units
            raise ValueError(f"duration {value!r} is not a time ahead: write e.g. 30m or 12h")
        return value

    @property
    def idle(self) -> timedelta:
        from automation.checks.config.schedule import parse_duration

        return timedelta(seconds=parse_duration(self.session_idle))

    @property
    def answer_limit(self) -> timedelta:
        from automation.checks.config.schedule import parse_duration

        return timedelta(seconds=parse_duration(self.answer_within))

    @property
    def absolute(self) -> timedelta:
        from automation.checks.config.schedule import parse_duration

        return timedelta(seconds=parse_duration(self.session_absolute))


SECRET_VARIABLE = re.compile(r"[A-Z_][A-Z0-9_]*")


class SsoSpec(_Model):
    """Single sign-on through an OpenID Connect provider (automation.console.sso): who its users are here is
    data, their groups (or a claim) mapped to a role and a team."""

    name: str = Field(
        default="single sign-on",
        max_length=60,
        description='The provider as the button names it: "Sign in with …"',
    )
    issuer: str = Field(
        description="The provider's issuer URL (its /.well-known/openid-configuration is read)"
    )
    client_id: str = Field(min_length=1, description="The console's client id at the provider")
    client_secret_env: str | None = Field(
        default=None,
        description="The environment variable holding the client secret; none for a public client (PKCE only)",
    )
    scopes: list[str] = Field(default_factory=lambda: ["openid", "profile", "email"])
    username_claim: str = Field(
        default="preferred_username", description="The ID token claim that becomes the console user's name"
    )
    groups_claim: str = Field(default="groups", description="The ID token claim listing the user's groups")
    roles: dict[str, Role] = Field(
        default_factory=dict, description="group -> role; a user in several gets the widest role"
    )
    team_claim: str | None = Field(default=None, description="The ID token claim naming an agent's team")
    teams: dict[str, str] = Field(default_factory=dict, description="group -> team, when no team_claim")
    local_login: bool = Field(
        default=True, description="Keep the console's own password sign-in beside the provider's"
    )

    @field_validator("client_secret_env")
    @classmethod
    def _variable(cls, value: str | None) -> str | None:
        if value is not None and not SECRET_VARIABLE.fullmatch(value):
            raise ValueError(
                "client_secret_env names the environment variable holding the secret (e.g."
                " RUNBOOK_SSO_SECRET), not the secret itself: upper case letters, digits and _"
            )
        return value

    @field_validator("scopes")
    @classmethod
    def _openid(cls, value: list[str]) -> list[str]:
        if "openid" not in value:
            raise ValueError("scopes must include openid (without it the provider sends no ID token)")
        return value


class ConsoleFile(_Model):
    teams: dict[str, TeamSpec] = Field(default_factory=dict)
    server: ServerSpec = Field(default_factory=ServerSpec)
    sso: SsoSpec | None = None


@dataclass(frozen=True)
class ConsoleConfig:
    """console.yaml, checked: the teams as permissions.allowed takes them, and the server's settings."""

    teams: dict[str, Team]
    server: ServerSpec
    path: Path | None = None
    sso: SsoSpec | None = None


KEYS = vocabulary([ConsoleFile, TeamSpec, ServerSpec, SsoSpec])


def console_path() -> Path:
    """Where console.yaml is looked for when no file is named: the current folder."""
    return Path.cwd() / CONSOLE_FILE


def load_console_config(path: Path | None = None, *, catalog: Catalog | None = None) -> ConsoleConfig:
    """Read and check console.yaml against the catalog. Raises ConsoleFileError (file:line, exit 2)."""
    path = path or console_path()
    try:
        text = read_yaml_text(path)
    except RunbookLoadError as exc:
        raise ConsoleFileError.of(exc) from None
    data, positions = _parse(text, str(path))
    where = Where(str(path), text, positions)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise _error(where, "the console file is a mapping with teams: (and optionally server:)", ())
    try:
        model = ConsoleFile.model_validate(data)
    except ValidationError as exc:
        raise _validation_error(exc, data, where) from None
    if model.server.public_url is not None and not is_http_url(model.server.public_url):
        raise _error(
            where,
            "public_url is the console's http(s) address, e.g. https://console.example.com",
            ("server", "public_url"),
        )
    teams = _teams(model, catalog or Catalog.default(), where)
    if model.sso is not None:
        _check_sso(model.sso, teams, where)
    return ConsoleConfig(teams=teams, server=model.server, path=path, sso=model.sso)


def _parse(text: str, source: str) -> tuple[Any, dict[Path_, tuple[int, int]]]:
    try:
        return parse_yaml(text, source)
    except RunbookLoadError as exc:
        raise ConsoleFileError.of(exc) from None


def _error(where: Where, message: str, path: Path_) -> ConsoleFileError:
    return ConsoleFileError.of(where.error(message, path))


def _validation_error(exc: ValidationError, data: Any, where: Where) -> ConsoleFileError:
    message, path, _ = first_problem(exc.errors(include_url=False), data, KEYS)
    error = _error(where, message, path)
    if path[:1] == ("sso",) and str(path[-1]).startswith("client_secret"):
        return _line_unshown(error)  # the line may hold a secret pasted there: name it, never print it
    return error


def _teams(model: ConsoleFile, catalog: Catalog, where: Where) -> dict[str, Team]:
    """Each team, its runbooks in the catalog and its tags carried by some runbook."""
    names = catalog.names()
    tags = _tags_in_use(catalog) if any(spec.tags for spec in model.teams.values()) else set()
    teams: dict[str, Team] = {}
    for team, spec in model.teams.items():
        here: Path_ = ("teams", team)
        if not re.match(TEAM_PATTERN, team):
            raise _error(where, f"team '{team}': use lower case letters, digits, - and _", here)
        if not spec.runbooks and not spec.tags:
            raise _error(where, f"team '{team}' may run nothing: give it runbooks: or tags:", here)
        for index, name in enumerate(spec.runbooks):
            if name not in names:
                raise _error(where, catalog.not_found(name, names), (*here, "runbooks", index))
        for index, tag in enumerate(spec.tags):
            if tag not in tags:
                raise _error(where, _unknown_tag(tag, tags), (*here, "tags", index))
        teams[team] = Team(team, frozenset(spec.runbooks), frozenset(spec.tags))
    return teams


def _tags_in_use(catalog: Catalog) -> set[str]:
    loaded, _problems = catalog.load_all()  # a file that does not load is `runbook validate`'s to report
    return {tag for runbook in loaded for tag in runbook.model.tags}


def _unknown_tag(tag: str, tags: Iterable[str]) -> str:
    known = sorted(tags)
    return (
        f"no runbook is tagged '{tag}'{suggest(tag, known)}; tags in use: {', '.join(known) or 'none'}"
        " (a tag names runbooks by their tags: list)"
    )


def _check_sso(sso: SsoSpec, teams: dict[str, Team], where: Where) -> None:
    """What pydantic cannot see: the issuer is https (http only on loopback), the mapping gives roles, and
    every agent or lead it makes has a team to come from, a team of this file."""
    here: Path_ = ("sso",)
    if not is_http_url(sso.issuer) or not (sso.issuer.startswith("https://") or _on_loopback(sso.issuer)):
        raise _error(
            where,
            "issuer is the provider's https URL (http only on loopback), e.g. https://login.example.com",
            (*here, "issuer"),
        )
    if not sso.roles:
        raise _error(
            where,
            "roles: maps the provider's groups to console roles, e.g. {support-agents: agent}: without it"
            " nobody could sign in",
            here,
        )
    for group, team in sso.teams.items():
        if team not in teams:
            raise _error(where, _unknown_team(team, teams), (*here, "teams", group))
    team_roles = [group for group, role in sso.roles.items() if role in (Role.AGENT, Role.LEAD)]
    if team_roles and sso.team_claim is None and not sso.teams:
        raise _error(
            where,
            f"group '{team_roles[0]}' makes agents or leads, who belong to a team: add team_claim: (the"
            " claim naming it) or teams: (group -> team)",
            (*here, "roles", team_roles[0]),
        )


def _on_loopback(url: str) -> bool:
    from urllib.parse import urlsplit

    return urlsplit(url).hostname in ("127.0.0.1", "::1", "localhost")


def _unknown_team(team: str, teams: Iterable[str]) -> str:
    known = sorted(teams)
    return f"there is no team '{team}' in teams:{suggest(team, known)}; teams: {', '.join(known) or 'none'}"


def _line_unshown(error: ConsoleFileError) -> ConsoleFileError:
    """The error at its file:line without the line's text."""
    return ConsoleFileError(
        error.message, path=error.path, line=error.line, column=error.column, snippet=None
    )
