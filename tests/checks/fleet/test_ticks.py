"""What a worker does with a task before anything runs (fleet.ticks.judge and take_task), without a broker:
a task for a disabled or unknown check, or for a tick off the schedule or far from now, is refused, recorded
as refused and told to operations once; a genuine tick delivered too late is dropped; a crash's summary is
masked with the check's secrets. The same paths over a real Redis are in test_fleet_security.py."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pytest_httpserver import HTTPServer
from support.leakscan import scan, scan_bytes, scan_sqlite
from werkzeug import Request, Response

from automation.checks.alerting.policy import REFUSED_QUIET, decide_refused
from automation.checks.config.load import ChecksConfig, load_checks
from automation.checks.config.schedule import previous_tick
from automation.checks.fleet import ticks
from automation.checks.fleet.ticks import judge, take_task
from automation.checks.model import CheckRun, CheckState
from automation.checks.storage.history import History
from automation.checks.watchdog.run_check import Host
from automation.checks.web.app import create_app

NOW = datetime(2026, 12, 1, 9, 0, 30, tzinfo=UTC)
PASSWORD = "Crash-Canary-Pw 9!"
CHECKS = """\
defaults:
  alert: {after: 1, channels: [{webhook: {url_env: OPS_HOOK}}]}
checks:
  portal-login: {runbook: synthetic-login, every: 5m}
  paused: {runbook: synthetic-login, every: 5m, enabled: false}
  office-hours: {runbook: synthetic-login, cron: "*/30 8-18 * * 1-5", timezone: Europe/London}
