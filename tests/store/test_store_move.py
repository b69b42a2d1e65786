"""`runbook checks db move`: one machine's SQLite history (made by the embedded scheduler) and tickets go into
an empty PostgreSQL, and `checks status` reads the same figures there; a target with rows is refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from automation.checks.config.load import Check, load_checks
from automation.checks.model import CheckRun
from automation.checks.storage.history import History
from automation.checks.watchdog.run_check import Host
from automation.checks.watchdog.scheduler import Scheduler
from automation.cli.app import app
from automation.tickets import Ticket, TicketStore

CHECKS = """\
defaults:
  retries: {attempts: 1}
checks:
  portal-login:
    runbook: synthetic-login
    every: 5m
    alert: {after: 2, channels: [ticket]}
  netsuite-login:
    runbook: netsuite-login
    every: 10m
"""


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def stand_in(clock: Clock) -> Any:
    """The browser run: the portal fails from the second hour on, NetSuite passes; each takes a second."""

    def execute(check: Check, tick: datetime, host: Host, *, deadline: Any = None) -> CheckRun:
        late = tick >= clock.start + timedelta(hours=1)  # type: ignore[attr-defined]
        status = "failed" if check.name == "portal-login" and late else "passed"
        at = clock()
        return CheckRun(check.name, check.runbook, check.env, tick, at, at, status, 1.0, summary=status)  # type: ignore[arg-type]

    return execute


@pytest.fixture
def machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A data folder as a single machine leaves it: two hours of the embedded scheduler, and a ticket."""
    monkeypatch.delenv("RUNBOOK_DATABASE_URL", raising=False)
    (tmp_path / "checks.yaml").write_text(CHECKS)
    config = load_checks(tmp_path / "checks.yaml")
    data = tmp_path / "data"
    now = datetime.now(UTC).replace(microsecond=0)
    clock = Clock(now - timedelta(hours=2))
    clock.start = clock.now  # type: ignore[attr-defined]
    history = History(data_dir=data)
    host = Host(history=history, evidence_root=tmp_path / "traces", data_dir=data, clock=clock)
    scheduler = Scheduler(config, host, concurrency=0, execute=stand_in(clock))
    while clock.now < now - timedelta(minutes=1):
        clock.now += timedelta(seconds=30)
        scheduler.tick(clock.now)
    history.close()
    ticket = Ticket(
        title="Portal login fails",
        queue="portal-operations",
        runbook="synthetic-login",
        target="sandbox",
        run_id="run-7",
        outcome="failed",
        fingerprint="step-4",
        idempotency_key="synthetic-login:run-7",
    )
    TicketStore(data).create(ticket, delivery="local")
    return tmp_path / "checks.yaml", data


def checks_status(checks_file: Path, data: Path) -> Any:
    result = CliRunner().invoke(
        app, ["checks", "status", "--file", str(checks_file), "--data", str(data), "--json"]
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_a_moved_history_shows_the_same_status_in_postgresql(
    machine: tuple[Path, Path], postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    checks_file, data = machine
    before = checks_status(checks_file, data)
    assert {row["name"] for row in before} == {"portal-login", "netsuite-login"}

    moved = CliRunner().invoke(app, ["checks", "db", "move", "--to", postgres_url, "--data", str(data)])
    assert moved.exit_code == 0, moved.output
    assert "runs" in moved.output and "tickets" in moved.output

    monkeypatch.setenv("RUNBOOK_DATABASE_URL", postgres_url)
    elsewhere = data.parent / "another-machine"  # no SQLite there: every figure must come from PostgreSQL
    after = checks_status(checks_file, elsewhere)
    assert after == before
    assert not (elsewhere / "checks.db").exists()
    portal = next(row for row in after if row["name"] == "portal-login")
    assert portal["failures_24h"] > 0 and portal["runs_24h"] > portal["failures_24h"]


def test_moved_tickets_keep_their_ids_and_new_ones_follow_them(
    machine: tuple[Path, Path], postgres_url: str
) -> None:
    _, data = machine
    here = {t.local_id: t.ticket.title for t in TicketStore(data).list()}
    assert "Portal login fails" in here.values() and len(here) == 2  # the alert's ticket, and ours
    moved = CliRunner().invoke(app, ["checks", "db", "move", "--to", postgres_url, "--data", str(data)])
    assert moved.exit_code == 0, moved.output
    store = TicketStore(data, url=postgres_url)
    assert {t.local_id: t.ticket.title for t in store.list()} == here
    again = store.get("RB-2").ticket.model_copy(update={"idempotency_key": "synthetic-login:run-8"})
    assert store.create(again, delivery="local").local_id == "RB-3"
    with History(postgres_url) as history:
        before = {r.id for r in history.runs("portal-login")}
        added = history.record(history.runs("portal-login")[0])
    assert added.id not in before


def test_a_second_move_into_the_same_database_is_refused_and_copies_nothing(
    machine: tuple[Path, Path], postgres_url: str
) -> None:
    _, data = machine
    runner = CliRunner()
    assert (
        runner.invoke(app, ["checks", "db", "move", "--to", postgres_url, "--data", str(data)]).exit_code == 0
    )
    with History(postgres_url) as history:
        count = len(history.runs("portal-login"))
    again = runner.invoke(app, ["checks", "db", "move", "--to", postgres_url, "--data", str(data)])
    assert again.exit_code == 2
    assert "already holds rows" in again.output and "empty database" in again.output
    with History(postgres_url) as history:
        assert len(history.runs("portal-login")) == count


def test_db_upgrade_brings_the_shared_database_to_the_newest_revision(
    postgres_url: str, tmp_path: Path
) -> None:
    result = CliRunner().invoke(
        app, ["checks", "db", "upgrade", "--url", postgres_url, "--data", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    assert "history" in result.output and "tickets" in result.output and "revision 0001" in result.output
    assert "postgresql" in result.output
