"""The console's runs as a helpdesk or an agent's page drives them: a real `runbook server` process (uvicorn,
its executor running the runbooks in real Chromium against the sandbox it starts), reached over HTTP only,
through the JSON API and the event stream (Server-Sent Events).

One server per kind of console.yaml, shared by the tests of this module that need it; each test leaves no run
of its own active, so the next one finds the pool free. The server's every file (console.db, the evidence,
its log) is in the server's folder, which the secret scans read.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from support.console_server import Client, ConsoleProcess, Event, console_server, wait_for
from support.leakscan import scan, scan_bytes

pytestmark = [pytest.mark.browser, pytest.mark.timing]


NEW_PASSWORD = "Zq7#mVr2pLxCanary"
CUSTOMER = "symbol-end@example.com"
UNVERIFIED = "unverified@example.com"
TEAMS = """\
teams:
  portal-support:
    runbooks: [unknown-login-error, resend-verify, reset-password]
  billing:
    runbooks: [change-customer-email]
"""
PEOPLE = (
    ("ana", "agent", "portal-support"),
    ("amy", "agent", "portal-support"),
    ("lee", "lead", "portal-support"),
    ("bob", "agent", "billing"),
    ("otto", "operations", None),
)
# The answers of unknown-login-error for a password that ends in a symbol: tip 1, the reset, fixed.
FIXED_BY_RESET = {"ends_with_symbol": "yes", "new_password": NEW_PASSWORD, "can_log_in_after_reset": "yes"}
FINAL = ("passed", "escalated", "failed", "error", "aborted", "timed-out", "cancelled", "unanswered")


def server_yaml(**settings: str) -> str:
    lines = ["server:", "  secure_cookie: false", *(f"  {k}: {v}" for k, v in settings.items())]
    return TEAMS + "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleProcess]:
    """The main server: a pool of 2, the default environment (the embedded sandbox, with its mail outbox)."""
    with console_server(
        tmp_path_factory.mktemp("console"), server_yaml(concurrency="2", answer_within="2m"), users=PEOPLE
    ) as server:
        yield server


@pytest.fixture(scope="module")
def tokens(console: ConsoleProcess) -> dict[str, Client]:
    """An API token for each person, acting as them."""
    return {name: console.with_token(console.token(name)[1], name) for name, _role, _team in PEOPLE}


@pytest.fixture
def no_run_left(console: ConsoleProcess, tokens: dict[str, Client]) -> Iterator[None]:
    """After the test, none of its runs is still active (the next test's runs would queue behind it)."""
    yield
    admin_view = tokens["otto"]
    for item in admin_view.http.get("/api/runs", params={"limit": 500}).json():
        if item["status"] not in FINAL:
            tokens["lee"].cancel(item["id"])
    wait_for(
        lambda: all(i["status"] in FINAL for i in admin_view.http.get("/api/runs").json()),
        60,
        "a run of this test was still active a minute after it was cancelled",
    )


def evidence(console: ConsoleProcess, run_id: str) -> Path:
    """The run's evidence folder (its id is the folder's name)."""
    return console.traces / run_id


def run_json(console: ConsoleProcess, run_id: str) -> dict[str, Any]:
    return dict(json.loads((evidence(console, run_id) / "run.json").read_text()))


def replay(client: Client, run_id: str) -> str:
    """The whole event stream of an ended run, as its bytes went over the wire."""
    reply = client.http.get(f"/api/runs/{run_id}/events", headers={"accept": "text/event-stream"})
    assert reply.status_code == 200, reply.text
    return reply.text


def assert_nowhere(console: ConsoleProcess, secrets: list[str], *wire: str) -> None:
    """None of `secrets` is in console.db (and its WAL), the evidence, the server's log, or the `wire` texts
    (event streams, API answers) — in any encoding the scan knows."""
    findings = scan([*console.database_files(), console.traces, console.log], secrets)
    for number, text in enumerate(wire):
        findings += scan_bytes(text, secrets, where=f"<answer {number}>")
    assert findings.clean, str(findings)


def step_kinds(events: list[Event]) -> list[str]:
    return [e.kind for e in events]


# -- an agent's run from start to outcome --------------------------------------------------------------------


@pytest.mark.usefixtures("no_run_left")
def test_an_agent_answers_the_questions_and_the_password_is_nowhere(
    console: ConsoleProcess, tokens: dict[str, Client]
) -> None:
    ana = tokens["ana"]
    run_id = ana.started("unknown-login-error", {"email": CUSTOMER})
    ending, seen = ana.finish(run_id, FIXED_BY_RESET)
    assert ending.data["status"] == "passed" and ending.data["outcome"] == "fixed-by-reset", ending.data
    assert "step" in step_kinds(seen)  # the steps arrived live, before the end
    answered = [e.data for e in seen if e.kind == "answered"]
    assert [a["name"] for a in answered] == list(FIXED_BY_RESET)
    assert [a["by"] for a in answered] == ["ana"] * 3
    state = ana.state(run_id)
    assert (state["status"], state["outcome"], state["question"]) == ("passed", "fixed-by-reset", None)
    assert state["summary"] == "The password reset fixed the login."
    assert run_json(console, run_id)["outcome"] == "fixed-by-reset"
    assert_nowhere(console, [NEW_PASSWORD], replay(ana, run_id), json.dumps(state))


# -- the API: one run per idempotency key, the history by the customer's email ----------------------------------


@pytest.mark.usefixtures("no_run_left")
def test_a_repeated_start_with_one_idempotency_key_is_the_same_run_and_history_finds_it(
    tokens: dict[str, Client],
) -> None:
    ana, amy = tokens["ana"], tokens["amy"]
    body = {"runbook": "unknown-login-error", "inputs": {"email": "repeat.caller@example.com"}}
    key = {"idempotency-key": "zendesk-4711-start"}
    first = ana.http.post("/api/runs", json=body, headers=key)
    again = ana.http.post("/api/runs", json=body, headers=key)
    assert (first.status_code, again.status_code) == (201, 200), (first.text, again.text)
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["url"] == f"/runs/{first.json()['id']}"
    found = ana.http.get("/api/runs", params={"q": "repeat.caller@example.com"}).json()
    assert [r["id"] for r in found] == [first.json()["id"]]
    assert found[0]["inputs"] == {"email": "repeat.caller@example.com"}
    # the key is the person's own: another agent's request with the same key is another run
    other = amy.http.post("/api/runs", json=body, headers=key)
    assert other.status_code == 201 and other.json()["id"] != first.json()["id"]
    assert len(tokens["lee"].http.get("/api/runs", params={"q": "repeat.caller"}).json()) == 2
    assert ana.http.get("/api/runs", params={"q": "someone.else@example.com"}).json() == []


# -- the event stream resumes where it was cut -----------------------------------------------------------------


@pytest.mark.usefixtures("no_run_left")
def test_a_stream_cut_mid_run_resumes_with_every_event_once(
    console: ConsoleProcess, tokens: dict[str, Client]
) -> None:
    ana = tokens["ana"]
    run_id = ana.started("unknown-login-error", {"email": CUSTOMER}, answers=FIXED_BY_RESET)
    first: list[Event] = []
    for event in ana.events(run_id):  # the connection is closed once three steps have been seen
        first.append(event)
        if sum(e.kind == "step" for e in first) == 3:
            break
    assert first[-1].kind == "step", step_kinds(first)
    # more steps happen while nobody listens
    wait_for(
        lambda: len(ana.state(run_id)["steps"]) > len({e.data["number"] for e in first if e.kind == "step"}),
        60,
        "the run made no further step while the stream was cut",
    )
    second = list(ana.events(run_id, after=first[-1].id))  # as an EventSource reconnects: Last-Event-ID
    assert second[-1].kind == "finished" and second[-1].data["outcome"] == "fixed-by-reset", second[-1]
    whole = list(ana.events(run_id, after=0))
    assert [e.id for e in first + second] == [e.id for e in whole]  # none lost, none twice, in order
    assert first + second == whole
    steps = [(e.data["number"], e.data["status"]) for e in whole if e.kind == "step"]
    assert len(steps) == len(set(steps)) and len(steps) >= 6, steps
    assert not second[0].id <= first[-1].id


# -- queue instead of reject -----------------------------------------------------------------------------------


def wait_status(client: Client, run_id: str, wanted: tuple[str, ...], within_s: float = 60) -> dict[str, Any]:
    """The run's state once its status is one of `wanted`."""
    return dict(
        wait_for(
            lambda: (s := client.state(run_id))["status"] in wanted and s,
            within_s,
            lambda: f"{run_id} never reached {wanted}: {client.state(run_id)['status']}",
        )
    )


@pytest.mark.usefixtures("no_run_left")
def test_two_runs_at_once_on_a_pool_of_two_and_a_third_waits_its_turn(tokens: dict[str, Client]) -> None:
    ana, amy, lee = tokens["ana"], tokens["amy"], tokens["lee"]
    held = ana.started("unknown-login-error", {"email": "first.caller@example.com"})
    ana.until(held, ("question",))  # it holds its slot, waiting for the agent
    second = amy.started("unknown-login-error", {"email": "second.caller@example.com"})
    wait_status(amy, second, ("running", "waiting"))
    third = ana.started("unknown-login-error", {"email": "third.caller@example.com"})
    queued = ana.state(third)
    assert (queued["status"], queued["position"]) == ("queued", 1), queued
    assert {ana.state(held)["status"], amy.state(second)["status"]} <= {"running", "waiting"}
    shown, _ = ana.until(third, ("status",))
    assert (shown.data["status"], shown.data.get("position")) == ("queued", 1), shown.data
    # the first one ends: the third takes its place in the pool
    assert lee.cancel(held).json()["was"] == "waiting"
    running = wait_status(ana, third, ("running", "waiting"))
    assert running["position"] is None
    for run_id in (second, third):
        lee.cancel(run_id)
    for run_id in (held, second, third):
        ending, _ = lee.until(run_id, ("finished",))
        assert ending.data["status"] == "cancelled", ending.data


# -- who may do what -------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("no_run_left")
def test_another_team_sees_nothing_a_lead_answers_and_cancels_operations_only_look(
    console: ConsoleProcess, tokens: dict[str, Client]
) -> None:
    ana, amy, bob, lee, otto = (tokens[n] for n in ("ana", "amy", "bob", "lee", "otto"))
    run_id = ana.started("unknown-login-error", {"email": "team.check@example.com"})
    question, _ = ana.until(run_id, ("question",))
    name = question.data["name"]
    for outsider in (bob, amy):  # another team's agent, and another agent of the team: not theirs to see
        assert outsider.http.get(f"/api/runs/{run_id}").status_code == 404
        assert outsider.http.get(f"/api/runs/{run_id}/events").status_code == 404
        assert outsider.answer(run_id, name, "yes").status_code == 404
        assert outsider.cancel(run_id).status_code == 404
        assert outsider.http.get("/api/runs", params={"q": "team.check@example.com"}).json() == []
    refused = bob.start("unknown-login-error", {"email": "team.check@example.com"})
    assert refused.status_code == 403 and "billing" not in refused.text, refused.text
    assert bob.http.get("/api/runbooks/unknown-login-error").status_code in (403, 404)
    # operations: every run, read-only
    assert otto.state(run_id)["question"]["name"] == name
    assert otto.answer(run_id, name, "yes").status_code == 403
    assert otto.cancel(run_id).status_code == 403
    assert otto.start("unknown-login-error", {"email": "team.check@example.com"}).status_code == 403
    # the team's lead answers the agent's question and cancels the run while it waits on the next one
    lee.answered(run_id, name, "yes")
    answered, _ = ana.until(run_id, ("answered",), after=question.id)
    assert (answered.data["name"], answered.data["by"]) == (name, "lee")
    following, _ = ana.until(run_id, ("question",), after=answered.id)
    assert following.data["name"] == "new_password" and following.data["secret"] is True
    assert lee.cancel(run_id).json() == {"id": run_id, "was": "waiting"}
    ending, _ = ana.until(run_id, ("finished",), after=following.id)
    assert ending.data["status"] == "cancelled", ending.data
    assert ana.state(run_id)["status"] == "cancelled"
    kept = run_json(console, run_id)  # the evidence gathered so far stays
    assert kept["status"] == "cancelled" and "lee" in json.dumps(kept), kept.get("error")
    assert (evidence(console, run_id) / "report.html").is_file()
    assert lee.cancel(run_id).status_code == 409  # it has ended


def test_a_disabled_user_and_a_revoked_token_are_refused_at_once(console: ConsoleProcess) -> None:
    console.add_user("dana", "agent", "portal-support")
    dana = console.signed_in("dana")
    token_id, token = console.token("zendesk", role="agent", team="portal-support")
    helpdesk = console.with_token(token, "zendesk")
    dana_token = console.with_token(console.token("dana")[1], "dana's token")
    for client in (dana, helpdesk, dana_token):
        assert client.http.get("/api/runs").status_code == 200
    console.must("users", "disable", "dana")
    assert dana.http.get("/api/runs").status_code == 401
    assert dana_token.http.get("/api/runs").status_code == 401  # a token acts as its user, disabled too
    assert dana.start("unknown-login-error", {"email": CUSTOMER}).status_code == 401
    assert helpdesk.http.get("/api/runs").status_code == 200
    console.must("tokens", "revoke", str(token_id))
    assert helpdesk.http.get("/api/runs").status_code == 401
    assert helpdesk.start("unknown-login-error", {"email": CUSTOMER}).status_code == 401


# -- an environment without a mailbox: the agent reads the code out; an unanswered question ends the run ---------

# desk: the sandbox without a mailbox. sandbox: the name runbooks/checks.yaml's checks use, which the server
# checks too when it serves the checks pages (also without a mailbox here).
NO_MAILBOX = "default: desk\nenvironments:\n  desk:\n    sandbox: true\n  sandbox:\n    sandbox: true\n"
ANSWER_WITHIN_S = 4


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleProcess]:
    """A server whose environment is a sandbox without a mailbox, and whose questions wait a few seconds."""
    with console_server(
        tmp_path_factory.mktemp("desk"),
        server_yaml(answer_within=f"{ANSWER_WITHIN_S}s"),
        users=PEOPLE[:1],
        environments_yaml=NO_MAILBOX,
    ) as server:
        yield server