"""


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


class Target:
    """The environment a check runs against: only its credentials matter here."""

    credentials = {"portal_monitor": {"user": "monitor@example.com", "password": PASSWORD}}


@pytest.fixture
def hook(httpserver: HTTPServer) -> list[dict[str, Any]]:
    bodies: list[dict[str, Any]] = []

    def receive(request: Request) -> Response:
        bodies.append(json.loads(request.get_data()))
        return Response("ok")

    httpserver.expect_request("/hook").respond_with_handler(receive)
    return bodies


@pytest.fixture
def setup(
    tmp_path: Path, httpserver: HTTPServer, hook: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> tuple[ChecksConfig, Host]:
    monkeypatch.setenv("OPS_HOOK", httpserver.url_for("/hook"))
    (tmp_path / "checks.yaml").write_text(CHECKS)
    config = load_checks(tmp_path / "checks.yaml")
    data = tmp_path / "data"
    host = Host(
        history=History(data_dir=data),
        evidence_root=tmp_path / "evidence",
        data_dir=data,
        clock=Clock(),
        target_for=lambda env: Target(),
    )
    return config, host


def on_schedule(config: ChecksConfig, name: str, at: datetime = NOW) -> datetime:
    tick = previous_tick(config.checks[name].schedule, at)
    assert tick is not None
    return tick


# -- judge: the rules, as pure functions of the check, the tick and the time -----------------------------------


def test_a_due_tick_on_the_schedule_runs(setup: tuple[ChecksConfig, Host]) -> None:
    config, _ = setup
    check = config.checks["portal-login"]
    assert judge(check, on_schedule(config, "portal-login"), NOW, None).action == "run"
    # a tick a few minutes old still runs (workers were busy); so does one from a host whose clock is ahead
    assert judge(check, on_schedule(config, "portal-login") - timedelta(minutes=5), NOW, None).action == "run"
    ahead = on_schedule(config, "portal-login", NOW + timedelta(minutes=1))
    assert judge(check, ahead, NOW, None).action == "run"


def test_disabled_off_schedule_future_and_naive_ticks_are_refused(setup: tuple[ChecksConfig, Host]) -> None:
    config, _ = setup
    check = config.checks["portal-login"]
    tick = on_schedule(config, "portal-login")
    paused = judge(config.checks["paused"], on_schedule(config, "paused"), NOW, None)
    assert (paused.action, paused.reason) == ("refuse", "the check is disabled in the checks file")
    off = judge(check, tick + timedelta(seconds=7), NOW, None)
    assert off.action == "refuse" and "is not on the schedule (every 5m)" in off.reason
    future = judge(check, tick + timedelta(hours=2), NOW, None)
    assert future.action == "refuse" and "ahead" in future.reason
    naive = judge(check, tick.replace(tzinfo=None), NOW, None)
    assert naive.action == "refuse" and "no time zone" in naive.reason
    # a cron check's ticks are its cron's: 09:00 London is one, 09:10 is not, nor is 03:00 at night
    office = config.checks["office-hours"]
    assert judge(office, datetime(2026, 12, 1, 9, 0, tzinfo=UTC) + timedelta(seconds=office.schedule.spread_s),
                 NOW, None).action == "run"  # fmt: skip
    assert judge(office, datetime(2026, 12, 1, 9, 10, tzinfo=UTC), NOW, None).action == "refuse"


def test_an_old_tick_is_dropped_when_beat_sent_it_and_refused_when_it_did_not(
    setup: tuple[ChecksConfig, Host],
) -> None:
    config, _ = setup
    check = config.checks["portal-login"]
    old = on_schedule(config, "portal-login") - timedelta(hours=3)
    assert ticks.late_after(check, old) == ticks.LATE_MIN  # every 5m: at least ten minutes
    sent = judge(check, old, NOW, last_sent=on_schedule(config, "portal-login"))
    assert sent.action == "drop" and "late" in sent.reason
    forged = judge(check, old, NOW, last_sent=old - timedelta(minutes=5))
    assert forged.action == "refuse" and "beat never sent it" in forged.reason


def test_operations_are_told_of_refusals_once_a_day_per_check() -> None:
    run = CheckRun.not_run(
        "portal-login", "synthetic-login", "prod", scheduled_at=NOW, at=NOW, status="refused", summary="x"
    )
    state, notes = decide_refused(CheckState(), run, NOW)
    assert [n.kind for n in notes] == ["refused"] and "rotate the broker's password" in notes[0].message
    for minutes in (1, 60, 23 * 60):
        state, again = decide_refused(state, run, NOW + timedelta(minutes=minutes))
        assert again == []
    state, later = decide_refused(state, run, NOW + REFUSED_QUIET)
    assert [n.kind for n in later] == ["refused"]


# -- take_task: what a forged task leaves behind ------------------------------------------------------------------


def test_forged_tasks_run_nothing_are_recorded_refused_and_alert_once(
    setup: tuple[ChecksConfig, Host], hook: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    config, host = setup
    ran: list[str] = []
    monkeypatch.setattr(ticks, "run_tick", lambda check, *a: ran.append(check.name))
    tick = on_schedule(config, "portal-login")
    forged = [("paused", on_schedule(config, "paused"))] * 10 + [
        ("portal-login", tick + timedelta(seconds=s)) for s in range(1, 11)
    ]
    answers = [take_task(name, t.isoformat(), host, config) for name, t in forged]
    assert answers == ["refused"] * 20
    assert take_task("nobody-configured-me", tick.isoformat(), host, config) == "refused"
    assert take_task("portal-login", "yesterday", host, config) == "refused"
    assert ran == []

    refused = host.history.refusals("portal-login")
    assert len(refused) == 11 and {r.status for r in refused} == {"refused"}
    assert "is not on the schedule" in refused[-1].summary and "nothing ran" in refused[-1].summary
    assert len(host.history.refusals("paused")) == 10
    # Not runs: the status page's last run, uptime and health are what they were; the unknown name is nowhere.
    assert host.history.runs("portal-login") == [] and host.history.summary("portal-login", NOW).runs_24h == 0
    assert "nobody-configured-me" not in host.history.checks()
    # One alert per check, however many messages were forged.
    assert sorted(b["check"] for b in hook) == ["paused", "portal-login"]
    assert all(b["kind"] == "refused" for b in hook)
    page = TestClient(create_app(host.history, [c.info() for c in config.checks.values()],
                                 metrics=host.metrics, evidence_root=host.evidence_root, clock=host.clock))  # fmt: skip
    status = {row["name"]: row for row in page.get("/api/status").json()}
    assert status["portal-login"]["health"] == "unknown", status["portal-login"]
    assert (
        'probe_runs_total{check="portal-login",env="sandbox",runbook="synthetic-login",status="refused"} 11.0'
        in (page.get("/metrics").text)
    )


def test_a_genuine_tick_still_runs_after_the_refusals(
    setup: tuple[ChecksConfig, Host], monkeypatch: pytest.MonkeyPatch
) -> None:
    config, host = setup
    ran: list[datetime] = []
    monkeypatch.setattr(ticks, "run_tick", lambda check, tick, *a: ran.append(tick))
    tick = on_schedule(config, "portal-login")
    assert take_task("portal-login", (tick + timedelta(seconds=1)).isoformat(), host, config) == "refused"
    assert (
        take_task("portal-login", tick.isoformat(), host, config) == "duplicate"
    )  # the stand-in records none
    assert ran == [tick]


def test_a_workers_crash_leaves_no_secret_in_the_history_the_status_page_or_the_webhook(
    setup: tuple[ChecksConfig, Host], hook: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    config, host = setup

    def crash(*args: Any, **kwargs: Any) -> CheckRun:  # a stand-in for a run whose library echoes a password
        raise RuntimeError(f"login form rejected: password={PASSWORD}")

    monkeypatch.setattr("automation.checks.watchdog.run_check.run_check", crash)
    check = replace(config.checks["portal-login"])
    assert take_task(check.name, on_schedule(config, check.name).isoformat(), host, config) == "error"
    run = host.history.last_run(check.name)
    assert run is not None and run.status == "error"
    assert "RuntimeError: login form rejected: password=[REDACTED]" in run.summary
    assert [b["kind"] for b in hook] == ["opened"]
    page = TestClient(create_app(host.history, [c.info() for c in config.checks.values()],
                                 metrics=host.metrics, evidence_root=host.evidence_root, clock=host.clock))  # fmt: skip
    served = page.get("/").content + page.get("/api/status").content
    assert b"[REDACTED]" in page.get("/api/status").content  # the summary is there, masked
    findings = scan_bytes(served, [PASSWORD], "status page and /api/status")
    findings += scan_bytes(json.dumps(hook), [PASSWORD], "webhook bodies")
    findings += scan_sqlite(host.data_dir / "checks.db", [PASSWORD])
    findings += scan(host.data_dir, [PASSWORD])
    assert findings.clean, str(findings)
