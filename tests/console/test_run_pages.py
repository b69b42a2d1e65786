"""The run pages in process (Starlette's test client), as a browser without JavaScript uses them: the start form
made from a runbook's inputs, its errors by field, the run page and its question card, cancel, the history
search, the audit log, and the run's evidence.

The app's lifespan is not entered here, so no executor takes the runs: they stay queued (or are moved by the
test through the store), and no browser starts."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from support import signing_in
from support.signing_in import csrf_of

from automation.catalog import Catalog
from automation.console.accounts import add_user
from automation.console.config import ConsoleConfig, ServerSpec
from automation.console.context import Console
from automation.console.permissions import Team
from automation.console.runs import questions, records
from automation.console.server import create_app
from automation.console.store import ConsoleStore

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "a long enough passphrase"
TEAMS = {
    "portal-support": Team("portal-support", frozenset({"resend-verify", "form-demo"})),
    "billing": Team("billing", frozenset({"grant-access-temp-password"})),
}
FORM_DEMO = r"""
name: form-demo
title: Every kind of input
app: portal
inputs:
  email: {type: email, help: "The customer's email address"}
  plan: {type: enum, choices: [basic, pro], default: basic}
  seats: {type: int, required: false}
  notify: {type: bool, default: true}
  code: {type: secret, pattern: '^\d{6}$', pattern_hint: six digits, help: The code the customer reads out}
  api_key: {type: secret, from_env: DEMO_API_KEY}
outcomes:
  done: {status: resolved, summary: Done.}
steps:
  - goto: /
  - end: done
