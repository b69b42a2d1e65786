"""Console users: add, list, disable or enable, set a password, and verify one at sign-in.

Passwords are kept as Argon2id hashes with OWASP's parameters (19 MiB, 2 passes, 1 lane); there is no default
password, ever: the first admin is made with `runbook users add NAME --role admin`. Verifying a name that does
not exist still spends one hash, so the time a sign-in takes does not tell which names exist. Disabling a user
or changing their password ends their sessions.

A user who signs in through the OpenID provider (automation.console.sso) is made or updated by
`upsert_sso_user`: their password_hash is a marker naming the provider and the person there, which no
password matches (Argon2 refuses it as a hash), so the password form never opens such an account.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from automation.console.permissions import Actor, Role, Via
from automation.console.store import ConsoleStore, now_utc
from automation.console.values import (
    MAX_PASSWORD,
    AccountExists,
    AccountValueError,
    UnknownAccount,
    check_name,
    check_password,
    check_team,
    parse_role,
)
from automation.store.tables.console import api_tokens, sessions, users
from automation.yamlfile import suggest

if TYPE_CHECKING:
    from argon2 import PasswordHasher


@dataclass(frozen=True)
class User:
    """A console account as it is shown: never its password hash."""

    name: str
    role: Role
    team: str | None
    disabled: bool
    created: datetime

    def actor(self, via: Via = "session") -> Actor:
        return Actor(name=self.name, role=self.role, team=self.team, via=via, disabled=self.disabled)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "role": self.role.value,
            "team": self.team,
            "disabled": self.disabled,
            "created": self.created.isoformat(),
        }


SSO_MARKER = "!sso "  # a password_hash starting so is no Argon2 hash: no password matches it


def sso_marker(issuer: str, subject: str) -> str:
    """The password_hash of the provider's user `subject`: it ties the account to that one person there."""
    return f"{SSO_MARKER}{issuer} {subject}"


@cache
def password_hasher() -> PasswordHasher:
    """Argon2id at OWASP's minimum: 19 MiB of memory, 2 iterations, parallelism 1."""
    from argon2 import PasswordHasher

    return PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)


@cache
def dummy_hash() -> str:
    """A hash of nothing anyone knows, verified when the name is unknown (same cost as a real check)."""
    return password_hasher().hash(secrets.token_urlsafe(32))


def add_user(
    store: ConsoleStore,
    name: str,
    role: Role | str,
    password: str,
    *,
    team: str | None = None,
    now: datetime | None = None,
) -> User:
    """Create a user. Raises AccountValueError (name, role, team, password) or AccountExists."""
    name = check_name(name)
    role = parse_role(role) if isinstance(role, str) else role
    team = check_team(role, team)
    hashed = password_hasher().hash(check_password(password, name))  # slow: before the write lock
    created = now or now_utc()
    with store.transaction() as conn:
        if _row(conn, name) is not None:
            raise AccountExists(
                f"there is already a user '{name}': change their password with `runbook users passwd {name}`"
            )
        _refuse_service_token_name(conn, name)
        conn.execute(
            insert(users).values(
                name=name, role=role.value, team=team, password_hash=hashed, disabled=False, created=created
            )
        )
    return User(name, role, team, False, created)


def upsert_sso_user(
    store: ConsoleStore,
    name: str,
    role: Role,
    team: str | None,
    *,
    issuer: str,
    subject: str,
    now: datetime | None = None,
) -> User:
    """The user the provider vouched for, made on first sign-in and given the role and team their claims map
    to now (the provider is the source of truth; a disabled user stays disabled, for the caller to refuse).

    Raises AccountValueError (a name or team the console cannot take) or AccountExists: the name is a local
    user's, or another person's at the provider (a provider's name must never open someone else's account)."""
    name = check_name(name, "username claim")
    team = check_team(role, team)
    marker = sso_marker(issuer, subject)
    with store.transaction() as conn:
        row = _row(conn, name)
        if row is None:
            _refuse_service_token_name(conn, name)
            created = now or now_utc()
            conn.execute(
                insert(users).values(
                    name=name,
                    role=role.value,
                    team=team,
                    password_hash=marker,
                    disabled=False,
                    created=created,
                )
            )
            return User(name, role, team, False, created)
        if row["password_hash"] != marker:
            raise AccountExists(
                f"the console already has a user '{name}' who signs in another way: an administrator must"
                " rename or remove that account first"
            )
        if (row["role"], row["team"]) != (role.value, team):
            conn.execute(update(users).where(users.c.name == name).values(role=role.value, team=team))
        return user_of_row({**row, "role": role.value, "team": team})


