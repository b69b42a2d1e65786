"""Two workers and two beats on a 5 s check for about a minute, through a worker killed mid-run, the killed
beat that held RedBeat's lock, and a Redis restart: every tick is recorded exactly once, none is lost."""

from __future__ import annotations

import os
import re
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import Fleet, Proc, checks_yaml, descendants

from automation.checks.fleet.ticks import LOCK_TIMEOUT_MIN_S

pytestmark = pytest.mark.browser

CHECK = "portal-login"
INTERVAL_S = 5.0


def _run_under_way(fleet: Fleet, workers: list[Proc]) -> tuple[int, set[datetime]] | None:
    """A worker's pool process in the middle of a run, and the claimed ticks not yet recorded, seen together."""
    child = _mid_run_child(workers)
    in_flight = set(fleet.claimed(CHECK)) - set(_recorded(fleet)) if child is not None else set()
    return (child, in_flight) if child is not None and in_flight else None


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


_ACQUIRED = re.compile(r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}): [^]]*\] beat: Acquired lock", re.M)


def _acquired_at(beat: Proc) -> datetime | None:
    """When the beat logged taking RedBeat's lock (its log's times are local)."""
    found = _ACQUIRED.search(beat.text())
    return datetime.strptime(found[1], "%Y-%m-%d %H:%M:%S,%f").astimezone(UTC) if found else None


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
    child, in_flight = fleet.wait_for("a run under way", lambda: _run_under_way(fleet, workers))
    os.kill(child, signal.SIGKILL)
    fleet.wait_for("the killed run recorded", lambda: in_flight <= set(_recorded(fleet)))

    # kill the beat that holds the lock: the other takes it and scheduling goes on
    last_before = max(fleet.claimed(CHECK))
    killed_at = datetime.now(UTC)
    os.killpg(holder.popen.pid, signal.SIGKILL)
    other = next(b for b in beats if b is not holder)
    took_over = fleet.wait_for("the other beat taking the lock", lambda: _acquired_at(other))
    resumed = fleet.wait_for(
        "a tick after the takeover", lambda: [t for t in _recorded(fleet) if t > last_before]
    )
    # RedBeat's lock times out after LOCK_TIMEOUT_MIN_S here (the 5 s interval is below the floor) and the
    # standby polls for it every second: it takes over then (an outer limit, generous for a loaded machine),
    # and sends the tick then due at once, not a later one.
    assert took_over - killed_at < timedelta(seconds=3 * LOCK_TIMEOUT_MIN_S)
    assert min(resumed) <= took_over + timedelta(seconds=2 * INTERVAL_S)

    # restart Redis: the workers and the beat reconnect, and the check runs again
    redis.restart(down_s=2)  # type: ignore[attr-defined]
    restarted_at = datetime.now(UTC)
    fleet.wait_for(
        "two runs after the Redis restart",
        lambda: len([t for t in _recorded(fleet) if t > restarted_at]) >= 2,
        timeout_s=120,
    )
    fleet.stop()

    recorded = _recorded(fleet)
    assert len(recorded) == len(set(recorded)), f"a tick recorded twice: {recorded}"
    assert set(fleet.claimed(CHECK)) == set(recorded), "a claimed tick was never recorded (a lost run)"
    # Until the beat was killed, the history holds every tick of the 5 s grid, each once.
    steady = [t for t in recorded if t <= last_before]
    gaps = {(b - a).total_seconds() for a, b in zip(steady, steady[1:], strict=False)}
    assert gaps == {INTERVAL_S}, f"ticks missing before the beat was killed: {steady}"
    assert {r.status for r in fleet.runs(CHECK)} <= {"passed", "aborted"}
