"""Executor leases: a worker is alive while its lease was renewed within the grace period; a running or waiting
run is abandoned only when its worker has no live lease. The decisions as pure functions of rows and time,
then the store functions that read and write around them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from automation.console.runs import events, leases, records
from automation.console.runs.leases import GRACE, Lease
from automation.console.runs.records import NewRun
from automation.console.store import ConsoleStore

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TICK = timedelta(microseconds=1)


def lease(worker: str, heartbeat_at: datetime) -> Lease:
    return Lease(id=worker, host="shared-host", started=T0, heartbeat_at=heartbeat_at)


# -- decisions ------------------------------------------------------------------------------------------------


def test_a_lease_is_live_for_the_grace_period_after_its_last_heartbeat_and_stale_after() -> None:
    beat = lease("a", T0)
    assert leases.is_live(beat, T0 + GRACE)
    assert not leases.is_live(beat, T0 + GRACE + TICK)
    assert leases.is_live(beat, T0 - timedelta(seconds=2))  # a checker whose clock is a little behind


def test_stale_workers_are_those_whose_heartbeat_is_older_than_the_grace() -> None:
    now = T0 + timedelta(minutes=1)
    found = [lease("fresh", now - timedelta(seconds=1)), lease("edge", now - GRACE), lease("gone", T0)]
    assert leases.stale_workers(found, now, GRACE) == {"gone"}
    assert leases.stale_workers(found, now, timedelta(hours=1)) == set()
    assert leases.stale_workers([], now) == set()


def test_a_run_is_abandoned_only_when_its_worker_has_no_live_lease() -> None:
    now = T0 + timedelta(minutes=1)
    found = [lease("live", now - timedelta(seconds=3)), lease("crashed", now - GRACE - TICK)]
    live_runs = [("r1", "live"), ("r2", "crashed"), ("r3", "stopped-cleanly"), ("r4", None)]
    assert leases.abandoned_runs(live_runs, found, now) == ["r2", "r3", "r4"]
    assert leases.abandoned_runs(live_runs[:1], found, now) == []


def test_two_workers_of_one_host_and_process_have_different_identities() -> None:
    first, second = leases.new_worker_id("shared-host", 42), leases.new_worker_id("shared-host", 42)
    assert first != second
    assert first.startswith("shared-host:42:") and second.startswith("shared-host:42:")
    assert len(leases.new_worker_id("h" * 300)) <= 120  # fits console_runs.worker


# -- the store ------------------------------------------------------------------------------------------------


def claimed(store: ConsoleStore, run_id: str, worker: str) -> None:
    new = NewRun(run_id, "unknown-login-error", "sandbox", "ana", "portal-support", "session", {})
    records.insert_run(store, new)
    assert records.claim_next(store, worker) is not None


def status(store: ConsoleStore, run_id: str) -> str:
    row = records.get_run(store, run_id)
    assert row is not None
    return row.status


def test_renew_takes_a_lease_then_moves_its_heartbeat(store: ConsoleStore) -> None:
    assert leases.renew(store, "w1", "shared-host", T0) is False  # taken
    assert leases.renew(store, "w1", "shared-host", T0 + timedelta(seconds=5)) is True  # renewed
    assert leases.read_leases(store) == [Lease("w1", "shared-host", T0, T0 + timedelta(seconds=5))]


def test_a_sweep_ends_the_runs_of_gone_workers_and_leaves_live_workers_runs_and_the_queue(
    store: ConsoleStore,
) -> None:
    leases.renew(store, "live", "shared-host", T0)
    leases.renew(store, "crashed", "shared-host", T0)
    claimed(store, "r-live", "live")
    claimed(store, "r-crashed", "crashed")
    claimed(store, "r-nolease", "host:1:1")  # a worker from before leases, or one that stopped cleanly
    records.set_status(store, "r-crashed", "waiting")  # a run waiting on a question is executed too
    records.insert_run(store, NewRun("r-queued", "resend-verify", "sandbox", "ana", None, "session", {}))
    now = T0 + GRACE + timedelta(seconds=1)
    leases.renew(store, "live", "shared-host", now)

    swept = leases.sweep(store, now)

    assert sorted(swept.ended) == ["r-crashed", "r-nolease"] and swept.expired == ["crashed"]
    states = {n: status(store, n) for n in ("r-live", "r-crashed", "r-nolease", "r-queued")}
    assert states == {"r-live": "running", "r-crashed": "error", "r-nolease": "error", "r-queued": "queued"}
    ended = records.get_run(store, "r-crashed")
    assert ended is not None and ended.error == leases.ABANDONED_ERROR and ended.finished == now
    last = events.events_after(store, "r-crashed")[-1]  # a page watching the run is told why it ended
    assert last.kind == "finished" and last.data["error"] == leases.ABANDONED_ERROR
    assert [found.id for found in leases.read_leases(store)] == ["live"]
    assert leases.sweep(store, now) == leases.Sweep(ended=[], expired=[])  # nothing ends twice


def test_release_gives_the_lease_back(store: ConsoleStore) -> None:
    leases.renew(store, "w1", "shared-host", T0)
    leases.renew(store, "w2", "shared-host", T0)
    leases.release(store, "w1")
    assert [found.id for found in leases.read_leases(store)] == ["w2"]