def test_the_code_from_the_customer_s_mail_is_typed_as_a_secret_and_is_nowhere(desk: ConsoleProcess) -> None:
    ana = desk.with_token(desk.token("ana")[1], "ana")
    run_id = ana.started("resend-verify", {"email": UNVERIFIED})
    question, _ = ana.until(run_id, ("question",))
    assert (question.data["name"], question.data["secret"]) == ("code", True), question.data
    code = desk.mailed_code(UNVERIFIED)  # what the customer reads out over the phone
    ana.answered(run_id, "code", code)
    ending, seen = ana.until(run_id, ("finished",), after=question.id)
    assert (ending.data["status"], ending.data["outcome"]) == ("passed", "verified"), ending.data
    assert [e.data["value"] for e in seen if e.kind == "answered"] == ["••••••"]
    assert_nowhere(desk, [code], replay(ana, run_id), json.dumps(ana.state(run_id)))


def test_an_unanswered_question_ends_the_run_at_its_limit_with_the_evidence(desk: ConsoleProcess) -> None:
    ana = desk.with_token(desk.token("ana")[1], "ana")
    run_id = ana.started("resend-verify", {"email": UNVERIFIED})
    question, _ = ana.until(run_id, ("question",))
    ending, _ = ana.until(run_id, ("finished",), after=question.id)
    assert ending.data["status"] == "unanswered", ending.data
    assert f"within {ANSWER_WITHIN_S}s" in ending.data["error"], ending.data
    state = ana.state(run_id)
    assert (state["status"], state["question"]) == ("unanswered", None)
    assert datetime.fromisoformat(state["finished"]) >= datetime.fromisoformat(question.data["deadline"])
    assert ana.answer(run_id, "code", "123456").status_code == 409  # too late
    kept = run_json(desk, run_id)
    assert kept["status"] == "unanswered", kept
    assert (evidence(desk, run_id) / "report.html").is_file()
    assert any((evidence(desk, run_id) / "screenshots").iterdir())


