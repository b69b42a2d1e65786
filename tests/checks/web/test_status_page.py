"""The status page in real Chromium, over a history of 24 h: a passing, a degraded and an alerting check.
Also the text table, /api/status, /metrics, /healthz and the evidence route's refusal of path traversal."""

from __future__ import annotations

import asyncio
import http.client
import math
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from automation.checks.metrics.in_process import Metrics
from automation.checks.model import Attempt, CheckInfo, CheckRun, CheckState, StepTiming
from automation.checks.storage.history import History
from automation.checks.web.app import create_app
from automation.checks.web.status import render_history, render_table, rows_json, status_rows

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
PASSING = CheckInfo("portal-login", "Portal login", "synthetic-login", "sandbox", "every 5m", 60)
DEGRADED = CheckInfo(
    "netsuite-login",
    "NetSuite login",
    "netsuite-login",
    "sandbox",
    "every 10m",
    60,
    degraded_steps={"Log In": 2.0},
)
ALERTING = CheckInfo(
    "verify-email",
    "Verification email",
    "resend-verify",
    "sandbox",
    "cron */30 8-18 * * 1-5 (Europe/London)",
    90,
)
CHECKS = (PASSING, DEGRADED, ALERTING)


@dataclass
class Served:
    url: str
    history: History
    metrics: Metrics
    evidence_root: Path


def write_report(root: Path, run_id: str, title: str) -> Path:
    folder = root / run_id
    (folder / "screenshots").mkdir(parents=True)
    (folder / "report.html").write_text(f"<!doctype html><title>{title}</title><h1>{title}</h1>")
    return folder


def run_of(info: CheckInfo, at: datetime, status: str, duration_s: float, **extra: Any) -> CheckRun:
    return CheckRun(
        check=info.name,
        runbook=info.runbook,
        env=info.env,
        scheduled_at=at,
        started_at=at,
        finished_at=at + timedelta(seconds=duration_s),
        status=status,  # type: ignore[arg-type]
        duration_s=duration_s,
        **extra,
    )


def fill(history: History, metrics: Metrics, root: Path) -> None:
    """24 h of runs for each check; the last run of each has a report under `root`."""
    for i in range(288, 0, -1):  # portal: every 5 min, all passed
        at = NOW - timedelta(minutes=5 * i)
        run = run_of(PASSING, at, "passed", 2.2 + 0.4 * math.sin(i / 7), summary="signed in")
        metrics.observe(history.record(run), "passing")
    for i in range(144, 0, -1):  # NetSuite: every 10 min, degraded now and then
        at = NOW - timedelta(minutes=10 * i)
        slow = i % 24 == 0 or i == 1
        log_in = 3.1 if slow else 1.2
        step_list = (
            StepTiming("1", "Open NetSuite", "passed", 0.9),
            StepTiming("2", "Log In", "passed", log_in, slow),
        )
        attempts: tuple[Attempt, ...] = ()
        if i == 1:
            folder = write_report(root, "netsuite-last", "NetSuite login report")
            attempts = (Attempt(1, "degraded", "netsuite-last", str(folder), 2.4 + log_in),)
        run = run_of(
            DEGRADED,
            at,
            "degraded" if slow else "passed",
            2.4 + log_in,
            summary="passed, but step 2 Log In took 3.1 s (limit 2 s)" if slow else "signed in",
            slow_steps=("Log In",) if slow else (),
            steps=step_list,
            attempts=attempts,
        )
        metrics.observe(history.record(run), "degraded" if slow else "passing")
    for i in range(
        48, 0, -1
    ):  # verification email: every 30 min; maintenance 02:00-03:00; failing since 09:30
        at = NOW - timedelta(minutes=30 * i)
        if at.hour == 2:
            history.record_skip(
                ALERTING.name, ALERTING.runbook, ALERTING.env, at, "maintenance: mail relay upgrade"
            )
            continue
        failing = at >= NOW - timedelta(hours=2, minutes=30)
        extra: dict[str, Any] = {
            "summary": "no verification email arrived within 60 s" if failing else "code received"
        }
        if i == 1:
            folder = write_report(root, "verify-last", "Verification email report")
            extra["attempts"] = (Attempt(1, "failed", "verify-last", str(folder), 61.0),)
        run = run_of(
            ALERTING, at, "failed" if failing else "passed", 61.0 if failing else 8.0 + (i % 5), **extra
        )
        metrics.observe(history.record(run), "alerting" if failing else "passing")

    history.save_state(
        PASSING.name, CheckState(consecutive_passes=288, last_status="passed", last_run_at=NOW)
    )
    history.save_state(
        DEGRADED.name, CheckState(consecutive_passes=3, last_status="degraded", last_run_at=NOW)
    )
    opened = NOW - timedelta(hours=1, minutes=30)
    history.save_state(
        ALERTING.name,
        CheckState(
            consecutive_failures=5,
            alerting=True,
            failing_since=NOW - timedelta(hours=2, minutes=30),
            alert_opened_at=opened,
            last_status="failed",
            last_run_at=NOW,
            ticket_id="T-7",
        ),
    )


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("status-page")
    history, metrics, root = History(data_dir=tmp / "data"), Metrics(), tmp / "traces"
    fill(history, metrics, root)
    app = create_app(history, CHECKS, metrics=metrics, evidence_root=root, clock=lambda: NOW)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the status page did not start"
        time.sleep(0.01)
    yield Served(f"http://127.0.0.1:{sock.getsockname()[1]}", history, metrics, root)
    server.should_exit = True
    thread.join(timeout=10)
    history.close()


