"""Server-side sessions: a new id at sign-in, the idle and absolute timeouts, revocation, the CSRF token."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from automation.console.accounts import add_user, disable_user, set_password
from automation.console.sessions import (
    csrf_matches,
    csrf_token,
    end_session,
    find_session,
    hash_session_id,
    session_alive,
    start_session,
)
from automation.console.store import ConsoleStore

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
IDLE = timedelta(minutes=30)
ABSOLUTE = timedelta(hours=12)
PASSWORD = "a long enough passphrase"


def alive(last_seen: datetime, now: datetime, *, revoked: datetime | None = None) -> bool:
    return session_alive(last_seen=last_seen, expires=T0 + ABSOLUTE, revoked=revoked, now=now, idle=IDLE)


def test_a_session_ends_after_thirty_idle_minutes() -> None:
    assert alive(T0, T0 + timedelta(minutes=29, seconds=59))
    assert not alive(T0, T0 + IDLE)


def test_a_session_ends_at_its_absolute_limit_however_busy() -> None:
    late = T0 + ABSOLUTE - timedelta(seconds=1)
    assert alive(late, late)
    assert not alive(T0 + ABSOLUTE, T0 + ABSOLUTE)


def test_a_revoked_session_is_ended_at_once() -> None:
    assert not alive(T0, T0, revoked=T0)


def test_the_csrf_token_belongs_to_one_session() -> None:
    assert csrf_matches("session-a", csrf_token("session-a"))
    assert not csrf_matches("session-b", csrf_token("session-a"))
    assert not csrf_matches("session-a", None)
    assert not csrf_matches(None, csrf_token("session-a"))
    assert not csrf_matches("session-a", "")


@pytest.fixture
def ana(store: ConsoleStore):
    return add_user(store, "ana", "agent", PASSWORD, team="portal-support", now=T0)


def test_each_sign_in_gets_a_new_id_and_the_store_keeps_only_its_hash(
    store: ConsoleStore, ana, stored_bytes
) -> None:
    first = start_session(store, ana, absolute=ABSOLUTE, now=T0)
    second = start_session(store, ana, absolute=ABSOLUTE, now=T0)
    assert first != second
    assert find_session(store, first, idle=IDLE, now=T0) == ana
    assert first.encode() not in stored_bytes()
    assert hash_session_id(first).encode() in stored_bytes()


def test_a_request_restarts_the_idle_clock(store: ConsoleStore, ana) -> None:
    session = start_session(store, ana, absolute=ABSOLUTE, now=T0)
    assert find_session(store, session, idle=IDLE, now=T0 + timedelta(minutes=20)) is not None
    assert find_session(store, session, idle=IDLE, now=T0 + timedelta(minutes=45)) is not None
    assert find_session(store, session, idle=IDLE, now=T0 + timedelta(minutes=76)) is None


def test_an_unknown_id_opens_nothing(store: ConsoleStore, ana) -> None:
    start_session(store, ana, absolute=ABSOLUTE, now=T0)
    assert find_session(store, "made-up", idle=IDLE, now=T0) is None
    assert find_session(store, None, idle=IDLE, now=T0) is None


def test_sign_out_disabling_or_a_new_password_end_the_session(store: ConsoleStore, ana) -> None:
    signed_out = start_session(store, ana, absolute=ABSOLUTE, now=T0)
    end_session(store, signed_out, now=T0)
    assert find_session(store, signed_out, idle=IDLE, now=T0) is None

    before_passwd = start_session(store, ana, absolute=ABSOLUTE, now=T0)
    set_password(store, "ana", "another long passphrase", now=T0)
    assert find_session(store, before_passwd, idle=IDLE, now=T0) is None

    before_disable = start_session(store, ana, absolute=ABSOLUTE, now=T0)
    disable_user(store, "ana", now=T0)
    assert find_session(store, before_disable, idle=IDLE, now=T0) is None
