"""The webhook adapter against a fake receiver over real HTTP: JSON and multipart, keys, secrets."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ticket_fakes import FAST, PNG, SHORT, WEBHOOK_ENV, FakeWebhook

from automation.tickets import (
    Ticket,
    TicketStore,
    WebhookTracker,
    open_ticket,
    retry_outbox,
    tracker_from_config,
)


def _tracker(webhook: FakeWebhook, timeout_s: float = FAST, **options: Any) -> WebhookTracker:
    config = {"type": "webhook", "url": webhook.url, "secret_env": "TICKETS_SECRET", "timeout_s": timeout_s}
    tracker = tracker_from_config({**config, **options}, env=WEBHOOK_ENV)
    assert isinstance(tracker, WebhookTracker)
    return tracker


def test_webhook_posts_ticket_json_with_idempotency_key_and_bearer_secret(
    webhook: FakeWebhook, store: TicketStore, make_ticket: Callable[..., Ticket]
) -> None:
    ticket = make_ticket()
    receipt = open_ticket(ticket, store=store, tracker=_tracker(webhook))

    assert (receipt.status, receipt.remote_id, receipt.url) == (
        "delivered",
        "HOOK-1",
        "https://desk.example.test/t/1",
    )
    (post,) = webhook.requests
    assert (post.method, post.path) == ("POST", "/hooks/tickets")
    assert post.headers["Idempotency-Key"] == ticket.idempotency_key
    assert post.headers["Authorization"] == "Bearer hook-secret-789"
    document = post.json
    assert document["event"] == "ticket.created"
    assert (document["queue"], document["run_id"]) == ("customer-portal-chat", "20250101-120000-aaaa")
    assert document["customer"] == {"email": "unverified@example.com"}
    assert document["steps"][1]["error"] == "no mail within 30 s"
    assert "runbook trace 20250101-120000-aaaa" in document["body"]
    assert document["attachments"] == ["screenshot.png", "console.txt", "trace.zip"]


def test_webhook_multipart_sends_ticket_part_and_file_parts(
    webhook: FakeWebhook, store: TicketStore, make_ticket: Callable[..., Ticket]
) -> None:
    tracker = _tracker(webhook, multipart=True, secret_header="X-Tickets-Secret")

    receipt = open_ticket(make_ticket(), store=store, tracker=tracker)

    assert receipt.status == "delivered"
    (post,) = webhook.requests
    assert post.headers["X-Tickets-Secret"] == "hook-secret-789" and "Authorization" not in post.headers
    document = json.loads(post.form["ticket"])
    assert document["title"] == "Verification e-mail never arrives"
    assert [(f[0], f[1], f[2]) for f in post.files] == [
        ("attachment", "screenshot.png", "image/png"),
        ("attachment", "console.txt", "text/plain"),
        ("attachment", "trace.zip", "application/zip"),
    ]
    assert post.files[0][3] == PNG


def test_webhook_401_keeps_ticket_queued_and_names_the_variable(
    webhook: FakeWebhook, store: TicketStore, make_ticket: Callable[..., Ticket]
) -> None:
    webhook.fail("post", 401)

    receipt = open_ticket(make_ticket(), store=store, tracker=_tracker(webhook))

    assert receipt.status == "queued" and "TICKETS_SECRET" in receipt.message
    assert "hook-secret-789" not in receipt.message and "/hooks/tickets" not in receipt.message
    assert [t.local_id for t in store.outbox()] == ["RB-1"]


def test_webhook_5xx_then_retry_delivers_once_under_the_same_key(
    webhook: FakeWebhook, store: TicketStore, make_ticket: Callable[..., Ticket]
) -> None:
    tracker = _tracker(webhook)
    webhook.fail("post", 502)

    first = open_ticket(make_ticket(), store=store, tracker=tracker)
    retried = retry_outbox(store=store, tracker=tracker)

    assert first.status == "queued" and "waits in the outbox" in first.message
    assert [(r.status, r.remote_id) for r in retried] == [("delivered", "HOOK-1")]
    keys = {s.headers["Idempotency-Key"] for s in webhook.requests}
    assert len(webhook.requests) == 2 and len(keys) == 1
    assert len(webhook.deliveries) == 1


def test_webhook_timeout_keeps_ticket_in_outbox(
    webhook: FakeWebhook, store: TicketStore, make_ticket: Callable[..., Ticket]
) -> None:
    webhook.stall("post", apply_first=False)

    receipt = open_ticket(make_ticket(), store=store, tracker=_tracker(webhook, timeout_s=SHORT))

    assert receipt.status == "queued" and "no answer" in receipt.message
    assert [t.local_id for t in store.outbox()] == ["RB-1"]
