"""An escalation arrives with its evidence: one ticket, with the report, screenshots and a valid trace."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from automation.result import RunResult
from automation.tickets import TicketStore


@pytest.mark.parametrize(
    ("runbook", "answers"),
    [("resend-verify", {}), ("unknown-login-error", {"ends_with_symbol": "no"})],
)
def test_escalation_opens_one_ticket_with_the_evidence(
    runbook: str, answers: dict[str, str], run_runbook: Callable[..., RunResult], tmp_path: Path
) -> None:
    result = run_runbook(runbook, {"email": "not-in-salesforce@example.com"}, answers=answers)
    assert result.status == "escalated" and result.ticket is not None
    tickets = TicketStore(tmp_path / "data").list()
    assert len(tickets) == 1
    stored = tickets[0]
    assert stored.local_id == result.ticket["id"] and stored.ticket.queue == "customer-portal-chat"
    assert stored.ticket.customer == {"email": "not-in-salesforce@example.com"}
    names = {a.name for a in stored.ticket.attachments}
    assert {"report.html", "run.json", "trace.zip"} <= names and any(n.endswith(".png") for n in names)
    trace = next(a.path for a in stored.ticket.attachments if a.name == "trace.zip")
    with zipfile.ZipFile(trace) as zf:
        assert zf.testzip() is None
        assert all(json.loads(line) for line in zf.read("trace.trace").decode().splitlines() if line.strip())


def test_the_same_escalation_again_adds_to_the_open_ticket(
    run_runbook: Callable[..., RunResult], tmp_path: Path
) -> None:
    first = run_runbook("resend-verify", {"email": "not-in-salesforce@example.com"})
    second = run_runbook("resend-verify", {"email": "not-in-salesforce@example.com"})
    assert second.ticket is not None and second.ticket["status"] == "deduplicated"
    assert second.ticket["id"] == first.ticket["id"]  # type: ignore[index]
    assert len(TicketStore(tmp_path / "data").list()) == 1


def test_tickets_list_shows_the_escalation(run_runbook: Callable[..., RunResult], tmp_path: Path) -> None:
    result = run_runbook("resend-verify", {"email": "not-in-salesforce@example.com"})
    env = {**os.environ, "RUNBOOK_DATA": str(tmp_path / "data")}
    listed = subprocess.run(
        [sys.executable, "-m", "automation.cli", "tickets", "list", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    items = json.loads(listed.stdout)
    assert [t["id"] for t in items] == [result.ticket["id"]]  # type: ignore[index]
    shown = subprocess.run(
        [sys.executable, "-m", "automation.cli", "tickets", "show", items[0]["id"]],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "customer-portal-chat" in shown.stdout and f"runbook trace {result.run_id}" in shown.stdout