def list_users(store: ConsoleStore) -> list[User]:
    """Every user, by name."""
    with store.reading() as conn:
        return [user_of_row(row) for row in conn.execute(select(users).order_by(users.c.name)).mappings()]


def get_user(store: ConsoleStore, name: str) -> User:
    """The user of that name. Raises UnknownAccount naming the users there are."""
    with store.reading() as conn:
        row = _row(conn, name)
        if row is None:
            raise _unknown(conn, name)
        return user_of_row(row)


def disable_user(store: ConsoleStore, name: str, *, now: datetime | None = None) -> User:
    """Refuse this user from now on: their sessions end and their tokens stop working. Raises UnknownAccount."""
    return _set_disabled(store, name, True, now or now_utc())


def enable_user(store: ConsoleStore, name: str) -> User:
    """Let a disabled user sign in again (their old sessions stay ended). Raises UnknownAccount."""
    return _set_disabled(store, name, False, now_utc())


def set_password(store: ConsoleStore, name: str, password: str, *, now: datetime | None = None) -> User:
    """Give the user a new password and end their sessions. Raises AccountValueError or UnknownAccount."""
    hashed = password_hasher().hash(check_password(password, name))
    with store.transaction() as conn:
        row = _row(conn, name)
        if row is None:
            raise _unknown(conn, name)
        if str(row["password_hash"]).startswith(SSO_MARKER):  # a password would make it a local account
            raise AccountValueError(
                "password",
                f"{name} signs in through single sign-on: their password is kept by the identity provider",
            )
        conn.execute(update(users).where(users.c.name == name).values(password_hash=hashed))
        end_sessions(conn, name, now or now_utc())
        return user_of_row(row)


def verify_password(store: ConsoleStore, name: str, password: str) -> User | None:
    """The user, when the name and password match an enabled account; else None (never saying which part
    was wrong). Spends one Argon2 verification either way."""
    from argon2.exceptions import InvalidHashError, VerificationError

    hasher = password_hasher()
    with store.reading() as conn:
        row = _row(conn, name)
    stored = row["password_hash"] if row is not None else dummy_hash()
    try:
        hasher.verify(stored, password[: MAX_PASSWORD + 1])
    except (VerificationError, InvalidHashError):
        return None
    if row is None or row["disabled"]:
        return None
    if hasher.check_needs_rehash(stored):  # the parameters were raised since: upgrade the hash now
        with store.transaction() as conn:
            conn.execute(
                update(users).where(users.c.name == name).values(password_hash=hasher.hash(password))
            )
    return user_of_row(row)


def end_sessions(conn: Connection, name: str, now: datetime) -> None:
    """Revoke every open session of the user."""
    conn.execute(
        update(sessions).where(sessions.c.user_name == name, sessions.c.revoked.is_(None)).values(revoked=now)
    )


def _set_disabled(store: ConsoleStore, name: str, disabled: bool, now: datetime) -> User:
    with store.transaction() as conn:
        row = _row(conn, name)
        if row is None:
            raise _unknown(conn, name)
        conn.execute(update(users).where(users.c.name == name).values(disabled=disabled))
        if disabled:
            end_sessions(conn, name, now)
        return user_of_row({**row, "disabled": disabled})


def _row(conn: Connection, name: str) -> Any:
    return conn.execute(select(users).where(users.c.name == name)).mappings().first()


def user_of_row(row: Any) -> User:
    """A users row (or a row carrying its columns) as a User."""
    return User(row["name"], Role(row["role"]), row["team"], bool(row["disabled"]), row["created"])


def _unknown(conn: Connection, name: str) -> UnknownAccount:
    known = [r for (r,) in conn.execute(select(users.c.name).order_by(users.c.name))]
    listing = f"users: {', '.join(known)}" if known else "there are no users yet: `runbook users add`"
    return UnknownAccount(f"there is no user '{name[:80]}'{suggest(name, known)} ({listing})")


def _refuse_service_token_name(conn: Connection, name: str) -> None:
    # A token named after a user acts as that user; a name a service token has held stays the token's, or
    # the new user would see that token's runs as their own.
    held = conn.execute(
        select(api_tokens.c.id).where(api_tokens.c.name == name, api_tokens.c.owner.is_(None)).limit(1)
    ).scalar()
    if held is not None:
        raise AccountExists(
            f"API token {held} (a service token) is named '{name}': choose another name for the user"
        )
