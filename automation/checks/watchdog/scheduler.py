"""The long-running scheduler of `runbook checks serve`: ticks the checks on their schedules, runs the due ones
on a few worker threads (each with its own browser, reused, a fresh context per run), and stops cleanly.

Guarantees, each from one place:
- never two runs of one check at once (`_running`), and never one tick twice (History.claim: a unique row per
  check and tick, which also holds across restarts and between two schedulers on one database);
- after downtime at most one catch-up run per check (schedule.due returns only the latest missed tick);
- on stop, runs in flight get `grace_s` to finish; then their time limit is cut short, so they end `aborted`
  with the evidence gathered so far; worker threads close their browsers, so no Chromium is left behind.

The clock is injected: tests drive `tick(now)` through simulated hours with an inline executor.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from automation.checks.config.load import Check, ChecksConfig
from automation.checks.config.resolved import in_window
from automation.checks.config.schedule import due
from automation.checks.model import FAILING_STATUSES, CheckRun, CheckStatus
from automation.checks.watchdog.run_check import (
    Host,
    execute_check,
    prune,
    secret_inputs,
    secrets_of,
    settle,
    skip_check,
)
from automation.redaction.canon import MIN_SECRET_LENGTH
from automation.redaction.redactor import Redactor

log = logging.getLogger(__name__)

PRUNE_EVERY_S = 3600.0
_STOP = object()


class Deadline:
    """A run's time limit that the scheduler can cut short from another thread (on stop)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._at = time.monotonic() + seconds
        self.reason = "timed-out"
        self.started = False

    def start(self) -> None:
        """The run begins now (a worker took it): time waiting in the queue is not the run's."""
        if not self.started:
            self.started = True
            if self.reason != "aborted":  # a limit cut before the start stays cut
                self._at = time.monotonic() + self.seconds

    def remaining(self) -> float:
        return max(0.0, self._at - time.monotonic())

    def cut(self, seconds: float) -> None:
        self._at, self.reason = min(self._at, time.monotonic() + seconds), "aborted"


class Scheduler:
    """Ticks checks and runs the due ones; `concurrency=0` runs them inline (tests with a simulated clock)."""

    def __init__(
        self,
        config: ChecksConfig,
        host: Host,
        *,
        concurrency: int = 2,
        grace_s: float = 30.0,
        execute: Callable[..., CheckRun] = execute_check,
    ) -> None:
        self.config, self.host, self.concurrency, self.grace_s = config, host, concurrency, grace_s
        self.execute = execute
        self._running: dict[str, Deadline] = {}
        self._lock = threading.Lock()
        self._jobs: queue.Queue[object] = queue.Queue()
        self._workers: list[threading.Thread] = []
        self._last_prune: datetime | None = None
        self.runs_started = 0

    # -- ticking -----------------------------------------------------------------------------------------

    def tick(self, now: datetime | None = None) -> list[str]:
        """Start every check that is due at `now`; returns their names."""
        now = now or self.host.clock()
        started = [c.name for c in self.config.checks.values() if c.enabled and self._start_if_due(c, now)]
        self._housekeeping(now)
        return started

    def _start_if_due(self, check: Check, now: datetime) -> bool:
        with self._lock:
            if check.name in self._running or self.host.stop.is_set():
                return False
        state = self.host.history.state(check.name)
        failing = state.alerting or state.last_status in FAILING_STATUSES
        tick = due(check.schedule, state.last_tick, now, failing=failing)
        if tick is None:
            return False
        claimed = self.host.history.claim(check.name, tick)
        self.host.history.save_state(check.name, state.with_(last_tick=tick))
        if not claimed:
            return False  # another scheduler (or this one before a restart) has it
        window = in_window(check, tick)
        if window is not None:
            skip_check(check, tick, self.host, window)
            return False
        deadline = Deadline(check.timeout_s)
        with self._lock:
            self._running[check.name] = deadline
        self.runs_started += 1
        if self.concurrency <= 0:
            self._run(check, tick, deadline)
        else:
            self._ensure_workers()
            self._jobs.put((check, tick, deadline))
        return True

    def _run(self, check: Check, tick: datetime, deadline: Deadline) -> None:
        deadline.start()
        try:
            run = self.execute(check, tick, self.host, deadline=deadline)
            if deadline.reason == "aborted" and run.status in FAILING_STATUSES:
                run = replace(
                    run, status="aborted", summary=f"aborted: the scheduler stopped ({run.summary})"
                )
            settle(check, run, self.host, self.config)
        except Exception as exc:  # noqa: BLE001 - one check's crash must not stop the scheduler or the others
            summary = crash_summary(check, self.host, exc, "scheduler")
            log.error("check %s crashed: %s", check.name, summary)
            self._record(check, tick, "error", summary)
        finally:
            with self._lock:
                self._running.pop(check.name, None)

    def _not_run(self, check: Check, tick: datetime) -> None:
        self._record(check, tick, "aborted", "aborted: the scheduler stopped before this run could start")
        with self._lock:
            self._running.pop(check.name, None)

    def _record(self, check: Check, tick: datetime, status: CheckStatus, summary: str) -> None:
        now = self.host.clock()
        run = CheckRun.not_run(
            check.name, check.runbook, check.env, scheduled_at=tick, at=now, status=status, summary=summary
        )
        try:
            settle(check, run, self.host, self.config)
        except Exception:  # noqa: BLE001 - the history itself is failing: the log line above stands
            log.debug("recording a run of %s failed", check.name, exc_info=True)

    def _housekeeping(self, now: datetime) -> None:
        # The outbox: notifications whose channel was down are tried again on every tick.
        if self.host.history.pending_notifications():
            self.host.flush(self.config.checks)
        if self._last_prune is None or (now - self._last_prune).total_seconds() >= PRUNE_EVERY_S:
            self._last_prune = now
            prune(self.config, self.host)

    # -- workers -----------------------------------------------------------------------------------------

    def _ensure_workers(self) -> None:
        while len(self._workers) < self.concurrency:
            worker = threading.Thread(
                target=self._work, name=f"checks-worker-{len(self._workers) + 1}", daemon=True
            )
            self._workers.append(worker)
            worker.start()

    def _work(self) -> None:
        try:
            while True:
                job = self._jobs.get()
                if job is _STOP:
                    return
                check, tick, deadline = job  # type: ignore[misc]
                if self.host.stop.is_set():
                    self._not_run(check, tick)  # stopping: a run still waiting for a worker is not started
                    continue
                self._run(check, tick, deadline)
        finally:
            _close_thread_browser()

    @property
    def running(self) -> list[str]:
        """Checks whose run is under way (not those waiting for a worker)."""
        with self._lock:
            return sorted(name for name, deadline in self._running.items() if deadline.started)

    @property
    def queued(self) -> list[str]:
        with self._lock:
            return sorted(name for name, deadline in self._running.items() if not deadline.started)

    # -- the loop ----------------------------------------------------------------------------------------

    def serve(self, poll_s: float = 1.0) -> list[str]:
        """Tick until host.stop is set, then stop as the module docstring says; returns the runs cut short."""
        while not self.host.stop.is_set():
            try:
                self.tick()
            except Exception:  # noqa: BLE001 - a bad tick (database busy) is logged; the next one tries again
                log.exception("a scheduler tick failed")
            self.host.stop.wait(poll_s)
        return self.shutdown()

    def shutdown(self) -> list[str]:
        """Let runs in flight finish within the grace period, then cut them short; returns those cut."""
        self.host.stop.set()
        end = time.monotonic() + self.grace_s
        while self.running and time.monotonic() < end:
            time.sleep(0.1)
        cut = self.running
        with self._lock:
            for deadline in self._running.values():
                deadline.cut(0.0)
        if cut:
            # A Playwright call in another thread cannot be interrupted from here: end its browser, so the run
            # ends now (recorded aborted, with the evidence written so far) and no Chromium outlives us.
            kill_browsers()
        for _ in self._workers:
            self._jobs.put(_STOP)
        for worker in self._workers:
            worker.join(timeout=60)
        return cut


