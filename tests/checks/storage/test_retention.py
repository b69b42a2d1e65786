"""Retention: old passed evidence goes, failed evidence stays longer, and what an open ticket points at stays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from automation.checks.config.load import ChecksConfig, load_checks
from automation.checks.model import Attempt, CheckRun
from automation.checks.storage.history import History
from automation.checks.watchdog.run_check import Host, prune
from automation.tickets import Ticket, TicketStore

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def config(tmp_path: Path) -> ChecksConfig:
    path = tmp_path / "checks.yaml"
    path.write_text(
        "retention: {passed: 1d, failed: 7d}\nchecks:\n"
        + "  portal-login: {runbook: synthetic-login, every: 5m}\n"
    )
    return load_checks(path)


def old_run(host: Host, status: str, age: timedelta, tmp_path: Path) -> Path:
    folder = tmp_path / "traces" / f"{status}-{age.days}"
    folder.mkdir(parents=True)
    (folder / "run.json").write_text("{}")
    at = NOW - age
    attempt = Attempt(1, status, folder.name, str(folder), 1.0)  # type: ignore[arg-type]
    host.history.record(
        CheckRun("portal-login", "synthetic-login", "sandbox", at, at, at, status, 1.0, attempts=(attempt,))  # type: ignore[arg-type]
    )
    return folder


def test_old_passed_runs_go_failed_ones_stay_longer_and_an_open_tickets_evidence_stays(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    host = Host(
        history=History(data_dir=data), evidence_root=tmp_path / "traces", data_dir=data, clock=lambda: NOW
    )
    passed_old = old_run(host, "passed", timedelta(days=2), tmp_path)
    failed_recent = old_run(host, "failed", timedelta(days=3), tmp_path)
    failed_old = old_run(host, "failed", timedelta(days=9), tmp_path)
    ticketed = old_run(host, "timed-out", timedelta(days=10), tmp_path)
    TicketStore(data).create(
        Ticket(
            queue="ops",
            title="t",
            outcome="timed-out",
            runbook="synthetic-login",
            target="sandbox",
            run_id="r1",
            evidence_dir=ticketed,
        ),
        delivery="local",
    )
    removed = prune(config(tmp_path), host)
    assert sorted(removed) == sorted([str(passed_old), str(failed_old)])
    assert not passed_old.exists() and not failed_old.exists()
    assert failed_recent.exists() and ticketed.exists()
    assert len(host.history.runs("portal-login")) == 2
