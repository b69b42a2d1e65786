"""Sign-in sessions kept on the server (console_sessions), and the CSRF token bound to each.

The browser holds a random 256-bit id in an HttpOnly cookie; the store keeps only its SHA-256, so a copy of the
database opens no session. Sign-in always makes a NEW id: an id the browser held before (the anonymous one its
login form was bound to, or one an attacker planted) is never promoted. A session ends when revoked (sign-out,
the user disabled or given a new password), after `idle` without a request, or `absolute` after sign-in.

The CSRF token is an HMAC of the cookie's id: a page can carry it in its forms, a script on another site cannot
compute it (it cannot read the cookie), and the server needs no second secret to check it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from sqlalchemy import insert, select, update

from automation.console.accounts import User, user_of_row
from automation.console.store import ConsoleStore, now_utc
from automation.store.tables.console import sessions, users

COOKIE = "runbook_session"
CSRF_FIELD = "csrf_token"  # the form field
CSRF_HEADER = "x-csrf-token"  # the header a fetch() sends
SESSION_BYTES = 32
# last_seen is written at most this often: the idle timeout is minutes long, a page's every request need
# not cost a write.
TOUCH_EVERY = timedelta(minutes=1)


def new_session_id() -> str:
    """A fresh random id for the cookie: at sign-in, and for a browser that has none yet."""
    return secrets.token_urlsafe(SESSION_BYTES)


def hash_session_id(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def csrf_token(session_id: str) -> str:
    """The synchronizer token of the session (or of the anonymous id a login form is bound to)."""
    return hmac.new(session_id.encode(), b"runbook-console-csrf", hashlib.sha256).hexdigest()


def csrf_matches(session_id: str | None, given: str | None) -> bool:
    """True when `given` is the token of `session_id`; False when either is missing. Constant time."""
    if not session_id or not given:
        return False
    return hmac.compare_digest(csrf_token(session_id), given)


def session_alive(
    *, last_seen: datetime, expires: datetime, revoked: datetime | None, now: datetime, idle: timedelta
) -> bool:
    """Whether a stored session still stands at `now`: not revoked, before its absolute end, not idle too long."""
    return revoked is None and now < expires and now - last_seen < idle


def start_session(
    store: ConsoleStore, user: User, *, absolute: timedelta, now: datetime | None = None
) -> str:
    """Open a session for `user` and return its new id (for the cookie; the store keeps its hash)."""
    moment = now or now_utc()
    session_id = new_session_id()
    with store.transaction() as conn:
        conn.execute(
            insert(sessions).values(
                id_hash=hash_session_id(session_id),
                user_name=user.name,
                created=moment,
                last_seen=moment,
                expires=moment + absolute,
            )
        )
    return session_id


def find_session(
    store: ConsoleStore, session_id: str | None, *, idle: timedelta, now: datetime | None = None
) -> User | None:
    """The user whose live session has this id, or None (unknown, ended, idle too long, user disabled).

    Counts the request as activity: the idle timeout starts again."""
    if not session_id or len(session_id) > 100:
        return None
    moment = now or now_utc()
    key = hash_session_id(session_id)
    query = (
        select(sessions.c.last_seen, sessions.c.expires, sessions.c.revoked, users)
        .join(users, users.c.name == sessions.c.user_name)
        .where(sessions.c.id_hash == key)
    )
    with store.reading() as conn:
        row = conn.execute(query).mappings().first()
    if row is None or row["disabled"]:
        return None
    times = {k: row[k] for k in ("last_seen", "expires", "revoked")}
    if not session_alive(**times, now=moment, idle=idle):
        return None
    if moment - row["last_seen"] >= TOUCH_EVERY:
        with store.transaction() as conn:
            conn.execute(update(sessions).where(sessions.c.id_hash == key).values(last_seen=moment))
    return user_of_row(row)


def end_session(store: ConsoleStore, session_id: str | None, *, now: datetime | None = None) -> None:
    """Revoke the session of this id (sign-out); an unknown or ended one is left as it is."""
    if not session_id:
        return
    with store.transaction() as conn:
        conn.execute(
            update(sessions)
            .where(sessions.c.id_hash == hash_session_id(session_id), sessions.c.revoked.is_(None))
            .values(revoked=now or now_utc())
        )
