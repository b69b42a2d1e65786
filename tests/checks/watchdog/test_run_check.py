"""A check's failure as its alert reads it, from a real run in Chromium against the sandbox: the runbook by its
name, the step by its number and label, no path of the server, and a link to the run when the console has a
public address."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from automation.checks.config.load import load_checks
from automation.checks.storage.history import History
from automation.checks.watchdog.run_check import Host, run_check
from automation.environments import sandbox_target
from automation.sandbox import SandboxServer
from automation.tickets import TicketStore, render_body

pytestmark = pytest.mark.browser

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
PUBLIC = "https://runbook.example.com"


def test_a_failed_checks_alert_and_ticket_name_the_runbook_and_the_step_and_link_to_the_run(
    tmp_path: Path, sandbox: SandboxServer, browser: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNBOOK_PUBLIC_URL", PUBLIC)
    path = tmp_path / "checks.yaml"
    path.write_text(
        "defaults:\n  retries: {attempts: 1}\n"
        "checks:\n  portal-login:\n    runbook: synthetic-login\n    every: 1m\n"
        "    alert:\n      after: 1\n      channels: [{ticket: {queue: portal-operations}}]\n"
    )
    check = load_checks(path).checks["portal-login"]
    host = Host(
        history=History(data_dir=tmp_path / "data"),
        evidence_root=tmp_path / "traces",
        data_dir=tmp_path / "data",
        clock=lambda: NOW,
        target_for=lambda env: sandbox_target(sandbox),
        browser=browser,
    )
    rule = {"route": "/auth/login", "method": "GET", "status": 500, "times": 1}
    faults = sandbox.urls["portal"] + "/_sandbox/faults"
    httpx.post(faults, json=rule, headers=sandbox.control_headers, timeout=5).raise_for_status()

    run = run_check(check, host)

    assert run.status == "failed"
    assert run.summary.startswith("failed: synthetic-login failed at step "), run.summary
    (stored,) = TicketStore(host.data_dir).list()
    body = render_body(stored.ticket)
    assert "(no steps recorded)" not in body and "[failed]" in body
    assert "synthetic-login failed at step " in body  # the alert's text, as the ticket's notes
    assert f"- the run on the console: {PUBLIC}/runs/{run.attempts[-1].run_id}" in body
    assert str(tmp_path) not in body and ".yaml:" not in run.summary and ".yaml:" not in body, body
