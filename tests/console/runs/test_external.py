"""A run started with `external_ticket` leaves its outcome on that helpdesk ticket: real runs (the executor's
threads drive Chromium against the embedded sandbox) and a fake Zendesk on a real HTTP server on 127.0.0.1,
reached through the product's Zendesk adapter. When Zendesk is down the comment waits in the outbox, and
`runbook tickets retry` posts it."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pytest_httpserver import HTTPServer
from tickets.ticket_fakes import ZENDESK_ENV, FakeZendesk

from automation.catalog import Catalog
from automation.commands.tickets import retry
from automation.console.accounts import add_user
from automation.console.config import ConsoleConfig, ServerSpec
from automation.console.context import Console
from automation.console.permissions import Team
from automation.console.runs.records import get_run
from automation.console.server import create_app
from automation.console.store import ConsoleStore
from automation.console.tokens import create_token

ROOT = Path(__file__).resolve().parents[3]
TEAMS = {"portal-support": Team("portal-support", frozenset({"unknown-login-error", "resend-verify"}))}
NEW_PASSWORD = "Qx8!rTn4wLv"
HELPDESK_TICKET = 4242
PUBLIC_URL = "https://console.example.test"


@pytest.fixture
def zendesk(httpserver: HTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeZendesk]:
    """A Zendesk holding the helpdesk's ticket, configured as the tracker of the environment `desk`."""
    fake = FakeZendesk(httpserver)
    fake.tickets[HELPDESK_TICKET] = {"external_id": None, "comments": [{"body": "Customer cannot sign in"}]}
    (tmp_path / "environments.yaml").write_text(
        "default: desk\nenvironments:\n  desk:\n    sandbox: true\n    mailbox: sandbox\n"
        f"    tickets: {{type: zendesk, url: '{fake.base_url}', timeout_s: 30}}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("RUNBOOK_CONFIG", str(tmp_path / "environments.yaml"))
    monkeypatch.setenv("RUNBOOK_PUBLIC_URL", PUBLIC_URL)
    for name, value in ZENDESK_ENV.items():
        monkeypatch.setenv(name, value)
    yield fake
    httpserver.check_handler_errors()


@pytest.fixture
def api(store: ConsoleStore, zendesk: FakeZendesk) -> Iterator[TestClient]:
    add_user(store, "ana", "agent", "a long enough passphrase", team="portal-support")
    token = create_token(store, "ana").token
    config = ConsoleConfig(teams=TEAMS, server=ServerSpec(secure_cookie=False, answer_within="2m"))
    console = Console(store=store, config=config, catalog=Catalog([ROOT / "runbooks"]))
    with TestClient(create_app(console), base_url="http://127.0.0.1") as client:
        client.headers["authorization"] = f"Bearer {token}"
        yield client


def until(client: TestClient, run_id: str, after: int, kinds: tuple[str, ...]) -> tuple[str, dict, int]:
    """Read the event stream from `after` until an event of `kinds`."""
    with client.stream("GET", f"/api/runs/{run_id}/events", headers={"last-event-id": str(after)}) as events:
        kind, last = None, after
        for line in events.iter_lines():
            if line.startswith("id:"):
                last = int(line[3:].strip())
            elif line.startswith("event:"):
                kind = line[6:].strip()
            elif line.startswith("data:") and kind in kinds:
                return kind, json.loads(line[5:]), last
    raise AssertionError(f"the stream ended without any of {kinds}")


def comments_of(zendesk: FakeZendesk) -> list[dict]:
    return zendesk.tickets[HELPDESK_TICKET]["comments"][1:]  # after the helpdesk's own


def reported(api: TestClient, store: ConsoleStore, run_id: str, within_s: float = 60.0) -> dict:
    """What became of the run's helpdesk comment, once the executor (after the run's end) has posted it."""
    wake = api.app.state.console.runs.wake
    seen = wake.generation(run_id)
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        row = get_run(store, run_id)
        if row is not None and row.result and "external_ticket" in row.result:
            return row.result["external_ticket"]
        seen = wake.wait(run_id, seen, 1.0)
    raise AssertionError(f"run {run_id}'s comment was not posted within {within_s:g}s")


@pytest.mark.browser
def test_the_outcome_summary_and_report_are_posted_to_the_helpdesk_ticket(
    api: TestClient, store: ConsoleStore, zendesk: FakeZendesk
) -> None:
    started = api.post(
        "/api/runs",
        json={
            "runbook": "unknown-login-error",
            "inputs": {"email": "symbol-end@example.com"},
            "external_ticket": str(HELPDESK_TICKET),
        },
    )
    assert started.status_code == 201, started.text
    run_id = started.json()["id"]
    after = 0
    for answer in ("yes", NEW_PASSWORD, "yes"):
        kind, question, after = until(api, run_id, after, ("question", "finished"))
        assert kind == "question", question
        reply = api.post(f"/api/runs/{run_id}/answers", json={"name": question["name"], "value": answer})
        assert reply.status_code == 204, reply.text
    until(api, run_id, after, ("finished",))
    state = api.get(f"/api/runs/{run_id}").json()
    assert (state["status"], state["outcome"]) == ("passed", "fixed-by-reset"), state
    assert reported(api, store, run_id)["status"] == "posted"

    [comment] = comments_of(zendesk)
    body = comment["body"]
    assert "ended: passed, outcome fixed-by-reset" in body, body
    assert state["summary"].strip() in body, body
    assert f"{PUBLIC_URL}/runs/{run_id}" in body, body
    assert comment["public"] is False  # an internal note: the agent decides what the customer reads
    [report] = [zendesk.uploads[token] for token in comment["uploads"]]
    name, content_type, data = report
    assert (name, content_type) == (f"report-{run_id}.html", "text/html")
    assert b"fixed-by-reset" in data
    sent = json.dumps(comment).encode() + data
    for secret in (NEW_PASSWORD, *ZENDESK_ENV.values()):
        assert secret.encode() not in sent, f"{secret!r} reached the helpdesk ticket"


@pytest.mark.browser
def test_a_comment_for_a_helpdesk_that_is_down_waits_in_the_outbox(
    api: TestClient, store: ConsoleStore, zendesk: FakeZendesk
) -> None:
    zendesk.fail("upload", 503)
    started = api.post(
        "/api/runs",
        json={
            "runbook": "resend-verify",
            "inputs": {"email": "unverified@example.com"},
            "external_ticket": str(HELPDESK_TICKET),
        },
    )
    assert started.status_code == 201, started.text
    run_id = started.json()["id"]
    kind, ending, _ = until(api, run_id, 0, ("finished",))
    assert ending["outcome"] == "verified", ending
    waiting = reported(api, store, run_id)
    assert comments_of(zendesk) == []
    assert waiting["status"] == "queued", waiting
    assert "waits in the outbox" in waiting["message"], waiting

    receipts = retry(env="desk")

    assert [r.status for r in receipts] == ["delivered"], receipts
    [comment] = comments_of(zendesk)
    assert "ended: passed, outcome verified" in comment["body"], comment
    assert len(comment["uploads"]) == 1
