"""Two real `runbook server` processes on one host and one console.db, as two replicas are: the second's start
leaves the first's running run alone; once the first is killed (no clean stop) and its lease has gone stale,
the second ends that run as `error` by itself; a clean stop gives the lease back.

The run is one the first server claimed in the store (a run of its pool, without a browser): what is tested is
who ends it. The first server's lease is aged in the store after the kill rather than waited out (the grace is
15 s), so the wait is for the survivor's next heartbeat, a few seconds.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from support.console_server import ConsoleProcess, console_server, server_env, wait_for

from automation.console.runs import leases, records
from automation.console.runs.records import NewRun
from automation.console.store import now_utc
from automation.store.tables.console import executor_leases

pytestmark = pytest.mark.timing

CONSOLE_YAML = """\
teams:
  portal-support:
    runbooks: [reset-password]
server:
  secure_cookie: false
  concurrency: 1
"""


@pytest.fixture
def replicas(tmp_path: Path) -> Iterator[tuple[ConsoleProcess, ConsoleProcess]]:
    """The first server started; the second made to share its data folder, not started."""
    with ExitStack() as stack:
        first = stack.enter_context(console_server(tmp_path / "first", CONSOLE_YAML))
        folder = tmp_path / "second"
        folder.mkdir()
        (folder / "console.yaml").write_text(CONSOLE_YAML, encoding="utf-8")
        second = ConsoleProcess(folder, server_env(folder, RUNBOOK_DATA=str(first.data)))
        stack.callback(second.stop)
        yield first, second


def lease_ids(server: ConsoleProcess) -> set[str]:
    with server.store() as store:
        return {found.id for found in leases.read_leases(store)}


def run_status(server: ConsoleProcess, run_id: str) -> str:
    with server.store() as store:
        row = records.get_run(store, run_id)
    assert row is not None
    return row.status


def test_a_second_replica_on_the_host_leaves_the_first_s_run_and_ends_it_once_the_first_is_gone(
    replicas: tuple[ConsoleProcess, ConsoleProcess],
) -> None:
    first, second = replicas
    (worker,) = lease_ids(first)
    assert worker.startswith(os.uname().nodename[:64] + ":")
    with first.store() as store:
        records.insert_run(store, NewRun("r-1", "reset-password", "sandbox", "ana", None, "session", {}))
        claimed = records.claim_next(store, worker)  # as the first server's pool takes it
    assert claimed is not None

    second.start(second.folder / "console.yaml")  # printed its address: its start-up sweep is done
    assert run_status(first, "r-1") == "running"
    assert len(lease_ids(first)) == 2

    assert first.proc is not None
    first.proc.send_signal(signal.SIGKILL)  # a crash: no clean stop, the lease stays behind
    first.proc.wait(timeout=30)
    with first.store() as store, store.transaction() as conn:
        long_ago = now_utc() - leases.GRACE - timedelta(minutes=1)
        conn.execute(
            update(executor_leases).where(executor_leases.c.id == worker).values(heartbeat_at=long_ago)
        )
    wait_for(
        lambda: run_status(first, "r-1") == "error",
        within_s=60,
        failure=lambda: f"the second server never ended the run: {second.output()}",
    )
    (survivor,) = lease_ids(first)  # the dead worker's lease went with its run
    assert survivor != worker

    second.stop()  # SIGTERM: a clean stop
    assert lease_ids(first) == set()
