"""The values a person gives when creating or changing an account or a token, checked before anything is
written: names, roles, teams, passwords. Each error names the value it is about (`field`), so the CLI can say
which option to fix and the API which form field.

    UsageError (automation.errors)
    ├── AccountValueError      a name, role, team or password is not acceptable
    ├── UnknownAccount         no user of that name, no token of that id
    └── AccountExists          the name is taken
"""

from __future__ import annotations

import re

from automation.console.permissions import Role
from automation.errors import UsageError
from automation.yamlfile import suggest

NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._@-]{0,63}$")
TEAM_PATTERN = r"^[a-z][a-z0-9_-]*$"
TEAM_ROLES = frozenset({Role.AGENT, Role.LEAD})  # the roles whose reach is their team's
MIN_PASSWORD = 12  # OWASP ASVS; a passphrase of a few words is easiest
MAX_PASSWORD = 1024  # Argon2 takes any length: the cap keeps one request from costing much


class AccountValueError(UsageError):
    """A name, role, team or password given for an account or token is not acceptable; nothing was changed."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(message)


class UnknownAccount(UsageError):
    """No user of that name (or no token of that id): `runbook users list` / `tokens list` show them."""


class AccountExists(UsageError):
    """A user of that name exists already (or a token holds the name): choose another."""


def check_name(name: str, field: str = "name") -> str:
    """A user's or token's name: lower case letters, digits and . _ @ - (an email address fits)."""
    if not NAME_PATTERN.match(name):
        raise AccountValueError(
            field,
            f"'{name[:80]}' is not a usable name: 1 to 64 lower case letters, digits and . _ @ -,"
            " starting with a letter or digit (e.g. alice or alice@example.com)",
        )
    return name


def parse_role(value: str) -> Role:
    """The Role written as `value`. Raises AccountValueError listing the roles."""
    try:
        return Role(value)
    except ValueError:
        roles = [r.value for r in Role]
        raise AccountValueError(
            "role", f"'{value}' is not a role{suggest(value, roles)}; roles: {', '.join(roles)}"
        ) from None


def check_team(role: Role, team: str | None) -> str | None:
    """Agents and leads belong to a team (what they may run is the team's); other roles reach every team."""
    if role in TEAM_ROLES:
        if not team:
            raise AccountValueError(
                "team",
                f"{_article(role)} {role.value} belongs to a team: name it (one of console.yaml's teams:)",
            )
        if not re.match(TEAM_PATTERN, team):
            raise AccountValueError("team", f"'{team[:80]}': use lower case letters, digits, - and _")
        return team
    if team:
        raise AccountValueError("team", f"the {role.value} role reaches every team: leave the team out")
    return None


def _article(role: Role) -> str:
    return "an" if role.value[0] in "aeio" else "a"


def check_password(password: str, name: str) -> str:
    """A new password: long enough, not the name. Never repeats the password in a message."""
    if len(password) < MIN_PASSWORD:
        raise AccountValueError(
            "password",
            f"the password is too short ({len(password)} characters): use at least {MIN_PASSWORD};"
            " a few words in a row are easy to remember",
        )
    if len(password) > MAX_PASSWORD:
        raise AccountValueError("password", f"the password is longer than {MAX_PASSWORD} characters")
    if password.strip().casefold() == name.casefold():
        raise AccountValueError("password", "the password is the user's name: choose another")
    return password
