"""API tokens: shown once, kept as a SHA-256, refused once revoked or expired or when their user is disabled,
listed with their last use."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from automation.console.accounts import add_user, disable_user
from automation.console.permissions import Actor, Role
from automation.console.store import ConsoleStore
from automation.console.tokens import (
    TOKEN_PREFIX,
    create_token,
    list_tokens,
    parse_expiry,
    revoke_token,
    verify_token,
)
from automation.console.values import AccountExists, AccountValueError, UnknownAccount
from automation.store.tables.console import api_tokens

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
PASSWORD = "correct horse battery staple"


def test_a_service_token_acts_with_its_role_and_team(store: ConsoleStore) -> None:
    made = create_token(store, "zendesk", role="agent", team="portal", now=NOW)
    assert made.token.startswith(TOKEN_PREFIX) and len(made.token) > 40
    assert verify_token(store, made.token, now=NOW) == Actor("zendesk", Role.AGENT, "portal", via="token")
    assert made.token not in repr(made)


def test_the_token_is_kept_only_as_its_sha256(store: ConsoleStore, stored_bytes) -> None:
    made = create_token(store, "zendesk", role="operations")
    with store.reading() as conn:
        kept = conn.execute(select(api_tokens.c.hash)).scalar_one()
    assert kept == hashlib.sha256(made.token.encode()).hexdigest()
    store.close()
    assert made.token.encode() not in stored_bytes()


def test_each_token_is_new(store: ConsoleStore) -> None:
    tokens = {create_token(store, "zendesk", role="operations").token for _ in range(5)}
    assert len(tokens) == 5


def test_a_revoked_token_is_refused_at_once(store: ConsoleStore) -> None:
    made = create_token(store, "zendesk", role="operations")
    assert verify_token(store, made.token) is not None
    done = revoke_token(store, made.info.id, now=NOW)
    assert not done.already and done.info.state() == "revoked"
    assert verify_token(store, made.token) is None
    assert revoke_token(store, str(made.info.id)).already


def test_a_token_expires(store: ConsoleStore) -> None:
    made = create_token(store, "zendesk", role="operations", expires="30d", now=NOW)
    assert made.info.expires == NOW + timedelta(days=30)
    assert verify_token(store, made.token, now=NOW + timedelta(days=29, hours=23)) is not None
    assert verify_token(store, made.token, now=NOW + timedelta(days=30)) is None
    assert list_tokens(store)[0].state(NOW + timedelta(days=31)) == "expired"


def test_never_is_an_expiry_too(store: ConsoleStore) -> None:
    made = create_token(store, "zendesk", role="operations", expires="never")
    assert made.info.expires is None
    assert verify_token(store, made.token, now=NOW + timedelta(days=3650)) is not None


def test_the_last_use_is_listed_to_the_minute(store: ConsoleStore) -> None:
    made = create_token(store, "zendesk", role="operations", now=NOW)
    assert list_tokens(store)[0].last_used is None
    verify_token(store, made.token, now=NOW + timedelta(seconds=5))
    verify_token(store, made.token, now=NOW + timedelta(seconds=30))  # within the minute: no write
    assert list_tokens(store)[0].last_used == NOW + timedelta(seconds=5)
    verify_token(store, made.token, now=NOW + timedelta(minutes=2))
    assert list_tokens(store)[0].last_used == NOW + timedelta(minutes=2)


def test_a_token_named_after_a_user_acts_as_them_until_they_are_disabled(store: ConsoleStore) -> None:
    add_user(store, "leo", "lead", PASSWORD, team="portal")
    made = create_token(store, "leo")
    assert made.info.owner == "leo" and made.info.role is Role.LEAD
    assert verify_token(store, made.token) == Actor("leo", Role.LEAD, "portal", via="token")
    disable_user(store, "leo")
    assert verify_token(store, made.token) is None


def test_a_users_token_cannot_reach_further_than_the_user(store: ConsoleStore) -> None:
    add_user(store, "ana", "agent", PASSWORD, team="portal")
    with pytest.raises(AccountValueError, match="acts as that user \\(agent of team portal\\)") as caught:
        create_token(store, "ana", role="admin")
    assert caught.value.field == "role"
    with pytest.raises(AccountValueError) as caught:
        create_token(store, "ana", team="billing")
    assert caught.value.field == "team"


def test_a_user_cannot_take_a_service_tokens_name(store: ConsoleStore) -> None:
    create_token(store, "zendesk", role="agent", team="portal")
    with pytest.raises(AccountExists, match="API token 1 \\(a service token\\) is named 'zendesk'"):
        add_user(store, "zendesk", "admin", PASSWORD)


@pytest.mark.parametrize(
    ("kwargs", "field", "says"),
    [
        ({"role": None}, "role", "a service token needs a role"),
        ({"role": "agent"}, "team", "an agent belongs to a team"),
        ({"role": "root"}, "role", "'root' is not a role"),
        ({"role": "admin", "expires": "soon"}, "expires", "is not a duration"),
        ({"role": "admin", "expires": "0s"}, "expires", "is not a time ahead"),
    ],
)
def test_bad_values_are_refused_naming_the_field(
    store: ConsoleStore, kwargs: dict, field: str, says: str
) -> None:
    with pytest.raises(AccountValueError) as caught:
        create_token(store, "zendesk", **kwargs)
    assert caught.value.field == field and says in str(caught.value)
    assert list_tokens(store) == []


def test_an_unknown_or_malformed_id_is_refused(store: ConsoleStore) -> None:
    with pytest.raises(UnknownAccount, match="there is no API token 7"):
        revoke_token(store, 7)
    with pytest.raises(AccountValueError, match="'seven' is not a token id"):
        revoke_token(store, "seven")


@pytest.mark.parametrize(
    "presented", ["", "Bearer", "rbt_", "rbt_" + "A" * 43, "x" * 10_000, "rbt_" + "A" * 200]
)
def test_anything_but_a_token_is_refused(store: ConsoleStore, presented: str) -> None:
    create_token(store, "zendesk", role="admin")
    assert verify_token(store, presented) is None


def test_parse_expiry() -> None:
    assert parse_expiry("12h") == timedelta(hours=12)
    assert parse_expiry("NEVER") is None and parse_expiry(None) is None
