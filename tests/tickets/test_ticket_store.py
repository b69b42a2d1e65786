"""The local ticket store: ids, copies of evidence, listing, comments, outbox, export."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from ticket_fakes import PNG

from automation.errors import TicketError
from automation.tickets import Attachment, Ticket, TicketStore


def test_ids_count_up_and_list_is_newest_first(
    store: TicketStore, make_ticket: Callable[..., Ticket]
) -> None:
    for n in range(3):
        store.create(make_ticket(run_id=f"run-{n}"), delivery="local")

    assert [t.local_id for t in store.list()] == ["RB-3", "RB-2", "RB-1"]
    assert store.get("rb-2").ticket.run_id == "run-1"


def test_list_filters_by_status_and_queue(store: TicketStore, make_ticket: Callable[..., Ticket]) -> None:
    store.create(make_ticket(run_id="a"), delivery="queued")
    store.create(make_ticket(run_id="b", queue="netsuite-billing"), delivery="queued")
    store.create(make_ticket(run_id="c"), delivery="local")
    store.mark_delivered(
        "RB-1", tracker="jira", remote_id="SUP-9", url="https://jira.example.test/browse/SUP-9"
    )
    store.close("RB-3")

    assert [t.local_id for t in store.list(status="queued")] == ["RB-2"]
    assert [t.local_id for t in store.list(status="delivered")] == ["RB-1"]
    assert [t.local_id for t in store.list(status="open")] == ["RB-2", "RB-1"]
    assert [t.local_id for t in store.list(status="closed")] == ["RB-3"]
    assert [t.local_id for t in store.list(queue="customer-portal-chat")] == ["RB-3", "RB-1"]
    assert [t.local_id for t in store.list(status="open", queue="netsuite-billing")] == ["RB-2"]


def test_attachments_are_copied_and_survive_the_run_folder(
    store: TicketStore, make_ticket: Callable[..., Ticket], evidence: Path
) -> None:
    store.create(make_ticket(), delivery="local")
    shutil.rmtree(evidence)

    kept = store.get("RB-1").ticket.attachments

    assert [a.path for a in kept] == [
        store.data_dir / "tickets" / "RB-1" / n for n in ("screenshot.png", "console.txt", "trace.zip")
    ]
    assert kept[0].path.read_bytes() == PNG


def test_same_attachment_name_twice_gets_two_files(
    store: TicketStore, make_ticket: Callable[..., Ticket], evidence: Path
) -> None:
    shots = [Attachment(name="shot.png", path=evidence / "screenshot.png")] * 2

    stored = store.create(make_ticket(attachments=shots), delivery="local")

    assert [a.name for a in stored.ticket.attachments] == ["shot.png", "shot-2.png"]
    assert all(a.path.is_file() for a in stored.ticket.attachments)


def test_store_reopened_from_disk_keeps_tickets(
    store: TicketStore, make_ticket: Callable[..., Ticket]
) -> None:
    store.create(make_ticket(), delivery="queued")

    reopened = TicketStore(store.data_dir)

    assert [t.local_id for t in reopened.outbox()] == ["RB-1"]
    assert reopened.get("RB-1").ticket == store.get("RB-1").ticket


def test_comments_carry_run_and_copied_files(
    store: TicketStore, make_ticket: Callable[..., Ticket], evidence: Path
) -> None:
    store.create(make_ticket(), delivery="queued")
    seen_at = datetime(2030, 1, 1, tzinfo=UTC)

    comment = store.add_comment(
        "RB-1",
        run_id="run-2",
        body="Seen again",
        attachments=[Attachment(name="screenshot.png", path=evidence / "screenshot.png")],
        idempotency_key="k2",
        relay="pending",
        now=seen_at,
    )

    assert (
        comment.attachments[0].path
        == store.data_dir / "tickets" / "RB-1" / f"seen-{comment.id}" / "screenshot.png"
    )
    assert [c.run_id for c in store.get("RB-1").comments] == ["run-2"]
    assert store.get("RB-1").last_seen_at == seen_at
    assert [c.id for c in store.pending_comments()] == [comment.id]


def test_outbox_holds_only_undelivered_tickets(
    store: TicketStore, make_ticket: Callable[..., Ticket]
) -> None:
    store.create(make_ticket(run_id="a"), delivery="queued")
    store.create(make_ticket(run_id="b"), delivery="queued")
    store.create(make_ticket(run_id="c"), delivery="local")

    store.mark_failed("RB-2", tracker="jira", error="jira: no answer")
    store.mark_delivered("RB-1", tracker="jira", remote_id="SUP-1", url=None)

    (waiting,) = store.outbox()
    assert (waiting.local_id, waiting.attempts, waiting.last_error) == ("RB-2", 1, "jira: no answer")


def test_export_writes_json_body_and_attachments(
    store: TicketStore, make_ticket: Callable[..., Ticket], evidence: Path, tmp_path: Path
) -> None:
    store.create(make_ticket(), delivery="local")
    store.add_comment(
        "RB-1",
        run_id="run-2",
        body="Seen again: run run-2",
        attachments=[Attachment(name="console.txt", path=evidence / "console.txt")],
        idempotency_key="k2",
        relay="local",
    )

    dest = store.export("RB-1", tmp_path / "out")

    document = json.loads((dest / "ticket.json").read_text())
    assert document["local_id"] == "RB-1" and document["ticket"]["run_id"] == "20250101-120000-aaaa"
    body = (dest / "body.md").read_text()
    assert body.startswith("# RB-1: Verification e-mail never arrives")
    assert "1. [passed] Open the portal" in body and "runbook trace 20250101-120000-aaaa" in body
    assert "Seen again: run run-2" in body
    assert (dest / "attachments" / "screenshot.png").read_bytes() == PNG
    assert (dest / "attachments" / "seen-1" / "console.txt").is_file()


@pytest.mark.parametrize("local_id", ["RB-99", "SUP-1", ""])
def test_unknown_or_malformed_id_is_a_ticket_error(store: TicketStore, local_id: str) -> None:
    with pytest.raises(TicketError):
        store.get(local_id)


def test_same_idempotency_key_cannot_be_recorded_twice(
    store: TicketStore, make_ticket: Callable[..., Ticket]
) -> None:
    store.create(make_ticket(), delivery="local")

    with pytest.raises(TicketError, match="already recorded"):
        store.create(make_ticket(), delivery="local")
    assert len(store.list()) == 1
