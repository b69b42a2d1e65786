"""The bounded pool that executes the console's runs: `concurrency` threads, each with its own reused browser
(engine/browser.py's per-thread pool) and a fresh context per run, each taking the oldest queued run from the
store and running it through `api.run`. The console has no execution path of its own.

A run that finds its served sandbox leased by another run waits for it, shown as such, never failed. Whatever
happens, the run's row ends with a status and the evidence gathered so far; a fault's traceback goes to the
server log only.

The executor is one worker (leases.py): it holds a lease in the store, renewed by a heartbeat thread of its own,
which also sweeps: a run whose worker's lease has lapsed (that process died) is ended as `error`, at start and
every beat after, by whichever executor is alive. A clean stop gives the lease back.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from automation.catalog import Catalog
from automation.console.runs import leases, records
from automation.console.runs.channel import RunLine, StorePrompter, StoreReporter, stop_probe
from automation.console.runs.external import post_outcome
from automation.console.runs.wakeup import POLL_S, Wakeup
from automation.console.store import ConsoleStore, now_utc
from automation.errors import RunbookError, SandboxInUse
from automation.result import RunResult

log = logging.getLogger("runbook.console")
# A run waiting for another run's lease on a served sandbox asks again in turns this long, hearing a cancel
# or the server's shutdown between two.
SANDBOX_TURN_S = 2.0


@dataclass(frozen=True)
class RunSettings:
    """How the console's runs are run: the environment, how long a question waits, where evidence goes."""

    environment: str | None = None  # None: RUNBOOK_ENV, else the environments file's default
    answer_within: timedelta = timedelta(minutes=10)
    evidence_root: Path | None = None
    chromium: str | None = None
    public_url: str | None = None  # the console's address for links (console.yaml), else RUNBOOK_PUBLIC_URL's


@dataclass(frozen=True)
class Unstored:
    """What a start gives that the store must not keep: secret inputs, and answers given up front (any of
    which may be secret)."""

    inputs: dict[str, Any] = field(default_factory=dict)
    answers: dict[str, Any] = field(default_factory=dict)


