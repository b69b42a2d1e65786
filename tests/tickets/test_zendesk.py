"""The Zendesk adapter against a fake Zendesk over real HTTP: uploads, tickets, external ids, comments."""

from __future__ import annotations

from collections.abc import Callable

from ticket_fakes import FAST, PNG, SHORT, ZENDESK_ENV, ZIP, FakeZendesk, basic

from automation.tickets import (
    Ticket,
    TicketStore,
    ZendeskTracker,
    open_ticket,
    render_body,
    retry_outbox,
    tracker_from_config,
)

AUTH = basic("agent@example.com/token", "zd-token-456")


def _tracker(zendesk: FakeZendesk, timeout_s: float = FAST) -> ZendeskTracker:
    config = {"type": "zendesk", "url": zendesk.base_url, "timeout_s": timeout_s, "tags": ["Portal Chat"]}
    tracker = tracker_from_config(config, env=ZENDESK_ENV)
    assert isinstance(tracker, ZendeskTracker)
    return tracker


def test_zendesk_uploads_files_then_opens_ticket_with_their_tokens(
    zendesk: FakeZendesk, store: TicketStore, make_ticket: Callable[..., Ticket]
) -> None:
    ticket = make_ticket()
    receipt = open_ticket(ticket, store=store, tracker=_tracker(zendesk))

    assert (receipt.status, receipt.tracker, receipt.remote_id) == ("delivered", "zendesk", "101")
    assert receipt.url == f"{zendesk.base_url}/agent/tickets/101"
    assert [(s.method, s.path, s.args) for s in zendesk.requests] == [
        ("GET", "/api/v2/tickets.json", {"external_id": ticket.idempotency_key}),
        ("POST", "/api/v2/uploads.json", {"filename": "screenshot.png"}),
        ("POST", "/api/v2/uploads.json", {"filename": "console.txt"}),
        ("POST", "/api/v2/uploads.json", {"filename": "trace.zip"}),
        ("POST", "/api/v2/tickets.json", {}),
    ]
    assert all(s.headers["Authorization"] == AUTH for s in zendesk.requests)
    assert zendesk.uploads["tok1"] == ("screenshot.png", "image/png", PNG)
    assert zendesk.uploads["tok3"] == ("trace.zip", "application/zip", ZIP)
    sent = zendesk.requests[-1].json["ticket"]
    assert sent["subject"] == "Verification e-mail never arrives"
    assert sent["comment"] == {
        "body": render_body(store.get("RB-1").ticket),
        "uploads": ["tok1", "tok2", "tok3"],
        "public": False,
    }
    assert sent["external_id"] == ticket.idempotency_key
    assert sent["tags"] == ["customer-portal-chat", "runbook", "portal_chat"]


def test_zendesk_401_keeps_ticket_queued_and_names_the_variables(
    zendesk: FakeZendesk, store: TicketStore, make_ticket: Callable[..., Ticket]
) -> None:
    zendesk.fail("find", 401)

    receipt = open_ticket(make_ticket(), store=store, tracker=_tracker(zendesk))

    assert receipt.status == "queued"
    assert "ZENDESK_EMAIL" in receipt.message and "ZENDESK_TOKEN" in receipt.message
    assert "zd-token-456" not in receipt.message and "Fix this" in receipt.message
    assert [t.local_id for t in store.outbox()] == ["RB-1"]
    assert zendesk.tickets == {}


def test_zendesk_5xx_then_retry_opens_exactly_one_ticket(
    zendesk: FakeZendesk, store: TicketStore, make_ticket: Callable[..., Ticket]
) -> None:
    tracker = _tracker(zendesk)
    zendesk.fail("create", 500)

    first = open_ticket(make_ticket(), store=store, tracker=tracker)
    retried = retry_outbox(store=store, tracker=tracker)

    assert first.status == "queued" and "HTTP 500" in first.message and "waits in the outbox" in first.message
    assert [(r.status, r.remote_id) for r in retried] == [("delivered", "101")]
    assert list(zendesk.tickets) == [101]
    assert store.outbox() == []


def test_zendesk_timeout_keeps_ticket_in_outbox(
    zendesk: FakeZendesk, store: TicketStore, make_ticket: Callable[..., Ticket]
) -> None:
    zendesk.stall("upload", apply_first=False)

    receipt = open_ticket(make_ticket(), store=store, tracker=_tracker(zendesk, timeout_s=SHORT))

    assert receipt.status == "queued" and "no answer" in receipt.message
    assert [t.local_id for t in store.outbox()] == ["RB-1"]
    assert zendesk.calls("POST", "/api/v2/tickets.json") == []


def test_zendesk_retry_after_lost_create_answer_finds_ticket_by_external_id(
    zendesk: FakeZendesk, store: TicketStore, make_ticket: Callable[..., Ticket]
) -> None:
    zendesk.stall("create", apply_first=True)

    first = open_ticket(make_ticket(), store=store, tracker=_tracker(zendesk, timeout_s=SHORT))
    retried = retry_outbox(store=store, tracker=_tracker(zendesk))

    assert first.status == "queued"
    assert [(r.status, r.remote_id) for r in retried] == [("delivered", "101")]
    assert len(zendesk.calls("POST", "/api/v2/tickets.json")) == 1
    assert list(zendesk.tickets) == [101]
    assert len(zendesk.uploads) == 3  # the retry found the ticket before uploading again


def test_zendesk_repeat_failure_becomes_an_internal_comment_with_uploads(
    zendesk: FakeZendesk, store: TicketStore, make_ticket: Callable[..., Ticket]
) -> None:
    tracker = _tracker(zendesk)
    open_ticket(make_ticket(), store=store, tracker=tracker)

    again = open_ticket(
        make_ticket(run_id="20250101-121500-bbbb", attachments=[]), store=store, tracker=tracker
    )

    assert (again.status, again.remote_id) == ("deduplicated", "101")
    (update,) = zendesk.calls("PUT", "/api/v2/tickets/101.json")
    comment = update.json["ticket"]["comment"]
    assert "runbook trace 20250101-121500-bbbb" in comment["body"]
    assert comment["uploads"] == [] and comment["public"] is False
    assert update.headers["Authorization"] == AUTH
    assert list(zendesk.tickets) == [101]
