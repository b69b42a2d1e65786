"""A check's history as the status pages read it, written the way the scheduler writes it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from automation.checks.model import Attempt, CheckRun, CheckState
from automation.checks.storage.history import History

REPORT = "<!doctype html><html lang='en'><title>Portal login report</title><h1>Portal login report</h1>"


def record_a_passed_login(history: History, traces: Path) -> Path:
    """One passed run of portal-login a minute ago, its report under the evidence root `traces` (where the
    status pages serve check evidence from); returns the report's path."""
    folder = traces / "checks" / "portal-login-1"
    folder.mkdir(parents=True)
    (folder / "report.html").write_text(REPORT)
    at = datetime.now(UTC) - timedelta(minutes=1)
    history.record(
        CheckRun(
            check="portal-login",
            runbook="synthetic-login",
            env="sandbox",
            scheduled_at=at,
            started_at=at,
            finished_at=at + timedelta(seconds=2),
            status="passed",
            duration_s=2.0,
            summary="signed in",
            attempts=(Attempt(1, "passed", "portal-login-1", str(folder), 2.0),),
        )
    )
    history.save_state("portal-login", CheckState(consecutive_passes=1, last_status="passed", last_run_at=at))
    return folder / "report.html"
