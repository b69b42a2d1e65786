"""Executor leases: which executor processes are alive, so that a run is ended as abandoned only when the
process that claimed it is gone.

Each executor process (a console replica's pool; later a Celery worker) has a worker identity, host, pid and a
random part, which is what a run it claims keeps in `console_runs.worker`. It holds a lease row in the store
and renews it every `HEARTBEAT`. A running or waiting run whose worker has no lease renewed within `GRACE`
(none at all: a server stopped cleanly, or one from before leases; or a stale one: a crash, a kill -9, a host
gone) is executed by nobody: any live executor's sweep ends it as `error`, with the evidence it had, and
deletes the stale lease. Two replicas on one host therefore never end each other's runs.

The decisions (`is_live`, `stale_workers`, `abandoned_runs`) are pure functions of the rows and the time; the
store functions only read and write around them. Times are compared with each writer's own clock: replicas
on several hosts need clocks within a few seconds of each other (NTP), far less than `GRACE`.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select, update

from automation.console.store import ConsoleStore
from automation.store.database import lock_for_transaction
from automation.store.tables.console import executor_leases, run_events, runs

HEARTBEAT = timedelta(seconds=5)  # how often a live executor renews its lease and sweeps
GRACE = 3 * HEARTBEAT  # a lease not renewed for this long is a dead worker's (two missed beats are tolerated)
LIVE_RUN = ("running", "waiting")  # the statuses of a run some worker executes (queued ones wait for anyone)
ABANDONED_ERROR = "the server stopped while this run was executing; start it again"
ABANDONED_SUMMARY = "The server stopped during the run."
# Sweeps and renewals take turns (PostgreSQL; SQLite's write transaction holds the file anyway), so a lease is
# never judged stale by one transaction while another renews it.
_LOCK = "console-executor-leases"


@dataclass(frozen=True)
class Lease:
    """One executor process as the store knows it."""

    id: str  # the worker identity, as console_runs.worker names it
    host: str
    started: datetime
    heartbeat_at: datetime


@dataclass(frozen=True)
class Sweep:
    """What one sweep did: the runs it ended as abandoned, the stale leases it deleted."""

    ended: list[str]
    expired: list[str]


def this_host() -> str:
    return os.uname().nodename[:64]  # a worker id fits console_runs.worker (120) with room for pid and random


def new_worker_id(host: str | None = None, pid: int | None = None) -> str:
    """'host:pid:random': unique per process even when two share a host and (in containers) a pid."""
    return f"{(host or this_host())[:64]}:{pid if pid is not None else os.getpid()}:{secrets.token_hex(4)}"


# -- decisions ------------------------------------------------------------------------------------------------


def is_live(lease: Lease, now: datetime, grace: timedelta = GRACE) -> bool:
    """Renewed within `grace` of `now` (a renewal stamped a little after `now`, by a clock ahead, is live)."""
    return now - lease.heartbeat_at <= grace


def stale_workers(leases: Iterable[Lease], now: datetime, grace: timedelta = GRACE) -> set[str]:
    """The workers whose lease was last renewed more than `grace` before `now`."""
    return {lease.id for lease in leases if not is_live(lease, now, grace)}


def abandoned_runs(
    live_runs: Iterable[tuple[str, str | None]],
    leases: Iterable[Lease],
    now: datetime,
    grace: timedelta = GRACE,
) -> list[str]:
    """Of the (run id, worker) of the running and waiting runs, those no live lease vouches for: their worker
    has no lease at all, or a stale one."""
    alive = {lease.id for lease in leases if is_live(lease, now, grace)}
    return [run_id for run_id, worker in live_runs if worker not in alive]


# -- the store ------------------------------------------------------------------------------------------------


def _lease(found: Any) -> Lease:
    return Lease(id=found.id, host=found.host, started=found.started, heartbeat_at=found.heartbeat_at)


def read_leases(store: ConsoleStore) -> list[Lease]:
    with store.reading() as conn:
        return [
            _lease(found) for found in conn.execute(select(executor_leases).order_by(executor_leases.c.id))
        ]


def renew(store: ConsoleStore, worker: str, host: str, now: datetime) -> bool:
    """Take or renew the worker's lease at `now`; True when it was there already. A lease found missing is made
    again: another executor found it stale (this process paused, or the store unreachable, for longer than
    the grace) and ended its runs, but the worker is alive and the runs it claims next need a lease."""
    with store.transaction() as conn:
        lock_for_transaction(conn, _LOCK)
        renewed = conn.execute(
            update(executor_leases).where(executor_leases.c.id == worker).values(heartbeat_at=now)
        )
        if renewed.rowcount == 1:
            return True
        conn.execute(insert(executor_leases).values(id=worker, host=host, started=now, heartbeat_at=now))
        return False


def release(store: ConsoleStore, worker: str) -> None:
    """A clean stop: the worker is gone, its lease with it (runs left live by it are then ended at once by the
    next sweep, instead of after the grace)."""
    with store.transaction() as conn:
        lock_for_transaction(conn, _LOCK)
        conn.execute(delete(executor_leases).where(executor_leases.c.id == worker))


def sweep(store: ConsoleStore, now: datetime, grace: timedelta = GRACE) -> Sweep:
    """End as `error` every running or waiting run whose worker has no live lease, each with a `finished`
    event (a page watching it learns why at once), and delete the stale leases. Queued runs stay queued."""
    with store.transaction() as conn:
        lock_for_transaction(conn, _LOCK)
        leases = [_lease(found) for found in conn.execute(select(executor_leases))]
        live_runs = conn.execute(select(runs.c.id, runs.c.worker).where(runs.c.status.in_(LIVE_RUN))).all()
        ended = abandoned_runs(((found.id, found.worker) for found in live_runs), leases, now, grace)
        for run_id in ended:
            _end_abandoned(conn, run_id, now)
        expired = sorted(stale_workers(leases, now, grace))
        if expired:
            conn.execute(delete(executor_leases).where(executor_leases.c.id.in_(expired)))
        return Sweep(ended=ended, expired=expired)


def _end_abandoned(conn: Any, run_id: str, now: datetime) -> None:
    conn.execute(
        update(runs)
        .where(runs.c.id == run_id, runs.c.status.in_(LIVE_RUN))
        .values(status="error", error=ABANDONED_ERROR, summary=ABANDONED_SUMMARY, finished=now)
    )
    finished = {"status": "error", "outcome": None, "summary": ABANDONED_SUMMARY, "error": ABANDONED_ERROR}
    conn.execute(insert(run_events).values(run_id=run_id, kind="finished", data=json.dumps(finished), at=now))
