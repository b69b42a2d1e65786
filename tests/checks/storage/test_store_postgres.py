"""The history store on a real PostgreSQL (the fleet's shared database): one run per tick whoever claims it,
the same rows back as on SQLite, and the alert policy applied under a lock per check, so two workers settling
runs of one check at the same moment open one alert, not two."""

from __future__ import annotations

import dataclasses
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import text

from automation.checks.config.load import Check, load_checks
from automation.checks.model import Attempt, CheckRun, CheckState, StepTiming
from automation.checks.storage.history import History
from automation.checks.watchdog.run_check import Host, settle

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def a_run(status: str = "passed", at: datetime = START, check: str = "portal-login") -> CheckRun:
    return CheckRun(
        check, "synthetic-login", "sandbox", at, at, at + timedelta(seconds=2), status, 2.0, summary=status
    )  # type: ignore[arg-type]


def test_a_tick_claimed_by_one_worker_is_refused_to_every_other(postgres_url: str) -> None:
    with History(postgres_url) as one, History(postgres_url) as two:
        assert one.claim("portal-login", START) is True
        assert two.claim("portal-login", START) is False
        assert one.claim("portal-login", START) is False
        assert two.claim("portal-login", START + timedelta(minutes=5)) is True


def test_runs_come_back_from_postgresql_with_attempts_steps_and_utc_times(postgres_url: str) -> None:
    run = dataclasses.replace(
        a_run("degraded"),
        attempts=(Attempt(1, "degraded", "run-1", "/evidence/run-1", 2.0, None, None, START),),
        steps=(StepTiming("4", "Log In", "passed", 1.8, True),),
        slow_steps=("Log In",),
    )
    with History(postgres_url) as history:
        history.record(run)
        history.record(a_run("failed", START + timedelta(minutes=1)))
        back = history.runs("portal-login")
        summary = history.summary("portal-login", START + timedelta(hours=1))
    assert [r.status for r in back] == ["failed", "degraded"]
    assert back[1].started_at == START and back[1].started_at.tzinfo is not None
    assert back[1].steps[0].label == "Log In" and back[1].steps[0].slow is True
    assert back[1].attempts[0].evidence_dir == "/evidence/run-1"
    assert back[1].slow_steps == ("Log In",)
    assert (summary.runs_24h, summary.failures_24h, summary.uptime_24h) == (2, 1, 0.5)


def test_state_and_health_changes_are_shared_by_every_process(postgres_url: str) -> None:
    with History(postgres_url) as writer, History(postgres_url) as reader:
        writer.save_state("portal-login", CheckState(consecutive_failures=2), health="failing", at=START)
        assert reader.state("portal-login").consecutive_failures == 2
        assert [(f, t) for _, f, t in reader.state_changes("portal-login")] == [("unknown", "failing")]
        assert reader.checks() == ["portal-login"]


@pytest.fixture
def flapping(tmp_path: Path, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> Check:
    monkeypatch.setenv("OPS_HOOK", httpserver.url_for("/hook"))
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    path = tmp_path / "checks.yaml"
    path.write_text(
        "checks:\n  portal-login:\n    runbook: synthetic-login\n    every: 1m\n"
        "    alert:\n      after: 1\n      channels:\n        - webhook: {url_env: OPS_HOOK}\n"
    )
    return load_checks(path).checks["portal-login"]


def _waiting_on_a_lock(history: History) -> bool:
    query = text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = :db")
    with history.engine.connect() as conn:
        return bool(conn.execute(query, {"db": history.engine.url.database}).scalar())


def test_two_workers_settling_failures_of_one_check_together_open_one_alert(
    postgres_url: str, flapping: Check, tmp_path: Path
) -> None:
    hosts = [
        Host(
            history=History(postgres_url),
            evidence_root=tmp_path,
            data_dir=tmp_path / "data",
            clock=lambda: START,
        )
        for _ in range(2)
    ]
    # The first worker is inside its read-decide-write; the second arrives meanwhile and must wait for it.
    first = hosts[0].history.holding("portal-login")
    held = first.__enter__()
    second = threading.Thread(target=settle, args=(flapping, a_run("failed"), hosts[1]))
    second.start()
    while not _waiting_on_a_lock(hosts[0].history):
        assert second.is_alive(), "the second settle finished while the first held the check's lock"
        threading.Event().wait(0.05)
    held.save(CheckState(), health="passing", at=START)
    first.__exit__(None, None, None)
    second.join()
    settle(flapping, a_run("failed", START + timedelta(minutes=1)), hosts[0])

    kinds = [n["kind"] for n in hosts[0].history.notifications("portal-login")]
    assert kinds.count("opened") == 1
    for host in hosts:
        host.history.close()
