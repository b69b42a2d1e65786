"""The console's run rows in the store: queued once per idempotency key, claimed in order by exactly one
executor, their place in the queue, a queued run cancelled at once, and the history search."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from automation.console.runs import records
from automation.console.runs.records import NewRun, RunQuery
from automation.console.store import ConsoleStore

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def new(run_id: str, *, by: str = "ana", key: str | None = None, **more: object) -> NewRun:
    values: dict[str, object] = {
        "id": run_id,
        "runbook": "unknown-login-error",
        "environment": "sandbox",
        "started_by": by,
        "team": "portal-support",
        "via": "session",
        "inputs": {"email": f"{run_id}@example.com"},
        "idempotency_key": key,
        **more,
    }
    return NewRun(**values)  # type: ignore[arg-type]


def queue(store: ConsoleStore, *ids: str) -> list[records.RunRow]:
    return [records.insert_run(store, new(run_id))[0] for run_id in ids]


def test_one_idempotency_key_of_one_person_is_one_run(store: ConsoleStore) -> None:
    first, created = records.insert_run(store, new("r1", key="ticket-1"))
    again, created_again = records.insert_run(store, new("r2", key="ticket-1"))
    assert (created, created_again) == (True, False)
    assert again == first and records.get_run(store, "r2") is None
    other, created_other = records.insert_run(store, new("r3", by="amy", key="ticket-1"))
    assert created_other and other.id == "r3"  # the key is the person's own
    assert records.insert_run(store, new("r4"))[1] and records.insert_run(store, new("r5"))[1]  # no key: each


def test_runs_are_claimed_oldest_first(store: ConsoleStore) -> None:
    queue(store, "a", "b", "c")
    taken = [records.claim_next(store, "w1", now=T0) for _ in range(4)]
    assert [row.id if row else None for row in taken] == ["a", "b", "c", None]
    assert {row.status for row in taken if row} == {"running"}
    assert taken[0] is not None and taken[0].started == T0


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.timing)])
def shared_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ConsoleStore]:
    """The store two executors share: console.db, or PostgreSQL (where only the guarded update keeps a run
    from being claimed twice: there is no database-wide write lock)."""
    url = request.getfixturevalue("postgres_url") if request.param == "postgresql" else None
    with ConsoleStore(tmp_path, url=url) as opened:
        yield opened


def test_two_claimers_take_each_run_exactly_once(shared_store: ConsoleStore) -> None:
    store = shared_store
    ids = [f"run-{n:02}" for n in range(30)]
    queue(store, *ids)
    claimed: dict[str, list[str]] = {"w1": [], "w2": []}
    ready = threading.Barrier(2)

    def claimer(worker: str) -> None:
        ready.wait()
        while (row := records.claim_next(store, worker)) is not None:
            claimed[worker].append(row.id)

    threads = [threading.Thread(target=claimer, args=(w,)) for w in claimed]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    together = claimed["w1"] + claimed["w2"]
    assert sorted(together) == ids  # every run once: none twice, none left
    for taken in claimed.values():
        assert taken == sorted(taken)  # each claimer in queue order


def test_the_queue_position_counts_the_runs_ahead(store: ConsoleStore) -> None:
    a, b, c = queue(store, "a", "b", "c")
    assert [records.queue_position(store, row) for row in (a, b, c)] == [1, 2, 3]
    records.claim_next(store, "w1")
    assert records.queue_position(store, records.get_run(store, "a")) is None  # running: not in the queue
    assert [records.queue_position(store, records.get_run(store, n)) for n in "bc"] == [1, 2]
    records.request_cancel(store, "b", "lee")
    assert records.queue_position(store, records.get_run(store, "c")) == 1


def test_a_queued_run_cancelled_ends_at_once_and_a_running_one_is_asked_to_stop(store: ConsoleStore) -> None:
    queue(store, "a", "b")
    records.claim_next(store, "w1")
    assert records.request_cancel(store, "b", "lee", now=T0) == "queued"
    ended = records.get_run(store, "b")
    assert ended is not None
    assert (ended.status, ended.finished, ended.cancel_requested_by) == ("cancelled", T0, "lee")
    assert "lee" in (ended.summary or "")
    assert records.claim_next(store, "w2") is None  # never runs
    assert records.request_cancel(store, "a", "lee") == "running"
    running = records.get_run(store, "a")
    assert running is not None and running.status == "running"  # its executor stops it
    assert records.cancel_requested(store, "a") == "lee"
    assert records.request_cancel(store, "b", "lee") is None  # ended already
    assert records.request_cancel(store, "nope", "lee") is None


def test_set_status_never_overwrites_an_ending(store: ConsoleStore) -> None:
    queue(store, "a")
    records.claim_next(store, "w1")
    records.set_status(store, "a", "waiting")
    assert records.get_run(store, "a").status == "waiting"  # type: ignore[union-attr]
    records.finish(store, "a", status="passed", outcome="fixed", summary="s", error=None, result={"x": 1})
    records.set_status(store, "a", "running")
    done = records.get_run(store, "a")
    assert done is not None and (done.status, done.outcome, done.result) == ("passed", "fixed", {"x": 1})


def test_the_history_finds_runs_by_runbook_outcome_person_and_email(store: ConsoleStore) -> None:
    records.insert_run(store, new("a", inputs={"email": "Jo.Smith@Example.com"}), now=T0)
    records.insert_run(store, new("b", by="amy", runbook="resend-verify"), now=T0 + timedelta(hours=1))
    records.insert_run(
        store, new("c", inputs={"email": "jo.smithers@example.com"}), now=T0 + timedelta(hours=2)
    )
    for _ in "abc":
        records.claim_next(store, "w1")
    records.finish(
        store, "a", status="passed", outcome="fixed-by-reset", summary=None, error=None, result=None
    )
    records.finish(store, "b", status="cancelled", outcome=None, summary=None, error=None, result=None)

    def ids(**query: object) -> list[str]:
        return [row.id for row in records.search_runs(store, RunQuery(**query))]  # type: ignore[arg-type]

    assert ids() == ["c", "b", "a"]  # newest first
    assert ids(runbook="resend-verify") == ["b"]
    assert ids(outcome="fixed-by-reset") == ["a"]
    assert ids(outcome="cancelled") == ["b"]  # a status is an outcome to search by
    assert ids(user="amy") == ["b"]
    assert ids(q="jo.smith@example.com") == ["a"]  # case ignored
    assert ids(q="JO.SMITH") == ["c", "a"]
    assert ids(q="smith example.com", user="ana") == ["c", "a"]  # every word
    assert ids(q="%") == [] and ids(q="_") == []  # LIKE's wildcards are plain characters
    assert ids(since=T0 + timedelta(minutes=30), until=T0 + timedelta(hours=2)) == ["b"]
    assert ids(limit=1) == ["c"]