@pytest.mark.browser
def test_the_status_page_reads_at_a_glance(served: Served, page: Any, output_path: str) -> None:
    problems: list[str] = []
    page.on(
        "console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None
    )
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.set_viewport_size({"width": 1280, "height": 900})

    page.goto(served.url + "/")

    assert page.locator("h1").inner_text() == "3 checks: 1 alerting, 1 degraded, 1 passing"
    cards = page.locator("section.card")
    assert [cards.nth(i).get_attribute("data-check") for i in range(3)] == [
        "verify-email",
        "netsuite-login",
        "portal-login",
    ]
    for name, word in (
        ("verify-email", "alerting"),
        ("netsuite-login", "degraded"),
        ("portal-login", "passing"),
    ):
        badge = page.locator(f"#check-{name} .badge")
        assert badge.inner_text().lower() == word and badge.is_visible()
    assert (
        "Slow step: Log In 3.1 s (limit 2.0 s)"
        in page.locator("#check-netsuite-login .slow-step").inner_text()
    )
    assert "ticket T-7" in page.locator("#check-verify-email").inner_text()
    assert page.locator("section.card svg").count() == 3
    assert page.locator("#check-verify-email svg .marker.failed").count() == 5
    assert page.locator("#check-netsuite-login svg .marker.degraded").count() == 7
    assert page.locator("#check-verify-email svg .skip").count() == 2

    screenshot = Path(output_path) / "status-page.png"
    page.screenshot(path=str(screenshot), full_page=True)
    print(f"status page screenshot: {screenshot}")

    page.locator("#check-netsuite-login a.report").click()
    page.wait_for_load_state()
    assert page.url.endswith("/evidence/netsuite-last/report.html")
    assert page.locator("h1").inner_text() == "NetSuite login report"
    assert problems == []


def test_the_text_table_puts_the_alerting_check_first(served: Served) -> None:
    rows = status_rows(served.history, CHECKS, NOW)
    table = render_table(rows, NOW)
    lines = table.splitlines()
    assert lines[0] == "3 checks: 1 alerting, 1 degraded, 1 passing"
    assert lines[3].startswith("verify-email") and "ALERTING" in lines[3] and "ticket T-7" in lines[3]
    assert "slow: Log In 3.1 s (limit 2.0 s)" in lines[4]
    assert rows[2].uptime_24h == 1.0 and rows[2].runs_24h == 288
    json_rows = rows_json(rows)
    assert json_rows[0]["health"] == "alerting" and json_rows[0]["alert_since"] == "2025-03-10T10:30:00+00:00"
    assert json_rows[1]["slow_steps"] == ["Log In"]


def test_a_check_in_maintenance_says_so(served: Served) -> None:
    rows = status_rows(served.history, CHECKS, NOW, in_maintenance=lambda check, at: check == "portal-login")
    assert {r.name: r.health for r in rows}["portal-login"] == "maintenance"
    assert "1 in maintenance" in render_table(rows)


def test_history_lists_runs_newest_first(served: Served) -> None:
    text = render_history(served.history.runs("verify-email", limit=3))
    lines = text.splitlines()
    assert lines[0].split()[:3] == ["STARTED", "(UTC)", "STATUS"]
    assert "2025-03-10 11:30:00  failed" in lines[1] and "verify-last/report.html" in lines[1]


def test_api_status_metrics_and_healthz_answer(served: Served) -> None:
    with httpx.Client(base_url=served.url) as client:
        api = client.get("/api/status").json()
        assert [r["name"] for r in api] == ["verify-email", "netsuite-login", "portal-login"]
        metrics = client.get("/metrics")
        assert metrics.status_code == 200 and metrics.headers["content-type"].startswith("text/plain")
        assert 'probe_success{check="verify-email",env="sandbox",runbook="resend-verify"} 0.0' in metrics.text
        assert (
            'probe_degraded{check="netsuite-login",env="sandbox",runbook="netsuite-login"} 1.0'
            in metrics.text
        )
        assert client.get("/healthz").json() == {"ok": True}


def test_healthz_is_503_when_unhealthy(tmp_path: Path) -> None:
    history = History(data_dir=tmp_path)
    app = create_app(history, (), metrics=Metrics(), evidence_root=tmp_path, healthy=lambda: {"ok": False})

    async def ask() -> tuple[httpx.Response, httpx.Response]:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://checks"
        ) as client:
            return await client.get("/healthz"), await client.get("/")

    # Off the main thread: Playwright's sync API keeps an event loop running there for the session.
    with ThreadPoolExecutor(1) as pool:
        health, page = pool.submit(asyncio.run, ask()).result()
    assert (health.status_code, health.json()) == (503, {"ok": False})
    assert "No checks configured" in page.text
    history.close()


def test_the_evidence_route_refuses_path_traversal(served: Served) -> None:
    (served.evidence_root.parent / "secret.txt").write_text("not evidence")
    host, port = served.url.removeprefix("http://").split(":")
    for raw in ("/evidence/../secret.txt", "/evidence/%2e%2e/secret.txt", "/evidence/..%2fsecret.txt"):
        conn = http.client.HTTPConnection(host, int(port), timeout=5)
        conn.request("GET", raw)  # http.client sends the path as is: no client-side normalising of `..`
        answer = conn.getresponse()
        assert answer.status == 404, raw
        assert b"not evidence" not in answer.read()
        conn.close()
    with httpx.Client(base_url=served.url) as client:
        assert client.get("/evidence/verify-last/report.html").status_code == 200
        assert client.get("/evidence/verify-last").status_code == 404  # a folder is not a file
