"""Runs through the JSON API in process (Starlette's test client), executed for real: the executor's threads
drive Chromium against the embedded sandbox, through api.run."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from automation.catalog import Catalog
from automation.console.accounts import add_user
from automation.console.config import ConsoleConfig, ServerSpec
from automation.console.context import Console
from automation.console.permissions import Team
from automation.console.server import create_app
from automation.console.store import ConsoleStore
from automation.console.tokens import create_token

ROOT = Path(__file__).resolve().parents[3]
TEAMS = {"portal-support": Team("portal-support", frozenset({"unknown-login-error", "resend-verify"}))}
NEW_PASSWORD = "Zq7#mVr2pLx"


def no_mailbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An environments file whose sandbox has no mailbox: the code is asked of the agent."""
    (tmp_path / "environments.yaml").write_text(
        "default: desk\nenvironments:\n  desk:\n    sandbox: true\n", encoding="utf-8"
    )
    monkeypatch.setenv("RUNBOOK_CONFIG", str(tmp_path / "environments.yaml"))


@pytest.fixture
def api(store: ConsoleStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    add_user(store, "ana", "agent", "a long enough passphrase", team="portal-support")
    token = create_token(store, "ana").token
    config = ConsoleConfig(teams=TEAMS, server=ServerSpec(secure_cookie=False, answer_within="2m"))
    console = Console(store=store, config=config, catalog=Catalog([ROOT / "runbooks"]))
    with TestClient(create_app(console), base_url="http://127.0.0.1") as client:
        client.headers["authorization"] = f"Bearer {token}"
        yield client


def next_question(client: TestClient, run_id: str, after: int) -> tuple[str, dict, int]:
    """Read the event stream from `after` until a question (or the end)."""
    with client.stream("GET", f"/api/runs/{run_id}/events", headers={"last-event-id": str(after)}) as events:
        kind, last = None, after
        for line in events.iter_lines():
            if line.startswith("id:"):
                last = int(line[3:].strip())
            elif line.startswith("event:"):
                kind = line[6:].strip()
            elif line.startswith("data:") and kind in ("question", "finished"):
                return kind, json.loads(line[5:]), last
    raise AssertionError("the stream ended without a question or an ending")


@pytest.mark.browser
def test_an_agent_answers_a_run_s_questions_through_the_api(api: TestClient) -> None:
    started = api.post(
        "/api/runs", json={"runbook": "unknown-login-error", "inputs": {"email": "symbol-end@example.com"}}
    )
    assert started.status_code == 201, started.text
    run_id = started.json()["id"]
    after = 0
    for answer in ("yes", NEW_PASSWORD, "yes"):
        kind, question, after = next_question(api, run_id, after)
        assert kind == "question", question
        reply = api.post(f"/api/runs/{run_id}/answers", json={"name": question["name"], "value": answer})
        assert reply.status_code == 204, reply.text
    kind, ending, _ = next_question(api, run_id, after)
    assert kind == "finished", ending
    state = api.get(f"/api/runs/{run_id}").json()
    assert (state["status"], state["outcome"]) == ("passed", "fixed-by-reset"), state
    assert NEW_PASSWORD not in json.dumps(state)


@pytest.mark.browser
def test_answers_given_up_front_are_not_asked_and_never_stored(api: TestClient, tmp_path: Path) -> None:
    answers = {"ends_with_symbol": True, "new_password": NEW_PASSWORD, "can_log_in_after_reset": "yes"}
    started = api.post(
        "/api/runs",
        json={
            "runbook": "unknown-login-error",
            "inputs": {"email": "symbol-end@example.com"},
            "answers": answers,
        },
    )
    run_id = started.json()["id"]
    kind, ending, _ = next_question(api, run_id, 0)
    assert kind == "finished", ending  # no question on the way
    assert api.get(f"/api/runs/{run_id}").json()["outcome"] == "fixed-by-reset"
    stored = b"".join(path.read_bytes() for path in tmp_path.glob("console.db*"))
    assert NEW_PASSWORD.encode() not in stored


@pytest.mark.browser
def test_stopping_the_server_ends_a_waiting_run_as_aborted_with_its_evidence(
    store: ConsoleStore, tmp_path: Path
) -> None:
    from automation.console.runs.records import get_run

    add_user(store, "ana", "agent", "a long enough passphrase", team="portal-support")
    token = create_token(store, "ana").token
    config = ConsoleConfig(teams=TEAMS, server=ServerSpec(secure_cookie=False, answer_within="10m"))
    console = Console(store=store, config=config, catalog=Catalog([ROOT / "runbooks"]))
    with TestClient(create_app(console), base_url="http://127.0.0.1") as client:
        client.headers["authorization"] = f"Bearer {token}"
        started = client.post(
            "/api/runs",
            json={"runbook": "unknown-login-error", "inputs": {"email": "symbol-end@example.com"}},
        )
        run_id = started.json()["id"]
        kind, _, _ = next_question(client, run_id, 0)
        assert kind == "question"
    # the app's shutdown did not wait out the question's ten minutes: the run ended, its evidence saved
    row = get_run(store, run_id)
    assert row is not None and row.status == "aborted", row
    assert "stopped during the run" in (row.error or "")
    assert (Path(row.result["evidence_dir"]) / "run.json").is_file()
