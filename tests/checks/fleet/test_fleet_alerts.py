"""The flapping login of the checks issue, on Celery with two workers: runs of one check finishing together
on two workers still open exactly one ticket (the policy is decided under the check's lock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from celery import Celery
from conftest import Fleet, checks_yaml

from automation.checks.fleet.celery_app import QUEUE, RUN_TASK
from automation.sandbox import SandboxServer
from automation.tickets import TicketStore

pytestmark = pytest.mark.browser

CHECK = "portal-login"
ALERTING = f"""\
  {CHECK}:
    runbook: synthetic-login
    every: 1h
    alert:
      after: {{failures: 3, within: 15m}}
      recover_after: 2
      channels: [ticket]
"""


def test_a_flapping_login_on_two_workers_opens_exactly_one_ticket(
    fleet: Fleet, sandbox: SandboxServer, redis: object
) -> None:
    (fleet.folder / "checks.yaml").write_text(checks_yaml(ALERTING))
    fleet.start("worker")
    fleet.start("worker")
    sender = Celery(broker=redis.url)  # type: ignore[attr-defined]
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    sent = 0

    def pair(fail: bool) -> None:
        """Two ticks at once, one on each worker (prefetch 1); with `fail`, both logins get a 500."""
        nonlocal sent
        if fail:
            rule = {"route": "/auth/login", "method": "GET", "status": 500, "times": 2}
            httpx.post(sandbox.urls["portal"] + "/_sandbox/faults", json=rule, timeout=5).raise_for_status()
        for _ in range(2):
            tick = start + timedelta(minutes=sent)
            sender.send_task(RUN_TASK, args=(CHECK, tick.isoformat()), queue=QUEUE)
            sent += 1
        fleet.wait_for(f"{sent} recorded runs", lambda: len(fleet.runs(CHECK)) == sent, timeout_s=120)

    pair(fail=True)
    pair(fail=False)
    pair(
        fail=True
    )  # the third and fourth failures within 15 m, settled by two workers at about the same time
    # A run is recorded before its policy is applied and its notifications delivered: wait for those.
    fleet.wait_for("the repeat failure's comment", lambda: _comments(fleet.folder) >= 1, timeout_s=60)
    fleet.stop()

    assert [r.status for r in fleet.runs(CHECK)] == [
        "failed",
        "failed",
        "passed",
        "passed",
        "failed",
        "failed",
    ]
    tickets = TicketStore(fleet.folder / "data").list()
    assert len(tickets) == 1 and tickets[0].state == "open", tickets
    assert CHECK in tickets[0].ticket.title
    assert len(tickets[0].comments) == 1 and tickets[0].comments[0].body.startswith("Failed again")
    # the evidence is under the fleet's shared root (RUNBOOK_EVIDENCE_ROOT), where the status page finds it
    evidence = fleet.folder / "evidence" / "checks" / CHECK
    assert tickets[0].ticket.evidence_dir is not None
    assert Path(tickets[0].ticket.evidence_dir).resolve().is_relative_to(evidence.resolve())
    assert all(
        a.evidence_dir and (Path(a.evidence_dir) / "run.json").exists()
        for r in fleet.runs(CHECK)
        for a in r.attempts
    )


def _comments(folder: Path) -> int:
    return sum(len(t.comments) for t in TicketStore(folder / "data").list())
