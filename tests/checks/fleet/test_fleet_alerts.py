"""The flapping login of the checks issue, on Celery with two workers: runs of one check finishing together
on two workers still open exactly one ticket (the policy is decided under the check's lock); and nothing the
fleet keeps (the shared PostgreSQL history and tickets, the evidence root, the data folder, the logs) holds the
password the runs typed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from celery import Celery
from conftest import MONITOR_PASSWORD, Fleet, Proc, checks_yaml
from support.leakscan import Findings, assert_no_secrets, scan_postgres

from automation.checks.config.load import load_checks
from automation.checks.config.schedule import previous_tick
from automation.checks.fleet.celery_app import QUEUE, RUN_TASK
from automation.sandbox import SandboxServer
from automation.tickets import TicketStore

pytestmark = pytest.mark.browser

CHECK = "portal-login"
ALERTING = f"""\
  {CHECK}:
    runbook: synthetic-login
    every: 1m
    alert:
      after: {{failures: 3, within: 15m}}
      recover_after: 2
      channels: [ticket]
"""


def test_a_flapping_login_on_two_workers_opens_exactly_one_ticket(
    fleet: Fleet, sandbox: SandboxServer, redis: object
) -> None:
    (fleet.folder / "checks.yaml").write_text(checks_yaml(ALERTING))
    workers = [fleet.start("worker"), fleet.start("worker")]
    for worker in workers:  # both consume before the first pair goes out, so each takes one of a pair
        fleet.wait_for(f"{worker.name} ready", worker.ready)
    sender = Celery(broker=redis.url)  # type: ignore[attr-defined]
    # Ticks on the check's schedule (a worker refuses any other) and recent enough to run (fleet.ticks.judge):
    # the test sends them itself, one pair at a time, instead of a beat.
    schedule = load_checks(fleet.folder / "checks.yaml").checks[CHECK].schedule
    start = previous_tick(schedule, datetime.now(UTC) - timedelta(minutes=8))
    assert start is not None
    pairs: list[list[str]] = []  # the task ids of each pair

    def pair(fail: bool) -> None:
        """Two ticks at once, one on each worker (prefetch 1); with `fail`, both logins get a 500."""
        if fail:
            rule = {"route": "/auth/login", "method": "GET", "status": 500, "times": 2}
            faults = sandbox.urls["portal"] + "/_sandbox/faults"
            httpx.post(faults, json=rule, headers=sandbox.control_headers, timeout=5).raise_for_status()
        sent = 2 * len(pairs)
        ticks = [(start + timedelta(minutes=sent + i)).isoformat() for i in range(2)]
        pairs.append([sender.send_task(RUN_TASK, args=(CHECK, t), queue=QUEUE).id for t in ticks])
        fleet.wait_for(f"{sent + 2} recorded runs", lambda: len(fleet.runs(CHECK)) == sent + 2, timeout_s=120)

    pair(fail=True)
    pair(fail=False)
    # the third and fourth failures within 15 m, settled by two workers at about the same time
    pair(fail=True)
    # A run is recorded before its policy is applied and its notifications delivered: wait for the outbox
    # to be empty (the opening and the repeat failure delivered), whatever the deliveries did.
    fleet.wait_for(
        "the alert and the repeat failure delivered",
        lambda: _delivered(fleet.notifications(CHECK)),
        timeout_s=60,
        then=lambda: _listed(fleet.notifications(CHECK)),
    )
    fleet.stop()

    runs = fleet.runs(CHECK)
    assert [r.status for r in runs] == ["failed", "failed", "passed", "passed", "failed", "failed"]
    _assert_each_pair_ran_on_both_workers_at_once(pairs, workers, runs)
    # The shared database was read, history and tickets both: the runbook's name is in their rows (no secret).
    read = _tables(scan_postgres(fleet.database_url, ["synthetic-login"]))
    assert {"runs", "notifications", "tickets"} <= read, read
    # Not the environments file, which holds the password on purpose: the rest of what the fleet keeps.
    kept = [fleet.folder / "evidence", fleet.folder / "data", *(p.log for p in fleet.procs)]
    assert_no_secrets(kept, [MONITOR_PASSWORD], databases=[fleet.database_url])

    tickets = TicketStore(fleet.folder / "data").list()
    assert len(tickets) == 1 and tickets[0].state == "open", tickets
    assert CHECK in tickets[0].ticket.title
    comments = [c.body for c in tickets[0].comments]
    assert len(comments) == 1 and comments[0].startswith("Failed again"), _listed(fleet.notifications(CHECK))
    # the evidence is under the fleet's shared root (RUNBOOK_EVIDENCE_ROOT), where the status page finds it
    evidence = fleet.folder / "evidence" / "checks" / CHECK
    assert tickets[0].ticket.evidence_dir is not None
    assert Path(tickets[0].ticket.evidence_dir).resolve().is_relative_to(evidence.resolve())
    assert all(
        a.evidence_dir and (Path(a.evidence_dir) / "run.json").exists() for r in runs for a in r.attempts
    )


def _assert_each_pair_ran_on_both_workers_at_once(
    pairs: list[list[str]], workers: list[Proc], runs: list[Any]
) -> None:
    """What the test claims of its pairs: the two ticks went to the two workers and their runs overlapped."""
    took = {w.name: w.received() for w in workers}
    for ids in pairs:
        on = sorted(name for name, got in took.items() for i in ids if i in got)
        assert on == sorted(took), f"the pair's tasks {ids} were taken by {on}, not one by each worker"
    for first, second in zip(runs[::2], runs[1::2], strict=True):  # runs by tick: a pair's ticks are adjacent
        spans = " then ".join(
            f"{r.started_at:%H:%M:%S.%f}-{r.finished_at:%H:%M:%S.%f}" for r in (first, second)
        )
        overlap = first.started_at < second.finished_at and second.started_at < first.finished_at
        assert overlap, f"a pair's runs one after the other: {spans}"


def _tables(findings: Findings) -> set[str]:
    """The tables (without their schema) where the findings are."""
    return {
        f.where.partition("#")[2].split(".")[-2].split("[")[0] for f in findings.secrets if "#" in f.where
    }


def _delivered(notes: list[dict[str, Any]]) -> bool:
    return sorted(n["kind"] for n in notes) == ["failed-again", "opened"] and all(
        n["status"] == "delivered" for n in notes
    )


def _listed(notes: list[dict[str, Any]]) -> str:
    return "notifications:" + "".join(f"\n  {n['kind']}: {n['status']}: {n['detail']}" for n in notes)
