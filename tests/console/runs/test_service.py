"""Who may do what with a run, as RunService decides it for the pages, the API and the stream alike: an agent
of another team is told nothing of a run (404) and refused its runbook (403); a lead of the team answers and
cancels a member's run; operations look and do nothing else. No run executes here: the executor is not started."""

from __future__ import annotations

from pathlib import Path

import pytest

from automation.catalog import Catalog
from automation.console.config import ConsoleConfig, ServerSpec
from automation.console.context import Console
from automation.console.permissions import Actor, Role, Team
from automation.console.runs import audit, events, questions, records
from automation.console.runs.sealing import KeyPair
from automation.console.runs.service import Conflict, NotFound, Refused, RunService, http_status
from automation.console.server import run_service
from automation.console.store import ConsoleStore, now_utc
from automation.errors import InputValueError

ROOT = Path(__file__).resolve().parents[3]
TEAMS = {
    "portal-support": Team("portal-support", frozenset({"unknown-login-error", "resend-verify"})),
    "billing": Team("billing", frozenset({"change-customer-email"})),
}
ANA = Actor("ana", Role.AGENT, "portal-support")
AMY = Actor("amy", Role.AGENT, "portal-support")
LEE = Actor("lee", Role.LEAD, "portal-support", via="token")
BOB = Actor("bob", Role.AGENT, "billing")
OTTO = Actor("otto", Role.OPERATIONS)
EMAIL = {"email": "symbol-end@example.com"}


@pytest.fixture
def runs(store: ConsoleStore) -> RunService:
    config = ConsoleConfig(teams=TEAMS, server=ServerSpec(secure_cookie=False))
    return run_service(Console(store=store, config=config, catalog=Catalog([ROOT / "runbooks"])))


def waiting_on(runs: RunService, run_id: str, *, secret: bool = False) -> questions.QuestionRow:
    """The run as its executor leaves it when it asks (claimed, waiting on a question)."""
    records.claim_next(runs.store, "host:1:1")
    records.set_status(runs.store, run_id, "waiting")
    return questions.ask(
        runs.store, run_id=run_id, name="new_password" if secret else "ends_with_symbol",
        prompt="?", kind="text" if secret else "yes_no", secret=secret, pattern=None, step="1",
        screenshot=None, deadline=now_utc(), public_key=KeyPair().public_pem if secret else "",
    )  # fmt: skip


def refused_with(status: int, call: object, *args: object) -> None:
    with pytest.raises((NotFound, Refused, Conflict, InputValueError)) as raised:
        call(*args)  # type: ignore[operator]
    assert http_status(raised.value) == status, raised.value


def test_an_agent_of_another_team_is_told_nothing_of_the_run_and_refused_the_runbook(
    runs: RunService,
) -> None:
    row, _ = runs.start(ANA, "unknown-login-error", EMAIL)
    asked = waiting_on(runs, row.id)
    for outsider in (BOB, AMY):  # another team; another agent of the team: neither sees it
        refused_with(404, runs.run, outsider, row.id)
        refused_with(404, runs.state, outsider, row.id)
        refused_with(404, runs.answer, outsider, row.id, asked.name, "yes")
        refused_with(404, runs.cancel, outsider, row.id)
        assert runs.history(outsider, records.RunQuery()) == []
    refused_with(403, runs.start, BOB, "unknown-login-error", EMAIL)
    refused_with(403, runs.runbook, BOB, "unknown-login-error")
    refused_with(404, runs.runbook, BOB, "no-such-runbook")
    assert questions.waiting_question(runs.store, row.id) == asked  # untouched


def test_a_lead_of_the_team_answers_and_cancels_a_member_s_run(runs: RunService) -> None:
    row, _ = runs.start(ANA, "unknown-login-error", EMAIL)
    asked = waiting_on(runs, row.id, secret=True)
    runs.answer(LEE, row.id, asked.name, "Bright-Morning-4sun")
    assert questions.take_answer(runs.store, asked.id)[1] == "lee"
    line = audit.search_audit(runs.store, action="run.answer")[0]
    assert (line.actor, line.via, line.detail) == ("lee", "token lee", f"new_password = {questions.MASK}")
    assert runs.cancel(LEE, row.id) == "waiting"
    assert records.cancel_requested(runs.store, row.id) == "lee"
    assert [r.id for r in runs.history(LEE, records.RunQuery())] == [row.id]


def test_a_queued_run_cancelled_ends_at_once_with_its_event(runs: RunService) -> None:
    row, _ = runs.start(ANA, "unknown-login-error", EMAIL)
    assert runs.cancel(LEE, row.id) == "queued"
    assert runs.state(ANA, row.id)["status"] == "cancelled"
    ending = events.events_after(runs.store, row.id)[-1]
    assert ending.kind == "finished" and ending.data["status"] == "cancelled"
    refused_with(409, runs.cancel, LEE, row.id)  # it has ended


def test_operations_see_every_run_and_do_nothing_else(runs: RunService) -> None:
    row, _ = runs.start(ANA, "unknown-login-error", EMAIL)
    asked = waiting_on(runs, row.id)
    assert runs.state(OTTO, row.id)["question"]["name"] == asked.name
    refused_with(403, runs.answer, OTTO, row.id, asked.name, "yes")
    refused_with(403, runs.cancel, OTTO, row.id)
    refused_with(403, runs.start, OTTO, "unknown-login-error", EMAIL)
    assert [r.id for r in runs.history(OTTO, records.RunQuery())] == [row.id]


def test_an_agent_answers_their_own_question_and_is_told_what_will_not_do(runs: RunService) -> None:
    row, _ = runs.start(ANA, "unknown-login-error", EMAIL)
    refused_with(409, runs.answer, ANA, row.id, "ends_with_symbol", "yes")  # nothing asked yet
    asked = waiting_on(runs, row.id)
    refused_with(422, runs.answer, ANA, row.id, asked.name, "perhaps")  # a yes/no question
    refused_with(409, runs.answer, ANA, row.id, "another_question", "yes")
    runs.answer(ANA, row.id, asked.name, True)
    assert questions.take_answer(runs.store, asked.id) == ("yes", "ana")
    refused_with(409, runs.answer, ANA, row.id, asked.name, "no")  # answered already


def test_a_start_is_validated_field_by_field_and_a_repeat_is_the_same_run(runs: RunService) -> None:
    refused_with(422, runs.start, ANA, "unknown-login-error", {"email": "not an email"})
    first, created = runs.start(ANA, "unknown-login-error", EMAIL, idempotency_key="k1")
    again, created_again = runs.start(ANA, "unknown-login-error", EMAIL, idempotency_key="k1")
    assert (created, created_again, again.id) == (True, False, first.id)
    assert runs.state(ANA, first.id)["position"] == 1
    assert [e.kind for e in events.events_after(runs.store, first.id)] == ["status"]  # queued, once
