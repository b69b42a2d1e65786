"""Scheduled checks in real Chromium against the sandbox, its fault switches scripting each run's fate."""

from __future__ import annotations

import json
import socket
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from automation.checks.config.load import ChecksConfig, load_checks
from automation.checks.storage.history import History
from automation.checks.watchdog.run_check import Host, run_check
from automation.checks.watchdog.scheduler import Scheduler
from automation.checks.web.app import create_app
from automation.checks.web.status import status_rows
from automation.environments import resolve, sandbox_target
from automation.sandbox import SandboxServer
from automation.tickets import TicketStore

pytestmark = pytest.mark.browser

START = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


def checks_file(tmp_path: Path, body: str, defaults: str = "") -> ChecksConfig:
    path = tmp_path / "checks.yaml"
    path.write_text(
        "defaults:\n  retries: {attempts: 1}\n"
        + defaults
        + "checks:\n  portal-login:\n    runbook: synthetic-login\n    every: 1m\n"
        + body
    )
    return load_checks(path)


@pytest.fixture
def host(tmp_path: Path, sandbox: SandboxServer, browser: Any) -> Host:
    return Host(
        history=History(data_dir=tmp_path / "data"),
        evidence_root=tmp_path / "traces",
        data_dir=tmp_path / "data",
        clock=Clock(),
        target_for=lambda env: sandbox_target(sandbox) if env == "sandbox" else resolve(env),
        browser=browser,
    )


def fault(sandbox: SandboxServer, **rule: Any) -> None:
    faults = sandbox.urls["portal"] + "/_sandbox/faults"
    httpx.post(faults, json=rule, headers=sandbox.control_headers, timeout=5).raise_for_status()


def fail_next_login(sandbox: SandboxServer) -> None:
    fault(sandbox, route="/auth/login", method="GET", status=500, times=1)


def run_sequence(config: ChecksConfig, host: Host, sandbox: SandboxServer, fates: str) -> list[str]:
    check = config.checks["portal-login"]
    statuses = []
    for fate in fates:
        if fate == "F":
            fail_next_login(sandbox)
        statuses.append(run_check(check, host, config=config).status)
        host.clock.now += timedelta(minutes=1)  # type: ignore[attr-defined]
    return statuses


ALERT_WINDOW = """\
    alert:
      after: {failures: 3, within: 15m}
      recover_after: 2
      channels: [ticket]
"""


def test_a_flapping_login_opens_one_ticket_comments_each_failure_and_closes_it_on_recovery(
    tmp_path: Path, host: Host, sandbox: SandboxServer
) -> None:
    config = checks_file(tmp_path, ALERT_WINDOW)
    assert run_sequence(config, host, sandbox, "FPFFPF") == [
        "failed",
        "passed",
        "failed",
        "failed",
        "passed",
        "failed",
    ]
    tickets = TicketStore(host.data_dir).list()
    assert len(tickets) == 1 and tickets[0].state == "open"
    assert "portal-login" in tickets[0].ticket.title
    assert [c.body.startswith("Failed again") for c in tickets[0].comments] == [True]
    assert any(a.name == "report.html" for a in tickets[0].ticket.attachments)

    run_sequence(config, host, sandbox, "PP")
    ticket = TicketStore(host.data_dir).get(tickets[0].local_id)
    assert ticket.state == "closed"
    recovery = ticket.comments[-1].body
    assert recovery.startswith("Recovered") and "7m" in recovery  # first failure 10:00, second pass 10:07


def test_the_same_flapping_under_three_in_a_row_opens_nothing(
    tmp_path: Path, host: Host, sandbox: SandboxServer
) -> None:
    config = checks_file(tmp_path, ALERT_WINDOW.replace("{failures: 3, within: 15m}", "3"))
    run_sequence(config, host, sandbox, "FPFFPF")
    assert TicketStore(host.data_dir).list() == []
    assert host.history.state("portal-login").alerting is False


def test_a_slow_login_is_degraded_not_failed_and_every_view_names_the_step(
    tmp_path: Path, host: Host, sandbox: SandboxServer
) -> None:
    config = checks_file(tmp_path, "    degraded: {steps: {Log In: 2s}}\n")
    fault(sandbox, route="/auth/login", method="POST", latency_ms=3000)
    run = run_check(config.checks["portal-login"], host, config=config)
    assert run.status == "degraded" and "Log In" in run.summary
    assert run.slow_steps and "Log In" in run.slow_steps[0]

    families = {f.name: f for f in text_string_to_metric_families(host.metrics.render()[0].decode())}
    assert [s.value for s in families["probe_success"].samples] == [1.0]
    assert [s.value for s in families["probe_degraded"].samples] == [1.0]
    state = {s.labels["state"]: s.value for s in families["probe_check_state"].samples}
    assert state["degraded"] == 1.0

    row = status_rows(host.history, [config.checks["portal-login"].info()], host.clock())[0]
    assert row.health == "degraded" and "Log In" in " ".join(row.slow_steps)
    app = create_app(
        host.history,
        [config.checks["portal-login"].info()],
        metrics=host.metrics,
        evidence_root=tmp_path,
        clock=host.clock,
    )
    page = TestClient(app).get("/").text
    assert "DEGRADED" in page.upper() and "Log In" in page


def test_a_run_over_its_timeout_is_timed_out_with_its_evidence_kept(
    tmp_path: Path, host: Host, sandbox: SandboxServer
) -> None:
    config = checks_file(tmp_path, "    timeout: 6s\n")
    fault(sandbox, route="/auth/login", method="POST", latency_ms=30_000)
    run = run_check(config.checks["portal-login"], host, config=config)
    assert run.status == "timed-out"
    folder = Path(run.evidence_dir or "")
    assert json.loads((folder / "run.json").read_text())["status"] == "timed-out"
    assert zipfile.ZipFile(folder / "trace.zip").namelist()
    assert list((folder / "screenshots").glob("*.png"))


def test_a_target_that_is_down_is_an_error_and_the_other_checks_go_on(
    tmp_path: Path, host: Host, monkeypatch: pytest.MonkeyPatch
) -> None:
    envs = tmp_path / "environments.yaml"
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    envs.write_text(
        f"environments:\n  sandbox: {{sandbox: true}}\n  broken:\n    apps: {{portal: 'http://127.0.0.1:{closed}'}}\n"
        "    credentials: {portal_monitor: {user: monitor@example.com, password: Monitor-Check-5x}}\n"
    )
    monkeypatch.setenv("RUNBOOK_CONFIG", str(envs))
    config = checks_file(
        tmp_path, "  broken-login:\n    runbook: synthetic-login\n    env: broken\n    every: 1m\n"
    )
    scheduler = Scheduler(config, host, concurrency=0)
    for _ in range(2):
        host.clock.now += timedelta(minutes=1)  # type: ignore[attr-defined]
        scheduler.tick(host.clock())
    broken = host.history.runs("broken-login")
    assert [r.status for r in broken] == ["error", "error"]
    assert "does not answer" in broken[0].summary
    assert [r.status for r in host.history.runs("portal-login")] == ["passed", "passed"]