class SecretInputs:
    """The unstored part of each queued run, from its start until the run takes it: in this process's memory
    only. After a restart it is gone: a lost answer is asked in the page instead; a lost secret input ends
    the run as an error that says to start it again."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, Unstored] = {}

    def keep(self, run_id: str, values: Unstored) -> None:
        if values.inputs or values.answers:
            with self._lock:
                self._values[run_id] = values

    def take(self, run_id: str) -> Unstored:
        with self._lock:
            return self._values.pop(run_id, Unstored())


@dataclass
class Executor:
    store: ConsoleStore
    wake: Wakeup
    catalog: Catalog
    settings: RunSettings
    concurrency: int = 2
    secrets: SecretInputs = field(default_factory=SecretInputs)
    worker: str = field(default_factory=leases.new_worker_id)  # this process, as its lease and runs name it
    host: str = field(default_factory=leases.this_host)
    heartbeat: timedelta = leases.HEARTBEAT
    grace: timedelta = leases.GRACE
    clock: Callable[[], datetime] = now_utc
    _stopping: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _beating: threading.Thread | None = None
    _held: bool = False  # the lease was taken: a renewal that finds none after that means it had lapsed

    def start(self) -> None:
        """Take the lease, end the runs of workers that are gone, then start the pool's threads and the
        heartbeat. Runs of live workers (another replica, on this host or not) are left alone."""
        self.beat()  # the lease is there before the first claim: a sweep never finds this worker's runs leaseless
        for number in range(self.concurrency):
            thread = threading.Thread(
                target=self._serve, name=f"runbook-run-{number + 1}", args=(self.worker,)
            )
            thread.daemon = True
            thread.start()
            self._threads.append(thread)
        # A thread of its own, not the pool's idle loop: when every pool thread executes a run (a question may
        # hold one for `answer_within`) the lease must still be renewed, or another replica would end those runs.
        self._beating = threading.Thread(target=self._keep_lease, name="runbook-lease", daemon=True)
        self._beating.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        """Stop taking runs; the runs in flight stop at their next step or poll, as `aborted`, their evidence
        saved (a run waiting on a question would otherwise hold the shutdown for its whole time limit). Then
        the lease is given back: this worker is gone."""
        self._stopping.set()
        self.wake.ring("*")
        for thread in self._threads:
            thread.join(timeout_s)
        if self._beating is not None:
            self._beating.join(timeout_s)
        leases.release(self.store, self.worker)

    def beat(self) -> leases.Sweep:
        """Renew this worker's lease, then end the runs of workers whose lease has lapsed (and ring their
        pages): what the heartbeat does every `heartbeat`, and start does first."""
        now = self.clock()
        if not leases.renew(self.store, self.worker, self.host, now) and self._held:
            log.warning(
                "worker %s: its lease had lapsed (a pause, or the store unreachable); taken again",
                self.worker,
            )
        self._held = True
        swept = leases.sweep(self.store, now, self.grace)
        for run_id in swept.ended:
            log.warning("run %s ended: the worker executing it is gone", run_id)
            self.wake.ring(run_id)
        return swept

    def _keep_lease(self) -> None:
        while not self._stopping.wait(self.heartbeat.total_seconds()):
            try:
                self.beat()
            except Exception:  # noqa: BLE001 - the store unreachable for a moment: the next beat tries again
                log.exception("the heartbeat of worker %s failed", self.worker)

    def _serve(self, worker: str) -> None:
        from automation.engine.browser import close_pool, pool

        try:
            seen = self.wake.generation("*")
            while not self._stopping.is_set():
                row = records.claim_next(self.store, worker)
                if row is None:
                    seen = self.wake.wait("*", seen, POLL_S)
                    continue
                self._announce_queue()
                self.run(row)
                # The next run's context is opened now, while no agent waits on it, so its Start shows its first
                # step sooner (a queued run would open one first thing anyway). Not before the first run: a
                # console nobody runs anything on starts no browser.
                if not self._stopping.is_set():
                    pool().prepare(executable_path=self.settings.chromium)
        finally:
            close_pool()

    def _announce_queue(self) -> None:
        """A run left the queue: each run still waiting is told its new place (its page shows it live)."""
        for position, run_id in enumerate(records.queued_ids(self.store), start=1):
            RunLine(self.store, self.wake, run_id).event("status", {"status": "queued", "position": position})

    def run(self, row: records.RunRow) -> None:
        """Execute one claimed run to its end, whatever happens."""
        line = RunLine(self.store, self.wake, row.id, self._stopping)
        line.event("status", {"status": "running"})
        try:
            result = self._execute(row, line)
        except RunbookError as exc:  # refused before a browser started: bad input, configuration, target
            self._end(line, status="error", summary=str(exc).splitlines()[0], error=str(exc))
            return
        except Exception:  # noqa: BLE001 - a fault of ours: the log has the traceback, the agent a message
            log.exception("run %s failed with an unexpected fault", row.id)
            message = "an unexpected fault stopped the run; the server log has the details"
            self._end(line, status="error", summary=message, error=message)
            return
        self._end(
            line,
            status=result.status,
            outcome=result.outcome,
            summary=result.summary,
            error=result.error,
            result=_result_view(result),
        )
        # the agent sees the end first; then the helpdesk ticket it was started from gets the outcome
        posted = post_outcome(row, result, self.settings.public_url)
        if posted:
            records.add_to_result(self.store, row.id, posted)
            self.wake.ring(row.id)

    def _execute(self, row: records.RunRow, line: RunLine) -> RunResult:
        from automation import api

        unstored = self.secrets.take(row.id)
        inputs = {**row.inputs, **unstored.inputs}
        reporter = StoreReporter(line)
        prompter = StorePrompter(line, reporter, self.settings.answer_within)
        told = False
        while True:
            try:
                return api.run(
                    row.runbook,
                    inputs,
                    answers=unstored.answers,
                    env=self.settings.environment,
                    prompter=prompter,
                    reporter=reporter,
                    chromium=self.settings.chromium,
                    evidence_root=self.settings.evidence_root,
                    catalog=self.catalog,
                    run_id=row.id,
                    stop=stop_probe(line),
                    sandbox_wait_s=SANDBOX_TURN_S,
                )
            except SandboxInUse:  # another run holds the served sandbox: wait for it, never fail
                if line.stopped() is not None:
                    raise
                if not told:  # once: the page keeps the note until the run goes on
                    line.event("status", {"status": "running", "note": "waiting for the sandbox"})
                    told = True

    def _end(
        self, line: RunLine, *, status: str, summary: str | None, error: str | None, **more: Any
    ) -> None:
        records.finish(
            self.store,
            line.run_id,
            status=status,
            outcome=more.get("outcome"),
            summary=summary,
            error=error,
            result=more.get("result"),
        )
        line.event(
            "finished",
            {"status": status, "outcome": more.get("outcome"), "summary": summary, "error": error},
        )
        self.wake.ring("*")


def _result_view(result: RunResult) -> dict[str, Any]:
    """What the console keeps of a finished run beside its row: where the evidence is, and the ticket."""
    return {
        "evidence_dir": result.evidence_dir,
        "artifacts": result.artifacts,
        "ticket": result.ticket,
        "exit_code": result.exit_code,
        "duration_s": result.duration_s,
        "steps": len(result.steps),
    }