"""
INLINE = re.compile(r"<script(?![^>]*\bsrc=)|\son[a-z]+\s*=|\sstyle\s*=|javascript:", re.I)

Client = Callable[[str], TestClient]


@pytest.fixture
def console(store: ConsoleStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Console:
    monkeypatch.setenv("DEMO_API_KEY", "server-side-key-123")
    (tmp_path / "extra").mkdir()
    (tmp_path / "extra" / "form-demo.yaml").write_text(FORM_DEMO, encoding="utf-8")
    for name, role, team in [
        ("ana", "agent", "portal-support"),
        ("ben", "agent", "portal-support"),
        ("lea", "lead", "portal-support"),
        ("bo", "agent", "billing"),
        ("ops", "operations", None),
        ("root", "admin", None),
    ]:
        add_user(store, name, role, PASSWORD, team=team)
    config = ConsoleConfig(teams=TEAMS, server=ServerSpec(secure_cookie=False))
    catalog = Catalog([ROOT / "runbooks", tmp_path / "extra"])
    return Console(store=store, config=config, catalog=catalog)


@pytest.fixture
def signed_in(console: Console) -> Client:
    """A signed-in browser (without JavaScript) per user, on one app whose executor never starts."""
    app = create_app(console)

    def sign_in(name: str) -> TestClient:
        client = TestClient(app, base_url="http://127.0.0.1")
        signing_in.sign_in(client, name, PASSWORD)
        return client

    return sign_in


def start(client: TestClient, runbook: str, **fields: str) -> tuple[int, str]:
    """Post the start form as a browser does: (status, the run page's path or the page)."""
    token = csrf_of(client.get(f"/runbooks/{runbook}").text)
    data = {
        "csrf_token": token,
        **{f"input.{k}" if k != "external_ticket" else k: v for k, v in fields.items()},
    }
    answer = client.post(f"/runbooks/{runbook}/runs", data=data, follow_redirects=False)
    return answer.status_code, answer.headers.get("location") or answer.text


def tag(html: str, element_id: str) -> str:
    """The opening tag of the element with this id."""
    found = re.search(rf'<[a-z]+ [^>]*id="{re.escape(element_id)}"[^>]*>', html)
    assert found, f"no element #{element_id}"
    return found.group(0)


def test_each_runbook_in_the_list_links_to_its_start_form(signed_in: Client) -> None:
    html = signed_in("ana").get("/").text
    assert '<a href="/runbooks/resend-verify">' in html
    assert '<a href="/runbooks/grant-access-temp-password">' not in html


def test_the_start_form_is_made_from_the_runbook_s_inputs(signed_in: Client) -> None:
    html = signed_in("ana").get("/runbooks/form-demo").text
    assert 'type="email"' in tag(html, "input-email") and "required" in tag(html, "input-email")
    assert 'type="number"' in tag(html, "input-seats") and "required" not in tag(html, "input-seats")
    assert 'type="password"' in tag(html, "input-code") and 'autocomplete="off"' in tag(html, "input-code")
    assert tag(html, "input-plan").startswith("<select")
    assert '<option value="basic" selected>basic</option>' in html
    assert re.search(r'name="input.notify" value="yes" checked', html)  # the default, as yes/no radios
    assert "six digits" in html and "The code the customer reads out" in html
    assert "input-code-hint" in tag(html, "input-code")  # the hint is the field's description
    assert "api_key" not in html  # read from the server's environment, never asked
    assert 'name="external_ticket"' in html


def test_a_value_that_will_not_do_is_shown_beside_its_field_and_the_rest_is_kept(signed_in: Client) -> None:
    status, html = start(
        signed_in("ana"), "form-demo", email="not-an-email", seats="3", code="123456", plan="pro"
    )
    assert status == 422
    field = tag(html, "input-email")
    assert 'aria-invalid="true"' in field and "input-email-error" in field
    assert re.search(r'id="input-email-error">\s*&#39;not-an-email&#39; is not an email address', html)
    assert 'value="not-an-email"' in field and 'value="3"' in tag(html, "input-seats")
    assert '<option value="pro" selected>pro</option>' in html
    assert "123456" not in html  # a secret is never sent back
    assert 'aria-invalid="true"' not in tag(html, "input-seats")


def test_a_secret_that_breaks_its_pattern_is_named_without_its_value(signed_in: Client) -> None:
    status, html = start(signed_in("ana"), "form-demo", email="a@example.com", code="12ab")
    assert status == 422
    assert 'aria-invalid="true"' in tag(html, "input-code")
    assert "does not meet six digits" in html and "12ab" not in html


def test_a_good_form_queues_the_run_and_opens_its_page(signed_in: Client) -> None:
    ana = signed_in("ana")
    status, where = start(ana, "resend-verify", email="first@example.com")
    assert status == 303 and where.startswith("/runs/")
    status, second = start(ana, "resend-verify", email="second@example.com", external_ticket="ZD-1234")
    html = ana.get(second).text
    assert "queued" in html and "(2nd in the queue)" in html
    assert "second@example.com" in html and "ZD-1234" in html
    assert "Refresh" in html and '<script src="/static/run.js" defer>' in html


def test_another_team_s_runbook_is_403_and_shows_nothing(signed_in: Client) -> None:
    ana = signed_in("ana")
    page = ana.get("/runbooks/grant-access-temp-password")
    assert page.status_code == 403 and "temp_password" not in page.text
    token = csrf_of(ana.get("/").text)
    posted = ana.post(
        "/runbooks/grant-access-temp-password/runs",
        data={"csrf_token": token, "input.customer_id": "1001"},
        follow_redirects=False,
    )
    assert posted.status_code == 403


def test_the_start_form_without_its_csrf_token_is_refused(signed_in: Client) -> None:
    posted = signed_in("ana").post("/runbooks/resend-verify/runs", data={"input.email": "a@example.com"})
    assert posted.status_code == 403


def test_another_agent_s_run_is_not_found_but_their_lead_sees_and_may_cancel_it(signed_in: Client) -> None:
    _, where = start(signed_in("ana"), "resend-verify", email="c@example.com")
    assert signed_in("ben").get(where).status_code == 404
    assert signed_in("bo").get(where).status_code == 404
    assert "Cancel the run" in signed_in("ana").get(where).text  # her own run: the customer may hang up
    lead = signed_in("lea")
    page = lead.get(where).text
    assert "Cancel the run" in page
    cancelled = lead.post(f"{where}/cancel", data={"csrf_token": csrf_of(page)}, follow_redirects=False)
    assert cancelled.status_code == 303
    html = lead.get(where).text
    assert "Outcome: cancelled" in html and "Cancelled by lea before it started." in html


def test_the_history_finds_a_run_by_the_customer_s_email(signed_in: Client) -> None:
    ana = signed_in("ana")
    _, wanted = start(ana, "resend-verify", email="symbol-end@example.com")
    start(ana, "resend-verify", email="someone.else@example.com")
    html = ana.get("/runs", params={"q": "symbol-end@example.com"}).text
    assert f'href="{wanted}"' in html and "someone.else@example.com" not in html
    assert "1 run, newest first" in html
    everything = ana.get("/runs", params={"runbook": "resend-verify", "user": "ana"}).text
    assert "2 runs, newest first" in everything
    assert "No run you may see" in signed_in("ben").get("/runs").text  # ana's runs are hers


def test_the_history_searches_by_date(signed_in: Client) -> None:
    ana = signed_in("ana")
    start(ana, "resend-verify", email="d@example.com")
    today = datetime.now(UTC).date()
    found = ana.get("/runs", params={"since": today.isoformat(), "until": today.isoformat()}).text
    assert "1 run, newest first" in found
    tomorrow = (today + timedelta(days=1)).isoformat()
    assert "No run you may see" in ana.get("/runs", params={"since": tomorrow}).text
    wrong = ana.get("/runs", params={"until": "31/01/2025"})
    assert wrong.status_code == 422 and 'aria-invalid="true"' in tag(wrong.text, "f-until")


def test_the_audit_log_is_for_admins_only(signed_in: Client) -> None:
    _, where = start(signed_in("ana"), "resend-verify", email="e@example.com")
    for name in ("ana", "lea", "ops"):
        page = signed_in(name).get("/audit")
        assert page.status_code == 403 and "e@example.com" not in page.text, name
        assert 'href="/audit"' not in signed_in(name).get("/").text
    root = signed_in("root")
    html = root.get("/audit", params={"action": "run.start", "q": "e@example.com"}).text
    assert "resend-verify email=e@example.com" in html and where.removeprefix("/runs/") in html
    assert 'href="/audit"' in root.get("/").text
    assert "Nothing in the audit log" in root.get("/audit", params={"actor_name": "nobody"}).text


def waiting(console: Console, run_id: str, **question: object) -> questions.QuestionRow:
    """Put the run where a run that asks is: waiting, its question in the store."""
    records.set_status(console.store, run_id, "waiting")
    return questions.ask(
        console.store,
        run_id=run_id,
        name="code",
        prompt="The 6-digit code from the customer's email",
        kind="text",
        secret=True,
        pattern=r"^\d{6}$",
        step="4.2",
        screenshot=None,
        deadline=datetime.now(UTC) + timedelta(minutes=10),
        public_key="",
        **question,  # type: ignore[arg-type]
    )


def test_the_question_card_answers_without_javascript(signed_in: Client, console: Console) -> None:
    ana = signed_in("ana")
    _, where = start(ana, "resend-verify", email="f@example.com")
    run_id = where.removeprefix("/runs/")
    records.set_status(console.store, run_id, "waiting")
    questions.ask(
        console.store,
        run_id=run_id,
        name="verified",
        prompt="Did the customer get the email?",
        kind="yes_no",
        secret=False,
        pattern=None,
        step="4",
        screenshot=None,
        deadline=datetime.now(UTC) + timedelta(minutes=10),
        public_key="",
    )
    html = ana.get(where).text
    assert "Did the customer get the email?" in html and "Answer by" in html
    assert '<button type="submit" name="value" value="yes">Yes</button>' in html
    assert "disabled" in tag(html, "answer-value")  # a yes/no card sends no text
    posted = ana.post(
        f"{where}/answer",
        data={"csrf_token": csrf_of(html), "name": "verified", "value": "yes"},
        follow_redirects=False,
    )
    assert posted.status_code == 303
    assert questions.waiting_question(console.store, run_id) is None


def test_an_answer_that_will_not_do_is_shown_beside_the_card_s_field(
    signed_in: Client, console: Console
) -> None:
    ana = signed_in("ana")
    _, where = start(ana, "resend-verify", email="g@example.com")
    waiting(console, where.removeprefix("/runs/"))  # a secret: refused before it is sealed
    html = ana.get(where).text
    assert "The 6-digit code from the customer&#39;s email" in html
    assert 'type="password"' in tag(html, "answer-value")
    assert "6 digits</p>" in html.split('id="answer-hint">', 1)[1][:40]  # the rule in words, beside the field
    posted = ana.post(f"{where}/answer", data={"csrf_token": csrf_of(html), "name": "code", "value": "12"})
    assert posted.status_code == 422
    assert 'aria-invalid="true"' in tag(posted.text, "answer-value")
    assert "answer-error" in tag(posted.text, "answer-value")
    assert not re.search(r'id="answer-error"[^>]*hidden', posted.text)


def test_a_run_s_evidence_is_served_from_its_own_folder_only(signed_in: Client, tmp_path: Path) -> None:
    ana = signed_in("ana")
    _, where = start(ana, "resend-verify", email="h@example.com")
    folder = tmp_path / "traces" / where.removeprefix("/runs/")
    (folder / "screenshots").mkdir(parents=True)
    (folder / "screenshots" / "001-open.png").write_bytes(b"\x89PNG picture")
    (folder / "report.html").write_text("<html><style>p{}</style><p>report</p></html>")
    (folder / "trace.zip").write_bytes(b"PK zip")
    (tmp_path / "traces" / "secret.txt").write_text("not evidence")
    (folder / "screenshots" / "escape.png").symlink_to(tmp_path / "traces" / "secret.txt")

    shot = ana.get(f"{where}/evidence/screenshots/001-open.png")
    assert shot.status_code == 200 and shot.headers["content-type"] == "image/png"
    report = ana.get(f"{where}/report")
    assert report.status_code == 200 and "report" in report.text
    assert "sandbox" in report.headers["content-security-policy"]
    trace = ana.get(f"{where}/trace")
    assert trace.status_code == 200 and "attachment" in trace.headers["content-disposition"]
    for path in ("../secret.txt", "screenshots/../../secret.txt", "%2e%2e/secret.txt",
                 "screenshots/escape.png", "run.json", "other.txt"):  # fmt: skip
        answer = ana.get(f"{where}/evidence/{path}")
        assert answer.status_code == 404, path
        assert "not evidence" not in answer.text
    assert signed_in("ben").get(f"{where}/evidence/screenshots/001-open.png").status_code == 404


def test_a_run_the_console_did_not_start_opens_read_only_for_operations(
    signed_in: Client, tmp_path: Path
) -> None:
    run_id = "20250131-101500-resend-verify-ab12"
    folder = tmp_path / "traces" / run_id
    folder.mkdir(parents=True)
    run_json = {
        "run_id": run_id,
        "runbook": "resend-verify",
        "status": "escalated",
        "outcome": "escalated",
        "summary": "The customer system cannot find this customer.",
        "steps": [{"number": "1", "label": "Open the resend-verification page", "status": "passed"}],
        "artifacts": {},
        "ticket": {"title": "Customer not found", "id": "T-7"},
    }
    (folder / "run.json").write_text(json.dumps(run_json))
    html = signed_in("ops").get(f"/runs/{run_id}").text
    assert "Not started from the console" in html and "Open the resend-verification page" in html
    assert "Customer not found" in html
    assert signed_in("ana").get(f"/runs/{run_id}").status_code == 404
    assert signed_in("ops").get("/runs/..%2f..%2fetc").status_code == 404


def test_no_run_page_carries_inline_script_or_style(signed_in: Client, console: Console) -> None:
    ana = signed_in("ana")
    _, where = start(ana, "resend-verify", email="i@example.com")
    waiting(console, where.removeprefix("/runs/"))
    _, invalid = start(ana, "form-demo", email="x")
    pages = [ana.get(p).text for p in ("/", "/runbooks/form-demo", where, "/runs", "/runs?since=x")]
    pages += [invalid, signed_in("root").get("/audit").text]
    for html in pages:
        assert INLINE.search(html) is None, INLINE.search(html)