def crash_summary(check: Check, host: Host, exc: BaseException, where: str) -> str:
    """The run summary (and log line) of a check that crashed, masked with the check's secrets.

    An exception's text can hold anything the run had in hand (a driver error quoting a filled value, a
    library echoing the URL with its password): it goes to the history, the status page, /api/status and
    the webhooks, so it passes through the same redactor the run's own evidence does. No traceback: it
    would carry the same values in its frames' reprs."""
    text = f"error: the check could not be run ({type(exc).__name__}: {exc}); see the {where}'s log"
    return crash_redactor(check, host).redact_text(text)


def crash_redactor(check: Check, host: Host) -> Redactor:
    """The check's secrets (its target's credentials, its secret inputs), as far as they can still be read:
    a crash may come from reading them, and then what was read before stays masked."""
    secrets: set[str] = set()
    try:
        target = host.target(check.env)
        secrets |= secrets_of(check, target)
        # Any credential part but the account's name may be a secret (a token, an API key).
        secrets |= {v for c in target.credentials.values() for k, v in c.items() if k != "user" and v}
        from automation.checks.config.load import resolve_inputs

        secrets |= secret_inputs(check, resolve_inputs(check, target.credentials))
    except Exception:  # noqa: BLE001 - masking what is known beats masking nothing
        log.debug("reading the secrets of %s after its crash failed", check.name, exc_info=True)
    return Redactor(s for s in secrets if isinstance(s, str) and len(s) >= MIN_SECRET_LENGTH)


def kill_browsers() -> int:
    """SIGKILL every Chromium process descended from this one; returns how many."""
    import os
    import signal

    children: dict[int, list[int]] = {}
    names: dict[int, str] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8", errors="replace") as handle:
                stat = handle.read()
        except OSError:
            continue
        name, rest = stat[stat.index("(") + 1 : stat.rindex(")")], stat[stat.rindex(")") + 2 :].split()
        children.setdefault(int(rest[1]), []).append(int(entry))
        names[int(entry)] = name
    killed, todo = 0, list(children.get(os.getpid(), []))
    while todo:
        pid = todo.pop()
        todo += children.get(pid, [])
        if "chrom" in names.get(pid, ""):
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except OSError:
                pass
    return killed


def _close_thread_browser() -> None:
    try:
        from automation.engine.browser import close_pool

        close_pool()
    except Exception:  # noqa: BLE001 - closing at exit: nothing left to report to
        log.debug("closing a worker's browser failed", exc_info=True)
