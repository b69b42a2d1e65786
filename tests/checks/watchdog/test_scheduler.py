"""The scheduler with a simulated clock and a stand-in for the browser run: hours of ticks in seconds.
(The browser paths are proven in tests/checks/test_checks_e2e.py.)"""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from automation.checks.config.load import Check, ChecksConfig, load_checks
from automation.checks.model import CheckRun
from automation.checks.storage.history import History
from automation.checks.watchdog.run_check import Host
from automation.checks.watchdog.scheduler import Scheduler

CHECKS = """\
defaults:
  timezone: Europe/London
  retries: {attempts: 1}
maintenance:
  - name: nightly backup
    start: 2026-11-01 02:00
    duration: 1h
    repeat: daily
    checks: [portal-login]
checks:
  portal-login:
    runbook: synthetic-login
    every: 5m
  verification-email:
    runbook: resend-verify
    inputs: {email: unverified@example.com}
    cron: "*/30 8-18 * * 1-5"
"""

DAY = datetime(2026, 12, 1, tzinfo=UTC)  # a Tuesday; London is on UTC in December


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


class FakeRuns:
    """Stands in for the browser: each run passes (or fails when told) at once, and is counted."""

    def __init__(self, clock: Clock, failing: set[str] | None = None) -> None:
        self.clock, self.failing = clock, failing or set()
        self.calls: list[tuple[str, datetime]] = []
        self.busy: set[str] = set()
        self.lock = threading.Lock()

    def __call__(self, check: Check, tick: datetime, host: Host, *, deadline: Any = None) -> CheckRun:
        with self.lock:
            assert check.name not in self.busy, "two runs of one check at once"
            self.busy.add(check.name)
        self.calls.append((check.name, tick))
        status = "failed" if check.name in self.failing else "passed"
        with self.lock:
            self.busy.discard(check.name)
        return CheckRun(
            check=check.name,
            runbook=check.runbook,
            env=check.env,
            scheduled_at=tick,
            started_at=self.clock(),
            finished_at=self.clock(),
            status=status,
            duration_s=1.0,
            summary=status,
        )


@pytest.fixture
def config(tmp_path: Path) -> ChecksConfig:
    path = tmp_path / "checks.yaml"
    path.write_text(CHECKS)
    return load_checks(path)


def make(
    config: ChecksConfig, tmp_path: Path, start: datetime, **kwargs: Any
) -> tuple[Scheduler, Clock, FakeRuns]:
    clock = Clock(start)
    runs = FakeRuns(clock, kwargs.pop("failing", None))
    host = Host(
        history=History(data_dir=tmp_path / "data"),
        evidence_root=tmp_path / "traces",
        data_dir=tmp_path / "data",
        clock=clock,
    )
    return Scheduler(config, host, concurrency=0, execute=runs, **kwargs), clock, runs


def simulate(scheduler: Scheduler, clock: Clock, until: datetime, step_s: float = 20) -> None:
    while clock.now < until:
        clock.now += timedelta(seconds=step_s)
        scheduler.tick(clock.now)


def in_day(ticks: list[datetime]) -> list[datetime]:
    return [t for t in ticks if DAY <= t < DAY + timedelta(days=1)]


def test_a_day_of_ticks_gives_the_exact_runs_none_twice_and_records_the_skipped(
    config: ChecksConfig, tmp_path: Path
) -> None:
    scheduler, clock, runs = make(config, tmp_path, DAY - timedelta(minutes=1))
    simulate(scheduler, clock, DAY + timedelta(days=1))
    portal = in_day([t for name, t in runs.calls if name == "portal-login"])
    email = in_day([t for name, t in runs.calls if name == "verification-email"])
    assert len(portal) == 288 - 12  # every 5 minutes, less the hour of the nightly window
    assert len(set(portal)) == len(portal)
    assert len(email) == 22  # 08:00, 08:30, ... 18:30 on a weekday
    history = scheduler.host.history
    recorded = in_day([r.scheduled_at for r in history.runs("portal-login") if r.status != "skipped"])
    skipped = in_day([r.scheduled_at for r in history.runs("portal-login") if r.status == "skipped"])
    assert sorted(recorded) == sorted(portal)
    assert len(skipped) == 12 and all(t.hour == 2 for t in skipped)


def test_after_downtime_a_check_catches_up_once_not_in_a_burst(config: ChecksConfig, tmp_path: Path) -> None:
    scheduler, clock, runs = make(config, tmp_path, DAY + timedelta(hours=10))
    simulate(scheduler, clock, DAY + timedelta(hours=10, minutes=10))
    before = len(runs.calls)
    clock.now += timedelta(hours=3)  # the scheduler was down for three hours
    scheduler.tick(clock.now)
    caught_up = runs.calls[before:]
    assert [name for name, _ in caught_up] == ["portal-login", "verification-email"]
    assert all(clock.now - t < timedelta(minutes=30) for _, t in caught_up)  # the latest tick only


