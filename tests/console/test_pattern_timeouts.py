"""The console and a runbook pattern that backtracks catastrophically (issue 22): a value sent to it through the
API, the start form or a question card is refused at once, 422, the field named and the pattern's file:line
said, and the server answers everyone else meanwhile.

The API and the start form are driven on a real `runbook server` process over HTTP: a match that never ended
would hold its requests past their (generous) client timeouts and fail the test rather than hang it. No run is
started (every value sent is refused), so no browser starts. The question card's answer is checked in process,
on a run put in the waiting state through the store, as tests/console/test_run_pages.py does.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from support.console_server import CSRF_INPUT, ConsoleProcess, server_env

from automation.catalog import Catalog
from automation.console.accounts import add_user
from automation.console.config import ConsoleConfig, ServerSpec
from automation.console.context import Console
from automation.console.permissions import Team
from automation.console.runs import questions, records
from automation.console.server import create_app
from automation.console.store import ConsoleStore

BACKTRACKS = r"^(a|aa)+$"  # still exponential under the `regex` module, unlike the report's ^(a+)+$
HOSTILE = "a" * 64 + "!"
RUNBOOK = f"""\
name: patterned
title: A code with a pattern
app: portal
inputs:
  code:
    type: string
    pattern: '{BACKTRACKS}'
outcomes: {{done: {{status: resolved}}}}
steps:
  - ask: reference
    prompt: The reference the customer reads out
    pattern: '{BACKTRACKS}'
  - end: done
"""
INPUT_AT = "patterned.yaml:7"  # the input's `pattern:`
ASK_AT = "patterned.yaml:12"  # the ask's `pattern:`
CONSOLE_YAML = "teams:\n  desk:\n    runbooks: [patterned]\nserver:\n  secure_cookie: false\n"
PASSWORD = "correct horse battery staple"


def catalog_of(folder: Path) -> Path:
    catalog = folder / "catalog"
    catalog.mkdir(parents=True, exist_ok=True)
    (catalog / "patterned.yaml").write_text(RUNBOOK, encoding="utf-8")
    return catalog


def assert_refused_naming(reply: httpx.Response, where: str) -> None:
    assert reply.status_code == 422, reply.text
    body = reply.json()
    assert body["field"] == "code", body
    text = str(body)
    assert where in text and "catastrophic backtracking" in text and "simplify it" in text, body


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleProcess]:
    """`runbook server` on a catalog holding only the patterned runbook, with one agent."""
    folder = tmp_path_factory.mktemp("console")
    (folder / "console.yaml").write_text(CONSOLE_YAML, encoding="utf-8")
    process = ConsoleProcess(folder, server_env(folder, RUNBOOK_PATH=str(catalog_of(folder))))
    process.add_user("ana", "agent", "desk", PASSWORD)
    try:
        process.start(folder / "console.yaml")
        yield process
    finally:
        process.stop()


def test_the_api_refuses_the_value_naming_the_field_and_the_pattern_s_line(server: ConsoleProcess):
    ana = server.with_token(server.token("ana")[1], "ana")
    reply = ana.start("patterned", {"code": HOSTILE})
    assert_refused_naming(reply, INPUT_AT)
    assert ana.http.get("/api/runs").json() == []  # nothing was queued


def test_the_server_answers_others_while_hostile_values_come_in(server: ConsoleProcess):
    ana = server.with_token(server.token("ana")[1], "ana")
    other = server.signed_in("ana", PASSWORD)
    with ThreadPoolExecutor(max_workers=4) as pool:
        hostile = [pool.submit(ana.start, "patterned", {"code": HOSTILE}) for _ in range(4)]
        # meanwhile: a page and an API read of someone else (each with the client's 30 s timeout)
        assert other.http.get("/runbooks/patterned").status_code == 200
        assert other.http.get("/api/runbooks").status_code == 200
        for refused in hostile:
            assert_refused_naming(refused.result(), INPUT_AT)


def test_the_start_form_shows_the_refusal_beside_the_field(server: ConsoleProcess):
    ana = server.signed_in("ana", PASSWORD)
    form = ana.http.get("/runbooks/patterned")
    token = CSRF_INPUT.search(form.text)
    assert form.status_code == 200 and token
    posted = ana.http.post(
        "/runbooks/patterned/runs", data={"csrf_token": token.group(1), "input.code": HOSTILE}
    )
    assert posted.status_code == 422, posted.text
    field = re.search(r'<input [^>]*name="input\.code"[^>]*>', posted.text)
    assert field and 'aria-invalid="true"' in field.group(0)
    assert INPUT_AT in posted.text and "catastrophic backtracking" in posted.text


# -- a question's answer, in process ------------------------------------------------------------------------------


def page_csrf(client: TestClient, path: str) -> str:
    """The CSRF token a page carries for its scripts and forms."""
    found = re.search(r'name="csrf-token" content="([0-9a-f]+)"', client.get(path).text)
    assert found, f"{path} carries no csrf-token"
    return found.group(1)


@pytest.fixture
def card(store: ConsoleStore, tmp_path: Path) -> tuple[TestClient, str]:
    """A signed-in agent and a run waiting on the patterned ask (no executor: the app's lifespan is not run)."""
    add_user(store, "ana", "agent", PASSWORD, team="desk")
    teams = {"desk": Team("desk", frozenset({"patterned"}))}
    config = ConsoleConfig(teams=teams, server=ServerSpec(secure_cookie=False))
    console = Console(store=store, config=config, catalog=Catalog([catalog_of(tmp_path)]))
    client = TestClient(create_app(console), base_url="http://127.0.0.1")
    signed = client.post(
        "/login",
        data={"name": "ana", "password": PASSWORD, "csrf_token": page_csrf(client, "/login"), "next": "/"},
        follow_redirects=False,
    )
    assert signed.status_code == 303, signed.text
    client.headers["x-csrf-token"] = page_csrf(client, "/")
    started = client.post("/api/runs", json={"runbook": "patterned", "inputs": {"code": "aaaa"}})
    assert started.status_code == 201, started.text
    run_id = started.json()["id"]
    records.set_status(store, run_id, "waiting")
    questions.ask(
        store,
        run_id=run_id,
        name="reference",
        prompt="The reference the customer reads out",
        kind="text",
        secret=False,
        pattern=BACKTRACKS,
        step="1",
        screenshot=None,
        deadline=datetime.now(UTC) + timedelta(minutes=10),
        public_key="",
    )
    return client, run_id


def test_an_answer_is_refused_naming_the_ask_s_pattern_line(card: tuple[TestClient, str]):
    client, run_id = card
    reply = client.post(f"/api/runs/{run_id}/answers", json={"name": "reference", "value": HOSTILE})
    assert reply.status_code == 422, reply.text
    body = reply.json()
    assert body["field"] == "reference" and ASK_AT in str(body) and "catastrophic backtracking" in str(body)
    fine = client.post(f"/api/runs/{run_id}/answers", json={"name": "reference", "value": "aaaa"})
    assert fine.status_code == 204, fine.text
