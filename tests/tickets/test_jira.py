"""The Jira adapter against a fake Jira over real HTTP: exact requests, failures, retries, no duplicates."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ticket_fakes import FAST, JIRA_ENV, PNG, SHORT, ZIP, FakeJira, basic

from automation.tickets import (
    JiraTracker,
    Ticket,
    TicketStore,
    open_ticket,
    render_body,
    retry_outbox,
    tracker_from_config,
)


def _tracker(jira: FakeJira, timeout_s: float = FAST) -> JiraTracker:
    config = {"type": "jira", "url": jira.base_url, "project": "SUP", "timeout_s": timeout_s}
    tracker = tracker_from_config(config, env=JIRA_ENV)
    assert isinstance(tracker, JiraTracker)
    return tracker


def test_jira_opens_issue_then_attaches_evidence(
    jira: FakeJira, store: TicketStore, make_ticket: Callable[..., Ticket]
) -> None:
    ticket = make_ticket()
    receipt = open_ticket(ticket, store=store, tracker=_tracker(jira))

    assert (receipt.status, receipt.tracker, receipt.remote_id) == ("delivered", "jira", "SUP-1")
    assert receipt.url == f"{jira.base_url}/browse/SUP-1"
    assert [(s.method, s.path) for s in jira.requests] == [
        ("GET", "/rest/api/2/search/jql"),
        ("POST", "/rest/api/2/issue"),
        ("POST", "/rest/api/2/issue/SUP-1/attachments"),
    ]
    auth = basic("bot@example.com", "jira-token-123")
    assert all(s.headers["Authorization"] == auth for s in jira.requests)
    search, create, attach = jira.requests
    assert search.args["jql"] == f'labels = "rb-{ticket.idempotency_key}"'
    fields = create.json["fields"]
    assert fields["project"] == {"key": "SUP"}
    assert fields["issuetype"] == {"name": "Task"}
    assert fields["summary"] == "Verification e-mail never arrives"
    assert fields["description"] == render_body(store.get("RB-1").ticket)
    assert "runbook trace 20250101-120000-aaaa" in fields["description"]
    assert {"customer-portal-chat", f"rb-{ticket.idempotency_key}"} <= set(fields["labels"])
    assert attach.headers["X-Atlassian-Token"] == "no-check"
    assert [(f[0], f[1], f[2]) for f in attach.files] == [
        ("file", "screenshot.png", "image/png"),
        ("file", "console.txt", "text/plain"),
        ("file", "trace.zip", "application/zip"),
    ]
    assert attach.files[0][3] == PNG and attach.files[2][3] == ZIP
    assert store.get("RB-1").delivery == "delivered"


def test_jira_401_keeps_ticket_queued_and_names_the_variables(
    jira: FakeJira, store: TicketStore, make_ticket: Callable[..., Ticket]
) -> None:
    jira.fail("search", 401)

    receipt = open_ticket(make_ticket(), store=store, tracker=_tracker(jira))

    assert receipt.status == "queued"
    assert (
        "HTTP 401" in receipt.message and "JIRA_USER" in receipt.message and "JIRA_TOKEN" in receipt.message
    )
    assert "jira-token-123" not in receipt.message
    assert [t.local_id for t in store.outbox()] == ["RB-1"]
    assert "JIRA_TOKEN" in (store.get("RB-1").last_error or "")
    assert jira.issues == {}


def test_jira_5xx_then_retry_opens_exactly_one_issue(
    jira: FakeJira, store: TicketStore, make_ticket: Callable[..., Ticket]
) -> None:
    tracker = _tracker(jira)
    jira.fail("create", 503)

    first = open_ticket(make_ticket(), store=store, tracker=tracker)
    retried = retry_outbox(store=store, tracker=tracker)

    assert first.status == "queued" and "HTTP 503" in first.message and "waits in the outbox" in first.message
    assert [(r.status, r.remote_id) for r in retried] == [("delivered", "SUP-1")]
    assert list(jira.issues) == ["SUP-1"]
    assert len(jira.issues["SUP-1"]["attachments"]) == 3
    assert store.outbox() == []


def test_jira_timeout_keeps_ticket_in_outbox(
    jira: FakeJira, store: TicketStore, make_ticket: Callable[..., Ticket]
) -> None:
    jira.stall("search", apply_first=False)

    receipt = open_ticket(make_ticket(), store=store, tracker=_tracker(jira, timeout_s=SHORT))

    assert receipt.status == "queued"
    assert "no answer" in receipt.message and "outbox" in receipt.message
    assert [t.local_id for t in store.outbox()] == ["RB-1"]
    assert jira.calls("POST", "/rest/api/2/issue") == []


def test_jira_retry_after_lost_create_answer_finds_the_issue(
    jira: FakeJira, store: TicketStore, make_ticket: Callable[..., Ticket]
) -> None:
    jira.stall("create", apply_first=True)

    first = open_ticket(make_ticket(), store=store, tracker=_tracker(jira, timeout_s=SHORT))
    retried = retry_outbox(store=store, tracker=_tracker(jira))

    assert first.status == "queued"
    assert [(r.status, r.remote_id) for r in retried] == [("delivered", "SUP-1")]
    assert len(jira.calls("POST", "/rest/api/2/issue")) == 1
    assert list(jira.issues) == ["SUP-1"]
    names = [name for name, _ in jira.issues["SUP-1"]["attachments"]]
    assert names == ["screenshot.png", "console.txt", "trace.zip"]


def test_jira_retry_after_lost_upload_answer_does_not_attach_twice(
    jira: FakeJira, store: TicketStore, make_ticket: Callable[..., Ticket]
) -> None:
    jira.stall("attach", apply_first=True)

    open_ticket(make_ticket(), store=store, tracker=_tracker(jira, timeout_s=SHORT))
    retried = retry_outbox(store=store, tracker=_tracker(jira))

    assert [(r.status, r.remote_id) for r in retried] == [("delivered", "SUP-1")]
    assert len(jira.calls("POST", r"/rest/api/2/issue/SUP-1/attachments")) == 1
    assert len(jira.issues["SUP-1"]["attachments"]) == 3


def test_jira_repeat_failure_becomes_a_comment_with_its_files(
    jira: FakeJira, store: TicketStore, make_ticket: Callable[..., Ticket]
) -> None:
    tracker = _tracker(jira)
    open_ticket(make_ticket(), store=store, tracker=tracker)

    again = open_ticket(make_ticket(run_id="20250101-121500-bbbb"), store=store, tracker=tracker)

    assert (again.status, again.local_id, again.remote_id) == ("deduplicated", "RB-1", "SUP-1")
    assert list(jira.issues) == ["SUP-1"]
    (comment,) = jira.issues["SUP-1"]["comments"]
    assert "Seen again" in comment and "runbook trace 20250101-121500-bbbb" in comment
    assert len(jira.issues["SUP-1"]["attachments"]) == 6
    comment_call = jira.calls("POST", "/rest/api/2/issue/SUP-1/comment")[0]
    assert comment_call.headers["Authorization"] == basic("bot@example.com", "jira-token-123")
    assert store.get("RB-1").comments[0].relay == "relayed"


def test_jira_data_center_search_path_is_configurable(
    jira: FakeJira, store: TicketStore, make_ticket: Callable[..., Ticket]
) -> None:
    seen: list[Any] = []
    jira.route(
        "GET", "/rest/api/2/search", "legacy-search", lambda s: (seen.append(s) or {"issues": []}, 200)
    )
    config = {"type": "jira", "url": jira.base_url, "project": "SUP", "search_path": "/rest/api/2/search"}

    receipt = open_ticket(make_ticket(), store=store, tracker=tracker_from_config(config, env=JIRA_ENV))

    assert receipt.status == "delivered"
    assert len(seen) == 1 and jira.calls("GET", "/rest/api/2/search/jql") == []