def test_a_restarted_scheduler_does_not_run_a_claimed_tick_again(
    config: ChecksConfig, tmp_path: Path
) -> None:
    first, clock, runs = make(config, tmp_path, DAY + timedelta(hours=10))
    simulate(first, clock, DAY + timedelta(hours=10, minutes=6))
    second = Scheduler(config, first.host, concurrency=0, execute=runs)
    second.tick(clock.now)
    ticks = [t for name, t in runs.calls if name == "portal-login"]
    assert len(ticks) == len(set(ticks))


def test_a_failing_check_runs_more_often_while_it_fails(config: ChecksConfig, tmp_path: Path) -> None:
    fast = replace(
        config.checks["portal-login"],
        schedule=replace(config.checks["portal-login"].schedule, while_failing_every_s=60),
    )
    config = replace(config, checks={"portal-login": fast})
    scheduler, clock, runs = make(config, tmp_path, DAY + timedelta(hours=10), failing={"portal-login"})
    simulate(scheduler, clock, DAY + timedelta(hours=10, minutes=30))
    assert 25 <= len(runs.calls) <= 31  # every minute once failing, not every 5


def test_one_check_crashing_does_not_stop_the_others(config: ChecksConfig, tmp_path: Path) -> None:
    scheduler, clock, runs = make(config, tmp_path, DAY + timedelta(hours=10))

    def crash_portal(check: Check, tick: datetime, host: Host, *, deadline: Any = None) -> CheckRun:
        if check.name == "portal-login":
            raise RuntimeError("boom")
        return runs(check, tick, host, deadline=deadline)

    scheduler.execute = crash_portal
    simulate(scheduler, clock, DAY + timedelta(hours=10, minutes=50))
    # a new check runs its latest tick at once (09:30), then 10:00 and 10:30
    assert len([n for n, _ in runs.calls if n == "verification-email"]) == 3
    crashed = scheduler.host.history.runs("portal-login")
    assert crashed and all(r.status == "error" and "boom" in r.summary for r in crashed)


def test_time_waiting_for_a_worker_is_not_taken_from_a_runs_time_limit(
    config: ChecksConfig, tmp_path: Path
) -> None:
    scheduler, clock, runs = make(config, tmp_path, DAY + timedelta(hours=10))
    scheduler.concurrency = 1  # two checks due, one worker: the second waits for the first
    ends: list[float] = []  # when each run's time limit runs out (time.monotonic()), as the run sees it
    started, release = (threading.Event(), threading.Event()), threading.Event()

    def held(check: Check, tick: datetime, host: Host, *, deadline: Any = None) -> CheckRun:
        ends.append(deadline.remaining() + time.monotonic())  # never before the limit's true end
        started[len(ends) - 1].set()
        release.wait(60)  # the first run holds the only worker until the test lets it go
        return runs(check, tick, host, deadline=deadline)

    scheduler.execute = held
    assert len(scheduler.tick(clock.now)) == 2
    assert started[0].wait(60), "the first run never started"
    # The second check's time in the queue, the behaviour under test (a wait for nothing): the assertion below
    # holds however long it is; its length only makes a limit counted from the tick fall visibly short.
    time.sleep(0.5)
    released = time.monotonic()
    release.set()
    assert started[1].wait(60), "the second run never started"
    assert scheduler.shutdown() == []  # it ran to its end (within the scheduler's grace): nothing cut
    timeout = config.checks["portal-login"].timeout_s
    # The second run began after the release, so a limit counted from its start ends after released + timeout,
    # whatever the machine's speed; one counted from the tick would have lost the time in the queue.
    assert len(ends) == 2 and ends[1] >= released + timeout


def test_a_crash_whose_text_holds_a_secret_is_stored_and_served_masked(
    config: ChecksConfig, tmp_path: Path
) -> None:
    from fastapi.testclient import TestClient
    from support.leakscan import scan, scan_bytes

    from automation.checks.web.app import create_app

    password = "Sched-Crash-Pw 4!"

    class Target:
        credentials = {"portal_monitor": {"user": "monitor@example.com", "password": password}}

    scheduler, clock, _ = make(config, tmp_path, DAY)
    scheduler.host.target_for = lambda env: Target()

    def crash(check: Check, tick: datetime, host: Host, *, deadline: Any = None) -> CheckRun:
        raise RuntimeError(f"the login page said: wrong password {password!r}")  # a library echoing a value

    scheduler.execute = crash
    simulate(scheduler, clock, DAY + timedelta(minutes=6))
    crashed = scheduler.host.history.runs("portal-login")
    assert crashed and all(r.status == "error" and "[REDACTED]" in r.summary for r in crashed)
    page = TestClient(create_app(scheduler.host.history, [c.info() for c in config.checks.values()],
                                 metrics=scheduler.host.metrics, evidence_root=tmp_path / "traces",
                                 clock=scheduler.host.clock))  # fmt: skip
    served = page.get("/").content + page.get("/api/status").content
    assert b"wrong password" in served  # the summary is served, without the value
    findings = scan_bytes(served, [password], "status page and /api/status") + scan(
        tmp_path / "data", [password]
    )
    assert findings.clean, str(findings)
