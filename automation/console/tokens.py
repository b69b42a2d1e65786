"""API tokens: what a helpdesk integration sends as `Authorization: Bearer`. Create, list, revoke, verify.

A token is 256 random bits, shown once when it is made and kept only as its SHA-256 (for a value that random a
fast hash is as safe as a slow one, and a request need not pay Argon2's cost). It carries a role and a team like
a user; a token named after a user acts as that user, with their role and team as they are at each request,
and stops working when they are disabled. Tokens expire (30 days unless told otherwise) and can be revoked;
their last use is recorded, to the minute.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from automation.console.permissions import Actor, Role
from automation.console.store import ConsoleStore, now_utc
from automation.console.values import (
    AccountValueError,
    UnknownAccount,
    check_name,
    check_team,
    parse_role,
)
from automation.store.tables.console import api_tokens, users

TOKEN_PREFIX = "rbt_"  # says what a leaked string is, to a person and to a secret scanner
TOKEN_BYTES = 32
DEFAULT_EXPIRES = "30d"
LAST_USED_EVERY = timedelta(minutes=1)  # a busy integration does not write a row per request

TokenState = Literal["active", "expired", "revoked"]


@dataclass(frozen=True)
class TokenInfo:
    """A token as it is listed: never the token, never its hash."""

    id: int
    name: str
    owner: str | None  # the user it acts as, or None for a service token
    role: Role
    team: str | None
    created: datetime
    expires: datetime | None
    revoked: datetime | None
    last_used: datetime | None

    def state(self, now: datetime | None = None) -> TokenState:
        if self.revoked is not None:
            return "revoked"
        if self.expires is not None and self.expires <= (now or now_utc()):
            return "expired"
        return "active"

    def as_dict(self, now: datetime | None = None) -> dict[str, Any]:
        def when(moment: datetime | None) -> str | None:
            return moment.isoformat() if moment else None

        return {
            "id": self.id,
            "name": self.name,
            "owner": self.owner,
            "role": self.role.value,
            "team": self.team,
            "state": self.state(now),
            "created": when(self.created),
            "expires": when(self.expires),
            "revoked": when(self.revoked),
            "last_used": when(self.last_used),
        }


@dataclass(frozen=True)
class NewToken:
    """A token just made: `token` is its only appearance in clear; show it once."""

    info: TokenInfo
    token: str = field(repr=False)


@dataclass(frozen=True)
class Revoked:
    info: TokenInfo
    already: bool  # it had been revoked before


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def parse_expiry(text: str | None) -> timedelta | None:
    """'30d', '12h', '1h30m'... or 'never' (None). Raises AccountValueError naming `expires`."""
    from automation.checks.config.schedule import parse_duration

    if text is None or text.strip().lower() == "never":
        return None
    try:
        seconds = parse_duration(text)
    except ValueError as exc:
        raise AccountValueError("expires", f"{exc}, or never") from None
    if seconds <= 0:
        raise AccountValueError("expires", f"'{text}' is not a time ahead: write e.g. 30d, 12h or never")
    return timedelta(seconds=seconds)


def create_token(
    store: ConsoleStore,
    name: str,
    *,
    role: Role | str | None = None,
    team: str | None = None,
    expires: str | None = DEFAULT_EXPIRES,
    now: datetime | None = None,
) -> NewToken:
    """Make a token. Named after a user, it acts as them (role and team are theirs); else `role` is needed.

    Raises AccountValueError (name, role, team, expires)."""
    name = check_name(name)
    lifetime = parse_expiry(expires)
    created = now or now_utc()
    with store.transaction() as conn:
        owner, role, team = _holder(conn, name, role, team)
        token = TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)
        values = {
            "name": name,
            "owner": owner,
            "role": role.value,
            "team": team,
            "hash": hash_token(token),
            "created": created,
            "expires": created + lifetime if lifetime else None,
        }
        token_id = conn.execute(insert(api_tokens).values(**values)).inserted_primary_key[0]
        row = conn.execute(select(api_tokens).where(api_tokens.c.id == token_id)).mappings().one()
    return NewToken(_info(row), token)


def list_tokens(store: ConsoleStore) -> list[TokenInfo]:
    """Every token, revoked and expired ones included, oldest first."""
    with store.reading() as conn:
        rows = conn.execute(select(api_tokens).order_by(api_tokens.c.id)).mappings()
        return [_info(row) for row in rows]


def revoke_token(store: ConsoleStore, token_id: int | str, *, now: datetime | None = None) -> Revoked:
    """Stop a token working, at once. Raises AccountValueError (not an id) or UnknownAccount."""
    number = _token_id(token_id)
    with store.transaction() as conn:
        row = conn.execute(select(api_tokens).where(api_tokens.c.id == number)).mappings().first()
        if row is None:
            raise UnknownAccount(f"there is no API token {number} (`runbook tokens list` shows them)")
        if row["revoked"] is not None:
            return Revoked(_info(row), already=True)
        moment = now or now_utc()
        conn.execute(update(api_tokens).where(api_tokens.c.id == number).values(revoked=moment))
        return Revoked(_info({**row, "revoked": moment}), already=False)


def verify_token(store: ConsoleStore, token: str, *, now: datetime | None = None) -> Actor | None:
    """The actor a Bearer token stands for, or None: unknown, revoked, expired, or its user disabled."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 100:
        return None
    moment = now or now_utc()
    with store.reading() as conn:
        row = (
            conn.execute(select(api_tokens).where(api_tokens.c.hash == hash_token(token))).mappings().first()
        )
        if row is None or row["revoked"] is not None:
            return None
        if row["expires"] is not None and row["expires"] <= moment:
            return None
        actor = _actor(conn, row)
    if actor is not None and (row["last_used"] is None or moment - row["last_used"] >= LAST_USED_EVERY):
        with store.transaction() as conn:
            conn.execute(update(api_tokens).where(api_tokens.c.id == row["id"]).values(last_used=moment))
    return actor


