"""Console users: Argon2id hashes with OWASP's parameters, no default password, one hash spent for an unknown
name, and disabling or a new password ending the user's sessions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import insert, select, update

from automation.console import accounts
from automation.console.accounts import (
    add_user,
    disable_user,
    enable_user,
    get_user,
    list_users,
    set_password,
    verify_password,
)
from automation.console.permissions import Role
from automation.console.store import ConsoleStore
from automation.console.values import AccountExists, AccountValueError, UnknownAccount
from automation.errors import ExitCode, UsageError
from automation.store.migrations import current, head
from automation.store.tables.console import sessions, users

PASSWORD = "correct horse battery staple"


def test_a_new_store_has_no_user_and_no_default_password(store: ConsoleStore, tmp_path: Path) -> None:
    assert list_users(store) == []
    assert verify_password(store, "admin", "admin") is None
    assert (tmp_path / "console.db").exists()
    with store.reading() as conn:
        assert current(conn, "console") == head("console")


def test_the_store_opens_in_the_data_folder_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNBOOK_DATA", str(tmp_path / "data"))
    monkeypatch.delenv("RUNBOOK_DATABASE_URL", raising=False)
    with ConsoleStore() as store:
        assert store.where == str(tmp_path / "data" / "console.db")


def test_a_user_signs_in_with_their_password_only(store: ConsoleStore) -> None:
    add_user(store, "ana", "agent", PASSWORD, team="portal")
    user = verify_password(store, "ana", PASSWORD)
    assert user is not None and (user.name, user.role, user.team) == ("ana", Role.AGENT, "portal")
    assert verify_password(store, "ana", PASSWORD + "!") is None
    assert verify_password(store, "ana", "") is None


def test_the_password_is_kept_as_an_argon2id_hash(store: ConsoleStore, stored_bytes) -> None:
    add_user(store, "ana", Role.ADMIN, PASSWORD)
    with store.reading() as conn:
        hashed = conn.execute(select(users.c.password_hash)).scalar_one()
    assert hashed.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    store.close()
    assert PASSWORD.encode() not in stored_bytes()


def test_an_unknown_name_spends_a_hash_as_a_known_one_does(
    store: ConsoleStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_user(store, "ana", "admin", PASSWORD)
    real, checked = accounts.password_hasher(), []
    accounts.dummy_hash()  # made once per process, maybe already by another test: before the count either way

    class Counting:
        def verify(self, stored: str, password: str) -> bool:
            checked.append(stored)
            return real.verify(stored, password)

        def check_needs_rehash(self, stored: str) -> bool:
            return real.check_needs_rehash(stored)

    monkeypatch.setattr(accounts, "password_hasher", Counting)
    assert verify_password(store, "nobody", PASSWORD) is None
    assert verify_password(store, "ana", "wrong password!") is None
    assert len(checked) == 2 and checked[0] == accounts.dummy_hash()


def test_a_disabled_user_cannot_sign_in_and_their_sessions_end(store: ConsoleStore) -> None:
    add_user(store, "ana", "agent", PASSWORD, team="portal")
    now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    with store.transaction() as conn:
        conn.execute(
            insert(sessions).values(
                id_hash="a" * 64,
                user_name="ana",
                created=now,
                last_seen=now,
                expires=now + timedelta(hours=8),
            )
        )
    assert disable_user(store, "ana", now=now).disabled
    assert verify_password(store, "ana", PASSWORD) is None
    with store.reading() as conn:
        assert conn.execute(select(sessions.c.revoked)).scalar_one() == now
    enable_user(store, "ana")
    assert verify_password(store, "ana", PASSWORD) is not None


def test_a_new_password_replaces_the_old_and_ends_sessions(store: ConsoleStore) -> None:
    add_user(store, "ana", "agent", PASSWORD, team="portal")
    now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    with store.transaction() as conn:
        conn.execute(
            insert(sessions).values(
                id_hash="b" * 64, user_name="ana", created=now, last_seen=now, expires=now
            )
        )
    set_password(store, "ana", "a brand new passphrase", now=now)
    assert verify_password(store, "ana", PASSWORD) is None
    assert verify_password(store, "ana", "a brand new passphrase") is not None
    with store.reading() as conn:
        assert conn.execute(select(sessions.c.revoked)).scalar_one() == now


def test_a_hash_made_with_weaker_parameters_is_upgraded_at_sign_in(store: ConsoleStore) -> None:
    add_user(store, "ana", "admin", PASSWORD)
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    with store.transaction() as conn:
        conn.execute(update(users).values(password_hash=weak))
    assert verify_password(store, "ana", PASSWORD) is not None
    with store.reading() as conn:
        assert (
            conn.execute(select(users.c.password_hash)).scalar_one().startswith("$argon2id$v=19$m=19456,t=2")
        )


def test_a_name_is_taken_once(store: ConsoleStore) -> None:
    add_user(store, "ana", "admin", PASSWORD)
    with pytest.raises(AccountExists, match="there is already a user 'ana'"):
        add_user(store, "ana", "admin", PASSWORD)


@pytest.mark.parametrize(
    ("name", "role", "team", "password", "field", "says"),
    [
        ("Ana Smith", "agent", "portal", PASSWORD, "name", "is not a usable name"),
        ("ana", "agnet", "portal", PASSWORD, "role", "'agnet' is not a role (did you mean agent?)"),
        ("ana", "agent", None, PASSWORD, "team", "an agent belongs to a team"),
        ("ana", "lead", "Night Shift", PASSWORD, "team", "use lower case letters"),
        ("ana", "admin", "portal", PASSWORD, "team", "the admin role reaches every team"),
        ("ana", "admin", None, "x7Q!", "password", "too short (4 characters): use at least 12"),
        ("ana.long.name", "admin", None, "ANA.LONG.NAME", "password", "is the user's name"),
    ],
)
def test_bad_values_are_refused_naming_the_field(
    store: ConsoleStore, name: str, role: str, team: str | None, password: str, field: str, says: str
) -> None:
    with pytest.raises(AccountValueError) as caught:
        add_user(store, name, role, password, team=team)
    assert caught.value.field == field and says in str(caught.value)
    assert isinstance(caught.value, UsageError) and caught.value.exit_code == ExitCode.BAD_INPUT
    assert password not in str(caught.value)  # a message never repeats a password
    assert list_users(store) == []


def test_an_unknown_user_is_named_with_the_users_there_are(store: ConsoleStore) -> None:
    add_user(store, "ana", "admin", PASSWORD)
    with pytest.raises(
        UnknownAccount, match=r"there is no user 'anna' \(did you mean ana\?\) \(users: ana\)"
    ):
        get_user(store, "anna")
    with pytest.raises(UnknownAccount):
        disable_user(store, "bob")