# -- a run outlives the session that started it -------------------------------------------------------------------


@pytest.fixture(scope="module")
def short_sessions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleProcess]:
    """A server whose sessions end two seconds after their last use."""
    with console_server(
        tmp_path_factory.mktemp("short-sessions"),
        server_yaml(session_idle="2s"),
        users=(PEOPLE[0], PEOPLE[2]),
    ) as server:
        yield server


def test_the_session_expires_mid_run_the_run_goes_on_and_signing_in_again_shows_it(
    short_sessions: ConsoleProcess,
) -> None:
    console = short_sessions
    ana = console.signed_in("ana")
    run_id = ana.started("unknown-login-error", {"email": CUSTOMER})
    wait_for(
        lambda: ana.http.get(f"/api/runs/{run_id}").status_code == 401,
        30,
        "ana's session did not expire",
    )
    # The run reaches its question meanwhile (the team's lead watches); ana signs in again and finds it there.
    lee = console.with_token(console.token("lee")[1], "lee")
    lee.until(run_id, ("question",))
    ana = console.signed_in("ana")
    asked = ana.state(run_id)
    assert (asked["status"], asked["question"]["name"]) == ("waiting", "ends_with_symbol"), asked
    ana.answered(run_id, "ends_with_symbol", "yes")
    # Her session lapses again while the run goes on; the lead answers the rest.
    hers, _ = lee.until(run_id, ("answered",))
    assert hers.data["by"] == "ana"
    ending, _ = lee.finish(run_id, FIXED_BY_RESET, after=hers.id)
    assert ending.data["outcome"] == "fixed-by-reset", ending.data
    wait_for(lambda: ana.http.get("/api/runs").status_code == 401, 30, "ana's second session did not expire")
    ana = console.signed_in("ana")
    seen = ana.state(run_id)
    assert (seen["status"], seen["outcome"]) == ("passed", "fixed-by-reset"), seen
    assert [r["id"] for r in ana.http.get("/api/runs", params={"user": "ana"}).json()] == [run_id]
