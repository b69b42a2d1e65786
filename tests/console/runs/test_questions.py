"""A run's questions in the store: the first answer wins, a secret answer is stored only sealed and wiped once
the run takes it (the raw database bytes searched for it, in every encoding tests/support/leakscan.py knows)."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from support.leakscan import scan_bytes

from automation.console.runs import questions, records
from automation.console.runs.sealing import KeyPair
from automation.console.store import ConsoleStore

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PRINTABLE = st.characters(min_codepoint=0x21, max_codepoint=0x7E)  # a password's characters, no space


def runs(store: ConsoleStore, *ids: str) -> ConsoleStore:
    """The runs the questions belong to."""
    for run_id in ids:
        records.insert_run(
            store,
            records.NewRun(run_id, "unknown-login-error", "sandbox", "ana", "portal-support", "session", {}),
        )
    return store


@pytest.fixture
def store(store: ConsoleStore) -> ConsoleStore:
    return runs(store, "run-1", "run-2")


def ask(store: ConsoleStore, *, secret: bool = False, keys: KeyPair | None = None) -> questions.QuestionRow:
    return questions.ask(
        store,
        run_id="run-1",
        name="new_password" if secret else "ends_with_symbol",
        prompt="The new password the customer chose" if secret else "Does it end with a symbol?",
        kind="text" if secret else "yes_no",
        secret=secret,
        pattern=None,
        step="2.2",
        screenshot=None,
        deadline=T0 + timedelta(minutes=10),
        public_key=keys.public_pem if keys else "",
        now=T0,
    )


def database_bytes(folder: Path) -> bytes:
    return b"".join(path.read_bytes() for path in sorted(folder.glob("console.db*")))


def test_the_first_answer_wins(store: ConsoleStore) -> None:
    asked = ask(store)
    assert questions.take_answer(store, asked.id) == (None, None)  # none yet
    assert questions.give_answer(store, asked, "yes", by="ana", via="session")
    assert not questions.give_answer(store, asked, "no", by="lee", via="token zendesk")  # the other tab's
    assert questions.waiting_question(store, "run-1") is None
    assert not questions.close_question(store, asked.id, "unanswered")  # the answer came first
    assert questions.take_answer(store, asked.id) == ("yes", "ana")
    assert questions.take_answer(store, asked.id) == (None, None)  # taken once


def test_a_closed_question_takes_no_answer(store: ConsoleStore) -> None:
    asked = ask(store)
    assert questions.waiting_question(store, "run-1") == asked
    assert questions.close_question(store, asked.id, "unanswered")
    assert not questions.give_answer(store, asked, "yes", by="ana", via="session")
    assert questions.take_answer(store, asked.id) == (None, None)


def test_the_card_shows_the_question_never_an_answer(store: ConsoleStore) -> None:
    keys = KeyPair()
    asked = ask(store, secret=True, keys=keys)
    questions.give_answer(store, asked, "Bright-Morning-4sun", by="ana", via="session")
    card = questions.ask(
        store, run_id="run-2", name="n", prompt="p", kind="text", secret=False, pattern="^x$", step="1",
        screenshot="screenshots/01.png", deadline=T0, public_key="", now=T0,
    ).card()  # fmt: skip
    assert {"id", "name", "prompt", "kind", "secret", "pattern", "step", "screenshot", "deadline"} <= set(
        card
    )
    assert not [key for key in card if "answer" in key]
    assert card["deadline"] == T0.isoformat() and card["screenshot"] == "screenshots/01.png"
    assert "Bright-Morning-4sun" not in str(asked.card())


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(secret=st.text(PRINTABLE, min_size=4, max_size=60))
def test_a_secret_answer_is_stored_only_sealed_and_wiped_once_taken(secret: str) -> None:
    with tempfile.TemporaryDirectory() as folder, ConsoleStore(Path(folder)) as store:
        runs(store, "run-1")
        keys = KeyPair()
        asked = ask(store, secret=True, keys=keys)
        # a secret the store already spells (its schema, the question's public key) tells nothing
        assume(scan_bytes(database_bytes(Path(folder)), [secret]).clean)
        assert questions.give_answer(store, asked, secret, by="ana", via="session")
        sealed = database_bytes(Path(folder))
        stored, by = questions.take_answer(store, asked.id)
        assert stored is not None and by == "ana"
        assume(secret.casefold() not in stored.casefold())  # the sealed text's own random letters
        assert scan_bytes(sealed, [secret], where="console.db while answered").clean
        assert keys.open(stored) == secret  # only the run's key opens it
        after = database_bytes(Path(folder))
        assert stored.encode() not in after or stored.encode() in sealed  # WAL may keep the old page
        assert scan_bytes(after, [secret], where="console.db once taken").clean
        with store.reading() as conn:
            from sqlalchemy import select

            from automation.store.tables.console import questions as table

            assert conn.execute(select(table.c.answer).where(table.c.id == asked.id)).scalar() is None
