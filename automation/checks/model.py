"""The data the checks modules pass each other: a run of a check, its attempts and step timings, a check's
alert state, and the notifications the alert policy decides on. Plain frozen dataclasses: the policy and the
schedule are pure functions over them, the history store persists them, the status page and metrics read them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal

# How one run of a check ended. `degraded`: it passed, but over a duration threshold. `timed-out`: stopped at
# the check's `timeout`. `error`: the target or the browser did not answer. `skipped`: in a maintenance window.
# `refused`: a worker was handed a task it must not run (a disabled check, a tick off the schedule or far from
# now: a forged or replayed broker message); nothing ran. Not a result: no uptime, no health change.
CheckStatus = Literal["passed", "degraded", "failed", "timed-out", "error", "aborted", "skipped", "refused"]
FAILING_STATUSES: frozenset[str] = frozenset({"failed", "timed-out", "error"})

# What the status page shows for a check.
CheckHealth = Literal["passing", "degraded", "failing", "alerting", "maintenance", "unknown"]

NotificationKind = Literal["opened", "failed-again", "reminder", "recovered", "refused"]


@dataclass(frozen=True)
class StepTiming:
    """One step of the run's last attempt, as the history and the per-step metrics keep it."""

    number: str
    label: str
    status: str
    duration_s: float
    slow: bool = False  # over its `degraded.steps` threshold


@dataclass(frozen=True)
class Attempt:
    """One attempt of a run (a retry is another attempt), with its own evidence folder."""

    number: int
    status: CheckStatus
    run_id: str | None
    evidence_dir: str | None
    duration_s: float
    outcome: str | None = None
    error: str | None = None
    started_at: datetime | None = None


@dataclass(frozen=True)
class CheckRun:
    """One run of a check: what the scheduler asked for, what happened, where the evidence is."""

    check: str
    runbook: str
    env: str
    scheduled_at: datetime  # the tick this run belongs to (unique per check)
    started_at: datetime
    finished_at: datetime
    status: CheckStatus
    duration_s: float
    summary: str = ""  # one line a person reads: the outcome, the error, or the slow step
    outcome: str | None = None
    error: str | None = None
    slow_steps: tuple[str, ...] = ()  # labels of steps over their threshold (degraded)
    attempts: tuple[Attempt, ...] = ()
    steps: tuple[StepTiming, ...] = ()
    id: int | None = None  # set by the history store

    @classmethod
    def from_attempts(
        cls,
        check: str,
        runbook: str,
        env: str,
        *,
        scheduled_at: datetime,
        started_at: datetime,
        finished_at: datetime,
        status: CheckStatus,
        summary: str,
        attempts: tuple[Attempt, ...],
        steps: tuple[StepTiming, ...] = (),
        slow_steps: tuple[str, ...] = (),
    ) -> CheckRun:
        """A run that made attempts: its duration, outcome and error are the last attempt's."""
        last = attempts[-1]
        return cls(
            check=check,
            runbook=runbook,
            env=env,
            scheduled_at=scheduled_at,
            started_at=started_at,
            finished_at=finished_at,
            status=status,
            duration_s=last.duration_s,
            summary=summary,
            outcome=last.outcome,
            error=last.error,
            slow_steps=slow_steps,
            attempts=attempts,
            steps=steps,
        )

    @classmethod
    def not_run(
        cls,
        check: str,
        runbook: str,
        env: str,
        *,
        scheduled_at: datetime,
        at: datetime,
        status: CheckStatus,
        summary: str,
    ) -> CheckRun:
        """A tick that ended without an attempt (skipped in a maintenance window, aborted before it started,
        or crashed before it could run): no duration, no evidence, and `summary` says why."""
        return cls(
            check=check,
            runbook=runbook,
            env=env,
            scheduled_at=scheduled_at,
            started_at=at,
            finished_at=at,
            status=status,
            duration_s=0.0,
            summary=summary,
        )

    @property
    def evidence_dir(self) -> str | None:
        """The last attempt's evidence folder."""
        return self.attempts[-1].evidence_dir if self.attempts else None

    @property
    def report(self) -> str | None:
        folder = self.evidence_dir
        return f"{folder}/report.html" if folder else None


@dataclass(frozen=True)
class CheckState:
    """What the alert policy remembers about one check between runs (persisted by the history store)."""

    consecutive_failures: int = 0
    consecutive_passes: int = 0
    recent_failures: tuple[datetime, ...] = ()  # failure times inside the `within` window
    alerting: bool = False
    failing_since: datetime | None = None  # first failure of the current episode
    alert_opened_at: datetime | None = None
    last_reminder_at: datetime | None = None
    reminders_sent: int = 0
    last_status: CheckStatus | None = None
    last_run_at: datetime | None = None
    ticket_id: str | None = None  # the open ticket of the current alert, if the ticket channel has one
    last_tick: datetime | None = None  # the last scheduled tick claimed for this check (run or skipped)
    episode_failures: int = 0  # failing runs since failing_since (the recovery note counts them)
    refused_alerted_at: datetime | None = None  # when operations were last told a worker refused a task

    def with_(self, **changes: object) -> CheckState:
        return replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Notification:
    """Something a person must be told, decided by the alert policy; the channels deliver it."""

    kind: NotificationKind
    check: str
    at: datetime
    message: str  # one line for a chat tool or a ticket comment, secrets already masked
    status: CheckStatus | None = None  # the run that caused it
    downtime_s: float | None = None  # for `recovered`: how long the check was failing
    reminder: int | None = None  # for `reminder`: 1, 2, ... up to `at_most`
    run_id: str | None = None
    evidence_dir: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CheckInfo:
    """What the status page, `checks status` and the metrics say about a check besides its runs."""

    name: str
    title: str
    runbook: str
    env: str
    schedule: str  # as a person reads it: "every 5m", "cron */30 8-18 * * 1-5 (Europe/London)"
    timeout_s: float
    degraded_run_s: float | None = None
    degraded_steps: dict[str, float] = field(default_factory=dict)


def health(state: CheckState, *, in_maintenance: bool = False) -> CheckHealth:
    """The one word the status page shows for a check."""
    if in_maintenance:
        return "maintenance"
    if state.alerting:
        return "alerting"
    if state.last_status is None:
        return "unknown"
    if state.last_status in FAILING_STATUSES:
        return "failing"
    if state.last_status == "degraded":
        return "degraded"
    return "passing"


@dataclass(frozen=True)
class AlertRule:
    """When a check alerts, recovers and reminds. Raises ValueError on an impossible rule."""

    after: int = 3  # failures needed to alert
    within_s: float | None = None  # None: `after` consecutive failures; set: `after` failures inside it
    recover_after: int = 2  # consecutive passes that end an alert
    remind_every_s: float | None = None
    remind_at_most: int = 0  # reminders stop after this many
    on_degraded: bool = False  # degraded runs count as failures

    def __post_init__(self) -> None:
        if self.after < 1 or self.recover_after < 1:
            raise ValueError("`after` and `recover_after` must be at least 1")
        for what, value in (("within", self.within_s), ("remind.every", self.remind_every_s)):
            if value is not None and not (math.isfinite(value) and value > 0):
                raise ValueError(f"`{what}` must be a positive duration (got {value!r})")
        if self.remind_at_most < 0:
            raise ValueError("`remind.at_most` cannot be negative")
