"""Two workers and two beats on a 5 s check for about a minute, through a worker killed mid-run, the killed
beat that held RedBeat's lock, and a Redis restart: every tick is recorded exactly once, none is lost."""

from __future__ import annotations

import os
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import Fleet, Proc, checks_yaml, descendants

from automation.checks.fleet.ticks import LOCK_TIMEOUT_MIN_S

pytestmark = pytest.mark.browser

CHECK = "portal-login"
INTERVAL_S = 5.0


def _mid_run_child(workers: list[Proc]) -> int | None:
    """A worker's pool process with a page open in its Chromium (a run under way), if any."""
    for worker in workers:
        for child in worker.children():
            for pid in descendants(child):
                try:
                    if b"--type=renderer" in Path(f"/proc/{pid}/cmdline").read_bytes():
                        return child
                except OSError:
                    continue
    return None


def _recorded(fleet: Fleet) -> list[datetime]:
    return [r.scheduled_at for r in fleet.runs(CHECK)]


def _lock_holder(beats: list[Proc]) -> Proc | None:
    holders = [b for b in beats if b.popen.poll() is None and "Acquired lock" in b.text()]
    return holders[0] if len(holders) == 1 else None


def test_every_tick_runs_once_through_a_killed_worker_a_killed_beat_and_a_redis_restart(
    fleet: Fleet, redis: object
) -> None:
    (fleet.folder / "checks.yaml").write_text(
        checks_yaml(f"  {CHECK}:\n    runbook: synthetic-login\n    every: {INTERVAL_S:g}s\n")
    )
    workers = [fleet.start("worker"), fleet.start("worker")]
    beats = [fleet.start("beat"), fleet.start("beat")]
    fleet.wait_for("three recorded runs", lambda: len(_recorded(fleet)) >= 3)
    holder = fleet.wait_for("one beat holding the lock", lambda: _lock_holder(beats))

    # kill -9 a worker process in the middle of a run: its tick is handed to a worker again and recorded once
    child = fleet.wait_for("a run under way", lambda: _mid_run_child(workers))
    in_flight = set(fleet.claimed(CHECK)) - set(_recorded(fleet))
    os.kill(child, signal.SIGKILL)
    assert in_flight, "a run was under way, so one claimed tick had no record yet"
    fleet.wait_for("the killed run recorded", lambda: in_flight <= set(_recorded(fleet)))

    # kill the beat that holds the lock: the other takes it and scheduling goes on
    last_before = max(fleet.claimed(CHECK))
    killed_at = datetime.now(UTC)
    os.killpg(holder.popen.pid, signal.SIGKILL)
    other = next(b for b in beats if b is not holder)
    fleet.wait_for("the other beat taking the lock", lambda: "Acquired lock" in other.text())
    resumed = fleet.wait_for(
        "a tick after the takeover", lambda: [t for t in _recorded(fleet) if t > last_before]
    )
    # RedBeat's lock times out after LOCK_TIMEOUT_MIN_S here (the 5 s interval is below the floor); the
    # standby polls for it every second and sends the tick then due.
    assert min(resumed) <= killed_at + timedelta(seconds=LOCK_TIMEOUT_MIN_S + INTERVAL_S + 2)

    # restart Redis: the workers and the beat reconnect, and the check runs again
    redis.restart(down_s=2)  # type: ignore[attr-defined]
    restarted_at = datetime.now(UTC)
    fleet.wait_for(
        "two runs after the Redis restart",
        lambda: len([t for t in _recorded(fleet) if t > restarted_at]) >= 2,
        timeout_s=120,
    )
    time.sleep(1)
    fleet.stop()

    recorded = _recorded(fleet)
    assert len(recorded) == len(set(recorded)), f"a tick recorded twice: {recorded}"
    assert set(fleet.claimed(CHECK)) == set(recorded), "a claimed tick was never recorded (a lost run)"
    # Until the beat was killed, the history holds every tick of the 5 s grid, each once.
    steady = [t for t in recorded if t <= last_before]
    gaps = {(b - a).total_seconds() for a, b in zip(steady, steady[1:], strict=False)}
    assert gaps == {INTERVAL_S}, f"ticks missing before the beat was killed: {steady}"
    assert {r.status for r in fleet.runs(CHECK)} <= {"passed", "aborted"}