def _actor(conn: Connection, row: Any) -> Actor | None:
    if row["owner"] is None:
        return Actor(name=row["name"], role=Role(row["role"]), team=row["team"], via="token")
    user = conn.execute(select(users).where(users.c.name == row["owner"])).mappings().first()
    if user is None or user["disabled"]:
        return None
    # the user's role and team now: a token never keeps a reach its user has lost
    return Actor(name=user["name"], role=Role(user["role"]), team=user["team"], via="token")


def _holder(
    conn: Connection, name: str, role: Role | str | None, team: str | None
) -> tuple[str | None, Role, str | None]:
    """(owner, role, team) of a new token: the user's own when `name` is a user's, else the given ones."""
    user = conn.execute(select(users).where(users.c.name == name)).mappings().first()
    if user is None:
        if role is None:
            raise AccountValueError(
                "role",
                f"a service token needs a role (agent, lead, operations or admin); '{name}' is no user's",
            )
        chosen = parse_role(role) if isinstance(role, str) else role
        return None, chosen, check_team(chosen, team)
    theirs = Role(user["role"])
    if user["disabled"]:
        raise AccountValueError("name", f"user '{name}' is disabled: `runbook users enable {name}` first")
    given = parse_role(role) if isinstance(role, str) else role
    if given not in (None, theirs) or team not in (None, user["team"]):
        raise AccountValueError(
            "role" if given not in (None, theirs) else "team",
            f"a token named '{name}' acts as that user ({_reach(theirs, user['team'])}): leave the role and"
            " team out, or give the token another name to make a service token",
        )
    return name, theirs, user["team"]


def _reach(role: Role, team: str | None) -> str:
    return f"{role.value} of team {team}" if team else role.value


def _token_id(value: int | str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise AccountValueError(
            "id", f"'{value}' is not a token id: a number, as `runbook tokens list` shows"
        )
    return number


def _info(row: Any) -> TokenInfo:
    return TokenInfo(
        id=row["id"],
        name=row["name"],
        owner=row["owner"],
        role=Role(row["role"]),
        team=row["team"],
        created=row["created"],
        expires=row["expires"],
        revoked=row["revoked"],
        last_used=row["last_used"],
    )
