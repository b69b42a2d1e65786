"""Fixtures for the ticket tests: evidence files, a ticket factory, the store, and the fake trackers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from ticket_fakes import PNG, SECRET, ZIP, FakeJira, FakeWebhook, FakeZendesk

from automation.tickets import Attachment, Ticket, TicketStep, TicketStore


@pytest.fixture
def evidence(tmp_path: Path) -> Path:
    """A run folder with a screenshot, a console log holding a secret, and a trace."""
    folder = tmp_path / "traces" / "run-1"
    folder.mkdir(parents=True)
    (folder / "screenshot.png").write_bytes(PNG)
    (folder / "console.txt").write_text(f"login ok\npassword={SECRET}\n", encoding="utf-8")
    (folder / "trace.zip").write_bytes(ZIP)
    return folder


@pytest.fixture
def make_ticket(evidence: Path) -> Callable[..., Ticket]:
    """Build a ticket like the engine's escalate step does; keyword arguments override fields."""

    def build(**overrides: Any) -> Ticket:
        fields: dict[str, Any] = {
            "queue": "customer-portal-chat",
            "title": "Verification e-mail never arrives",
            "customer": {"email": "unverified@example.com"},
            "notes": "Customer tried three times since Monday.",
            "steps": [
                TicketStep(index=1, label="Open the portal", status="passed", duration_s=1.2),
                TicketStep(
                    index=2,
                    label="Click 'Resend'",
                    status="failed",
                    duration_s=3.4,
                    error="no mail within 30 s",
                ),
            ],
            "outcome": "escalated: the verification mail was not sent",
            "runbook": "resend-verify",
            "target": "https://portal.example.test",
            "run_id": "20250101-120000-aaaa",
            "evidence_dir": evidence,
            "attachments": [
                Attachment(name="screenshot.png", path=evidence / "screenshot.png"),
                Attachment(name="console.txt", path=evidence / "console.txt"),
                Attachment(name="trace.zip", path=evidence / "trace.zip"),
            ],
            "fingerprint": "resend-verify:2:no-mail",
        }
        fields.update(overrides)
        return Ticket(**fields)

    return build


@pytest.fixture
def store(tmp_path: Path) -> TicketStore:
    return TicketStore(tmp_path / "data")


@pytest.fixture
def server(httpserver: HTTPServer) -> Iterator[HTTPServer]:
    """The HTTP server, failing the test if a request matched no handler or a handler raised."""
    yield httpserver
    httpserver.check_handler_errors()
    httpserver.check_assertions()


@pytest.fixture
def jira(server: HTTPServer) -> FakeJira:
    return FakeJira(server)


@pytest.fixture
def zendesk(server: HTTPServer) -> FakeZendesk:
    return FakeZendesk(server)


@pytest.fixture
def webhook(server: HTTPServer) -> FakeWebhook:
    return FakeWebhook(server)
