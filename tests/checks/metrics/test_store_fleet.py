"""Status and metrics read the shared database (real PostgreSQL): /metrics answered from history has the same
series, names and values as the metrics of the processes that ran the runs, whichever process that was, and
`runbook checks web` serves the fleet's page and metrics with no scheduler."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from automation.checks.config.load import Check, load_checks
from automation.checks.metrics.from_store import FleetMetrics
from automation.checks.metrics.in_process import Metrics
from automation.checks.model import CheckRun, StepTiming
from automation.checks.storage.history import History
from automation.checks.watchdog.run_check import Host, settle, skip_check
from automation.console.accounts import add_user
from automation.console.store import ConsoleStore
from automation.console.tokens import create_token

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
RUNBOOK = [sys.executable, "-m", "automation.cli"]
STEPS = {
    "passed": (StepTiming("1", "Open the portal", "passed", 0.4), StepTiming("2", "Log In", "passed", 1.1)),
    "failed": (StepTiming("1", "Open the portal", "passed", 0.5), StepTiming("2", "Log In", "failed", 3.0)),
}


def checks_file(tmp_path: Path) -> Path:
    path = tmp_path / "checks.yaml"
    path.write_text(
        "checks:\n"
        "  portal-login:\n    title: Portal login\n    runbook: synthetic-login\n    every: 1m\n"
        "    alert: {after: 2, recover_after: 1}\n"
        "  netsuite-login:\n    title: NetSuite login\n    runbook: synthetic-login\n    every: 1m\n"
    )
    return path


def a_run(check: Check, at: datetime, status: str, seconds: float) -> CheckRun:
    return CheckRun(
        check.name,
        check.runbook,
        check.env,
        at,
        at,
        at + timedelta(seconds=seconds),
        status,  # type: ignore[arg-type]
        seconds,
        summary=status,
        steps=STEPS.get(status, ()),
    )


def worker(url: str, tmp_path: Path) -> Host:
    return Host(
        history=History(url),
        evidence_root=tmp_path,
        data_dir=tmp_path,
        metrics=Metrics(),
        clock=lambda: START,
    )


def samples(body: bytes | str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = body.decode() if isinstance(body, bytes) else body
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if not s.name.endswith("_created")  # when a process created its counter: not the fleet's to know
    }


def feed(postgres_url: str, tmp_path: Path) -> tuple[Host, Host, dict[str, Check]]:
    """Two workers, each running one of the checks, as two Celery workers would."""
    checks = load_checks(checks_file(tmp_path)).checks
    first, second = worker(postgres_url, tmp_path), worker(postgres_url, tmp_path)
    for i, (status, seconds) in enumerate(
        [("passed", 1.5), ("degraded", 12.0), ("failed", 3.5), ("failed", 8.0)]
    ):
        settle(
            checks["portal-login"],
            a_run(checks["portal-login"], START + timedelta(minutes=i), status, seconds),
            first,
        )
    settle(checks["netsuite-login"], a_run(checks["netsuite-login"], START, "passed", 0.7), second)
    skip_check(checks["netsuite-login"], START + timedelta(minutes=1), second, "month-end")
    return first, second, checks


def test_fleet_metrics_from_the_database_equal_what_the_workers_counted(
    postgres_url: str, tmp_path: Path
) -> None:
    first, second, _ = feed(postgres_url, tmp_path)
    seen_by_workers = samples(first.metrics.render()[0]) | samples(second.metrics.render()[0])
    with History(postgres_url) as status_server:
        from_database = samples(FleetMetrics(status_server).render()[0])
    assert from_database == seen_by_workers
    # each worker saw only its own check; the database shows both
    assert (
        "probe_success",
        (("check", "netsuite-login"), ("env", "sandbox"), ("runbook", "synthetic-login")),
    ) in (from_database)
    assert not any(
        dict(labels).get("check") == "netsuite-login" for _, labels in samples(first.metrics.render()[0])
    )
    assert (
        from_database[
            (
                "probe_check_state",
                (
                    ("check", "portal-login"),
                    ("env", "sandbox"),
                    ("runbook", "synthetic-login"),
                    ("state", "alerting"),
                ),
            )
        ]
        == 1.0
    )


def test_checks_web_serves_the_fleet_page_and_metrics_without_a_scheduler(
    postgres_url: str, tmp_path: Path
) -> None:
    feed(postgres_url, tmp_path)
    # The page and /metrics are behind the console's door, whose users and tokens are in the same database.
    with ConsoleStore(url=postgres_url) as store:
        add_user(store, "olga", "operations", "a long enough passphrase")
        bearer = {"authorization": f"Bearer {create_token(store, 'prometheus', role='operations').token}"}
    env = {**os.environ, "RUNBOOK_DATABASE_URL": postgres_url, "PYTHONUNBUFFERED": "1"}
    command = [
        *RUNBOOK,
        "checks",
        "web",
        "--port",
        "0",
        "--file",
        str(checks_file(tmp_path)),
        "--data",
        str(tmp_path / "data"),
    ]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        first = proc.stdout.readline()  # type: ignore[union-attr]
        assert "Status page" in first, first + proc.stdout.read()  # type: ignore[union-attr]
        url = first.split("Status page ")[1].split()[0].rstrip("/")
        status = httpx.get(url + "/api/status", headers=bearer, timeout=10).json()
        metrics: dict[Any, float] = samples(httpx.get(url + "/metrics", headers=bearer, timeout=10).text)
        health = httpx.get(url + "/healthz", timeout=10)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    titles = {r["title"]: r["health"] for r in status}
    assert "Portal login" in titles and "NetSuite login" in titles and "alerting" in titles.values()
    key = (("check", "portal-login"), ("env", "sandbox"), ("runbook", "synthetic-login"))
    assert metrics[("probe_success", key)] == 0.0  # the last run failed
    assert metrics[("probe_duration_seconds", key)] == 8.0
    assert (
        metrics[("probe_runs_total", (*key[:2], ("runbook", "synthetic-login"), ("status", "failed")))] == 2.0
    )
    assert health.status_code == 200 and health.json() == {"ok": True}
    assert not (tmp_path / "data" / "checks.db").exists()  # the page read PostgreSQL, not a local file
