"""open_ticket / retry_outbox with the in-memory tracker: dedupe, outbox, idempotency, redaction."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from support.tracker_double import MemoryTracker
from ticket_fakes import SECRET

from automation.errors import TicketError
from automation.tickets import (
    Attachment,
    Ticket,
    TicketStore,
    TrackerAuthError,
    open_ticket,
    retry_outbox,
)

T0 = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


def _redact(text: str) -> str:
    return text.replace(SECRET, "[REDACTED]")


def test_without_tracker_ticket_stays_in_local_store(
    store: TicketStore, make_ticket: Callable[..., Ticket]
) -> None:
    receipt = open_ticket(make_ticket(), store=store, tracker=None)

    assert (receipt.local_id, receipt.status, receipt.tracker) == ("RB-1", "delivered", "local")
    assert store.get("RB-1").delivery == "local"
    assert store.outbox() == []


def test_repeat_within_window_adds_comment_and_relays_it(
    store: TicketStore, make_ticket: Callable[..., Ticket]
) -> None:
    tracker = MemoryTracker()
    open_ticket(make_ticket(), store=store, tracker=tracker, now=T0)

    again = open_ticket(
        make_ticket(run_id="run-2"), store=store, tracker=tracker, now=T0 + timedelta(minutes=30)
    )

    assert (again.status, again.local_id, again.remote_id) == ("deduplicated", "RB-1", "MEM-1")
    assert [t.local_id for t in store.list()] == ["RB-1"]
    (comment,) = store.get("RB-1").comments
    assert (comment.run_id, comment.relay) == ("run-2", "relayed")
    (relayed,) = tracker.tickets["MEM-1"].comments
    assert "runbook trace run-2" in relayed.body
    assert sorted(relayed.attachments) == ["console.txt", "screenshot.png", "trace.zip"]


def test_repeat_after_window_opens_new_ticket(store: TicketStore, make_ticket: Callable[..., Ticket]) -> None:
    tracker = MemoryTracker()
    open_ticket(make_ticket(), store=store, tracker=tracker, now=T0)

    later = open_ticket(
        make_ticket(run_id="run-2"), store=store, tracker=tracker, now=T0 + timedelta(seconds=3601)
    )

    assert (later.status, later.local_id) == ("delivered", "RB-2")
    assert sorted(tracker.tickets) == ["MEM-1", "MEM-2"]


def test_window_counts_from_the_last_time_the_failure_was_seen(
    store: TicketStore, make_ticket: Callable[..., Ticket]
) -> None:
    open_ticket(make_ticket(), store=store, tracker=None, now=T0)
    open_ticket(make_ticket(run_id="run-2"), store=store, tracker=None, now=T0 + timedelta(minutes=50))

    third = open_ticket(
        make_ticket(run_id="run-3"), store=store, tracker=None, now=T0 + timedelta(minutes=100)
    )

    assert (third.status, third.local_id) == ("deduplicated", "RB-1")


def test_other_target_or_closed_ticket_is_not_a_duplicate(
    store: TicketStore, make_ticket: Callable[..., Ticket]
) -> None:
    open_ticket(make_ticket(), store=store, tracker=None, now=T0)
    staging = open_ticket(
        make_ticket(run_id="run-2", target="https://staging.example.test"), store=store, tracker=None, now=T0
    )
    store.close("RB-1")
    after_close = open_ticket(make_ticket(run_id="run-3"), store=store, tracker=None, now=T0)

    assert (staging.status, staging.local_id) == ("delivered", "RB-2")
    assert (after_close.status, after_close.local_id) == ("delivered", "RB-3")


def test_unavailable_tracker_queues_then_retry_delivers_once(
    store: TicketStore, make_ticket: Callable[..., Ticket]
) -> None:
    tracker = MemoryTracker()
    tracker.fail_next()

    first = open_ticket(make_ticket(), store=store, tracker=tracker)
    retried = retry_outbox(store=store, tracker=tracker)
    again = retry_outbox(store=store, tracker=tracker)

    assert first.status == "queued" and "waits in the outbox" in first.message
    assert [r.status for r in retried] == ["delivered"]
    assert again == []
    assert list(tracker.tickets) == ["MEM-1"]
    assert store.get("RB-1").attempts == 2


def test_lost_answer_then_retry_does_not_open_second_ticket(
    store: TicketStore, make_ticket: Callable[..., Ticket]
) -> None:
    tracker = MemoryTracker()
    tracker.lose_next_responses()

    first = open_ticket(make_ticket(), store=store, tracker=tracker)
    (retried,) = retry_outbox(store=store, tracker=tracker)

    assert first.status == "queued"
    assert (retried.status, retried.remote_id) == ("delivered", "MEM-1")
    assert list(tracker.tickets) == ["MEM-1"]


def test_refused_credentials_queue_with_what_to_fix(
    store: TicketStore, make_ticket: Callable[..., Ticket]
) -> None:
    tracker = MemoryTracker()
    tracker.fail_next(error=TrackerAuthError("memory refused the credentials: check MEM_TOKEN"))

    receipt = open_ticket(make_ticket(), store=store, tracker=tracker)

    assert receipt.status == "queued"
    assert "MEM_TOKEN" in receipt.message and "runbook tickets retry" in receipt.message
    assert store.get("RB-1").last_error == "memory refused the credentials: check MEM_TOKEN"


def test_retry_stops_at_first_tracker_outage(store: TicketStore, make_ticket: Callable[..., Ticket]) -> None:
    open_ticket(make_ticket(), store=store, tracker=MemoryTracker())  # RB-1 delivered elsewhere
    down = MemoryTracker()
    down.fail_next(3)
    open_ticket(make_ticket(run_id="run-2", fingerprint="a"), store=store, tracker=down)
    open_ticket(make_ticket(run_id="run-3", fingerprint="b"), store=store, tracker=down)
    calls_before = down.calls

    receipts = retry_outbox(store=store, tracker=down)

    assert [(r.local_id, r.status) for r in receipts] == [("RB-2", "queued"), ("RB-3", "queued")]
    assert down.calls == calls_before + 1
    assert "not tried" in receipts[1].message


def test_repeat_of_queued_ticket_is_relayed_after_the_ticket(
    store: TicketStore, make_ticket: Callable[..., Ticket]
) -> None:
    tracker = MemoryTracker()
    tracker.fail_next()
    open_ticket(make_ticket(), store=store, tracker=tracker, now=T0)
    merged = open_ticket(make_ticket(run_id="run-2"), store=store, tracker=tracker, now=T0)

    receipts = retry_outbox(store=store, tracker=tracker)

    assert merged.status == "deduplicated" and "reaches the tracker with the ticket" in merged.message
    assert [r.status for r in receipts] == ["delivered", "delivered"]
    assert len(tracker.tickets["MEM-1"].comments) == 1
    assert store.pending_comments() == []


def test_same_run_escalating_twice_keeps_one_ticket(
    store: TicketStore, make_ticket: Callable[..., Ticket]
) -> None:
    tracker = MemoryTracker()
    first = open_ticket(make_ticket(), store=store, tracker=tracker)

    second = open_ticket(make_ticket(fingerprint="other"), store=store, tracker=tracker)

    assert (second.local_id, second.remote_id) == (first.local_id, first.remote_id)
    assert len(store.list()) == 1 and len(tracker.tickets) == 1


def test_secrets_are_redacted_everywhere_they_go(
    store: TicketStore, make_ticket: Callable[..., Ticket], tmp_path: Path
) -> None:
    tracker = MemoryTracker()
    ticket = make_ticket(notes=f"customer read me {SECRET}", title=f"login as {SECRET} fails")
    open_ticket(ticket, store=store, tracker=tracker, redact=_redact, now=T0)
    open_ticket(
        make_ticket(run_id="run-2", notes=f"again {SECRET}"),
        store=store,
        tracker=tracker,
        redact=_redact,
        now=T0,
    )
    store.export("RB-1", tmp_path / "export")

    sent = tracker.tickets["MEM-1"]
    assert SECRET not in sent.body and "[REDACTED]" in sent.body
    assert SECRET.encode() not in sent.attachments["console.txt"]
    assert (
        SECRET not in sent.comments[0].body
        and SECRET.encode() not in sent.comments[0].attachments["console.txt"]
    )
    for folder in (store.data_dir, tmp_path / "export"):
        leaked = [p for p in folder.rglob("*") if p.is_file() and SECRET.encode() in p.read_bytes()]
        assert leaked == []


def test_missing_attachment_does_not_stop_the_ticket(
    store: TicketStore, make_ticket: Callable[..., Ticket], evidence: Path
) -> None:
    gone = Attachment(name="video.webm", path=evidence / "video.webm")
    ticket = make_ticket()
    ticket.attachments.append(gone)

    receipt = open_ticket(ticket, store=store, tracker=None)

    assert receipt.status == "delivered" and "video.webm" in receipt.message
    assert [a.name for a in store.get("RB-1").ticket.attachments] == [
        "screenshot.png",
        "console.txt",
        "trace.zip",
    ]


def test_unwritable_store_raises_ticket_error(make_ticket: Callable[..., Ticket], tmp_path: Path) -> None:
    blocker = tmp_path / "data"
    blocker.mkdir()
    store = TicketStore(blocker)
    (blocker / "tickets").write_text("a file where the attachments folder should be")

    try:
        open_ticket(make_ticket(), store=store, tracker=None)
    except TicketError as exc:
        assert "could not be copied" in str(exc)
    else:
        raise AssertionError("open_ticket should have raised TicketError")
    assert store.list() == []


def test_failed_comment_relay_waits_and_is_retried(
    store: TicketStore, make_ticket: Callable[..., Ticket]
) -> None:
    tracker = MemoryTracker()
    open_ticket(make_ticket(), store=store, tracker=tracker, now=T0)
    tracker.fail_next()

    merged = open_ticket(make_ticket(run_id="run-2"), store=store, tracker=tracker, now=T0)
    (relayed,) = retry_outbox(store=store, tracker=tracker)

    assert merged.status == "deduplicated" and "waits in the outbox" in merged.message
    assert (relayed.status, relayed.local_id) == ("delivered", "RB-1")
    assert len(tracker.tickets["MEM-1"].comments) == 1
    assert store.get("RB-1").comments[0].relay == "relayed"


def test_an_escalation_links_to_its_run_when_the_console_has_a_public_url(
    store: TicketStore, make_ticket: Callable[..., Ticket], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNBOOK_PUBLIC_URL", "https://runbook.example.com")
    tracker = MemoryTracker()
    open_ticket(make_ticket(), store=store, tracker=tracker, now=T0)

    page = "https://runbook.example.com/runs/20250101-120000-aaaa"
    assert store.get("RB-1").ticket.run_url == page
    assert f"- the run on the console: {page}" in tracker.tickets["MEM-1"].body


def test_a_wrong_public_url_does_not_lose_the_escalation(
    store: TicketStore, make_ticket: Callable[..., Ticket], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNBOOK_PUBLIC_URL", "not a url")
    receipt = open_ticket(make_ticket(), store=store, tracker=None)

    assert receipt.status == "delivered" and store.get("RB-1").ticket.run_url is None
