"""The ticket models, the rendered body, and the package's public surface."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pydantic
import pytest

import automation.tickets as tickets
from automation.tickets import Attachment, Ticket, TicketReceipt, render_body


def test_idempotency_key_follows_the_run_id(make_ticket: Callable[..., Ticket]) -> None:
    first, again, other = make_ticket(), make_ticket(), make_ticket(run_id="another-run")

    assert first.idempotency_key == again.idempotency_key != other.idempotency_key
    assert make_ticket(idempotency_key="given").idempotency_key == "given"


def test_body_reads_like_an_escalation(make_ticket: Callable[..., Ticket]) -> None:
    body = render_body(make_ticket())

    assert "- email: unverified@example.com" in body
    assert "Customer tried three times since Monday." in body
    assert "ended: escalated: the verification mail was not sent" in body
    assert "1. [passed] Open the portal (1.2 s)" in body
    assert "2. [failed] Click 'Resend' (3.4 s)\n   error: no mail within 30 s" in body
    assert "open the trace: `runbook trace 20250101-120000-aaaa`" in body
    assert body.index("## Customer") < body.index("## Agent notes") < body.index("## Steps")


def test_unknown_fields_are_rejected(make_ticket: Callable[..., Ticket]) -> None:
    with pytest.raises(pydantic.ValidationError):
        make_ticket(priority="high")


@pytest.mark.parametrize("name", ["../etc/passwd", "a/b.png", "", ".."])
def test_attachment_name_must_be_a_plain_file_name(name: str) -> None:
    with pytest.raises(pydantic.ValidationError):
        Attachment(name=name, path=Path("/tmp/x"))


def test_content_type_is_guessed_from_the_name() -> None:
    assert Attachment(name="shot.png", path=Path("x")).content_type == "image/png"
    assert Attachment(name="blob", path=Path("x")).content_type == "application/octet-stream"


def test_receipt_is_frozen() -> None:
    receipt = TicketReceipt(local_id="RB-1", status="queued", tracker="jira", message="waits")

    with pytest.raises(pydantic.ValidationError):
        receipt.status = "delivered"  # type: ignore[misc]


def test_exported_names_are_sorted_and_importable() -> None:
    assert tickets.__all__ == sorted(tickets.__all__, key=lambda n: (not n.isupper(), n))
    assert all(hasattr(tickets, name) for name in tickets.__all__)


def test_body_links_to_the_run_and_its_report_on_the_console(make_ticket: Callable[..., Ticket]) -> None:
    page = "https://runbook.example.com/runs/20250101-120000-aaaa"
    body = render_body(make_ticket(run_url=page))

    assert f"- the run on the console: {page}\n- its report: {page}/report" in body


def test_body_without_a_console_has_no_link(make_ticket: Callable[..., Ticket]) -> None:
    assert "the run on the console" not in render_body(make_ticket())
