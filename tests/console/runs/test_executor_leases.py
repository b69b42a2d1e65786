"""Two console executors on one store, as two replicas on one host are: each holds a lease, so starting the second
leaves the first's runs alone; a run whose worker stopped renewing its lease is ended as `error` by the other's
periodic check; a clean stop gives the lease back.

The executors run no pool threads here (concurrency 0): a test claims runs in an executor's name, as its pool
would, and each executor has a clock of its own, so a heartbeat is "stale" by the clock's say, never by waiting.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from automation.catalog import Catalog
from automation.console.runs import leases, records
from automation.console.runs.executor import Executor, RunSettings
from automation.console.runs.records import NewRun
from automation.console.runs.wakeup import Wakeup
from automation.console.store import ConsoleStore

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
QUIET = timedelta(hours=1)  # a heartbeat thread that never beats within a test: the test calls beat() itself
HOST = "shared-host"


@dataclass
class Clock:
    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now


def executor(store: ConsoleStore, clock: Clock, heartbeat: timedelta = QUIET) -> Executor:
    return Executor(
        store, Wakeup(), Catalog([]), RunSettings(), concurrency=0,
        worker=leases.new_worker_id(HOST), host=HOST, heartbeat=heartbeat, clock=clock,
    )  # fmt: skip


@contextmanager
def started(*executors: Executor) -> Iterator[None]:
    try:
        for each in executors:
            each.start()
        yield
    finally:
        for each in executors:
            each.stop()


def run_of(store: ConsoleStore, worker: Executor, run_id: str) -> str:
    """A run the executor's pool took, as its thread would."""
    new = NewRun(run_id, "unknown-login-error", "sandbox", "ana", "portal-support", "session", {})
    records.insert_run(store, new)
    claimed = records.claim_next(store, worker.worker)
    assert claimed is not None and claimed.id == run_id
    return run_id


def status(store: ConsoleStore, run_id: str) -> str:
    row = records.get_run(store, run_id)
    assert row is not None
    return row.status


def test_a_second_executor_on_the_same_host_leaves_the_first_s_runs_running(store: ConsoleStore) -> None:
    first = executor(store, Clock())
    second = executor(store, Clock(T0 + timedelta(seconds=2)))
    with started(first):
        running = run_of(store, first, "r-running")
        waiting = run_of(store, first, "r-waiting")
        records.set_status(store, waiting, "waiting")
        with started(second):  # the same host name, even the same process id: another worker
            assert {status(store, running), status(store, waiting)} == {"running", "waiting"}
            second.beat()
            assert {status(store, running), status(store, waiting)} == {"running", "waiting"}
        assert {found.id for found in leases.read_leases(store)} == {first.worker}


def test_a_run_whose_worker_s_heartbeat_is_stale_is_ended_by_another_live_executor(
    store: ConsoleStore,
) -> None:
    crashed_clock, live_clock = Clock(), Clock()
    crashed, live = executor(store, crashed_clock), executor(store, live_clock)
    with started(crashed, live):
        theirs = run_of(store, crashed, "r-crashed")
        ours = run_of(store, live, "r-live")
        live_clock.now = T0 + leases.GRACE  # the crashed one's last heartbeat is just within the grace
        assert live.beat().ended == []
        live_clock.now = T0 + leases.GRACE + timedelta(seconds=1)  # ...and now past it

        swept = live.beat()

        assert swept.ended == [theirs] and swept.expired == [crashed.worker]
        assert (status(store, theirs), status(store, ours)) == ("error", "running")
        ended = records.get_run(store, theirs)
        assert (
            ended is not None
            and ended.error == "the server stopped while this run was executing; start it again"
        )


def test_the_heartbeat_thread_ends_a_crashed_worker_s_run_by_itself(store: ConsoleStore) -> None:
    live_clock = Clock(T0 + timedelta(seconds=1))
    crashed = executor(store, Clock())  # its thread is quiet and its clock stays: no heartbeat after T0
    live = executor(store, live_clock, heartbeat=timedelta(milliseconds=20))
    with started(crashed, live):
        run_id = run_of(store, crashed, "r-crashed")
        seen = live.wake.generation(run_id)
        assert status(store, run_id) == "running"  # the live one's start found the other alive
        live_clock.now = T0 + timedelta(minutes=5)  # nothing calls beat(): only the thread can end the run
        ended = status(store, run_id) == "error"
        for _ in range(30):  # a bound, not a delay: each turn waits for the run's ring (1 s at most)
            if ended:
                break
            seen = live.wake.wait(run_id, seen, timeout_s=1.0)
            ended = status(store, run_id) == "error"
        assert ended, "the live executor's heartbeat thread never ended the crashed worker's run"


def test_the_periodic_check_ends_a_run_its_start_could_not(store: ConsoleStore) -> None:
    """A replica that crashes while another runs: nobody restarts it, its run still ends."""
    crashed_clock, live_clock = Clock(), Clock(T0 + timedelta(seconds=1))
    crashed, live = executor(store, crashed_clock), executor(store, live_clock)
    with started(crashed, live):
        run_id = run_of(store, crashed, "r-crashed")
        assert status(store, run_id) == "running"  # live's start found crashed alive
        live_clock.now += leases.GRACE * 2
        live.beat()  # what its heartbeat thread does every few seconds
        assert status(store, run_id) == "error"


def test_a_clean_stop_gives_the_lease_back_and_its_left_runs_end_at_once(store: ConsoleStore) -> None:
    first, second = executor(store, Clock()), executor(store, Clock())
    with started(first):
        assert [found.id for found in leases.read_leases(store)] == [first.worker]
        left = run_of(store, first, "r-left")  # as a run whose thread did not end within stop's timeout
    assert leases.read_leases(store) == []
    with started(second):  # at the same instant: no grace to wait for, the worker is known to be gone
        assert status(store, left) == "error"
        assert [found.id for found in leases.read_leases(store)] == [second.worker]


def test_a_worker_whose_lease_lapsed_takes_it_again_at_its_next_beat(store: ConsoleStore) -> None:
    paused_clock, other_clock = Clock(), Clock()
    paused, other = executor(store, paused_clock), executor(store, other_clock)
    with started(paused, other):
        other_clock.now = paused_clock.now = T0 + leases.GRACE * 2
        other.beat()  # finds the paused one stale
        assert paused.worker not in {found.id for found in leases.read_leases(store)}
        paused.beat()
        assert paused.worker in {found.id for found in leases.read_leases(store)}
