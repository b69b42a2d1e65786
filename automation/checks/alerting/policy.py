"""The alert policy: a pure function of (check state, run, now) returning (new state, notifications).

No clock, no I/O: the scheduler records the run, calls `decide`, saves the state and queues the notifications.

Which runs fail: status `failed`, `timed-out` or `error`, and `degraded` when the rule says `on_degraded`.
`passed` (and `degraded` otherwise) passes. `skipped` (a maintenance window) and `aborted` (the scheduler
stopped the run) are not results: they return the state unchanged, last_status and last_run_at included (so the
status page keeps showing the last real result), and notify nobody.

An episode starts at its first failing run (`failing_since`) and ends when its failures stop counting: for
`after: N` (consecutive) at the next pass; for `after: {failures: N, within: W}` when no failure is left inside
the last W. A pass does not clear the windowed count, so a flapping check still alerts.

Not alerting, a failing run counts; when the rule holds (N consecutive failures, or N failures inside W
including this one) -> `opened`, and the check is alerting from now.

Alerting, each failing run -> `failed-again`, plus a `reminder` when `remind_every` has passed since the last
reminder (or since the alert opened) and fewer than `remind_at_most` were sent. A failing run also restarts the
count of passes. `recover_after` consecutive passes -> `recovered`, with the downtime from the episode's first
failure to now; the state resets (not alerting, counters zero, no ticket).

`refused` (a worker refused a task it must not run: a forged or replayed broker message) is not a result either;
`decide_refused` tells operations once, then stays quiet for REFUSED_QUIET while more refusals of the check
arrive (each is still recorded), so a flood of forged messages is one alert, not a flood of alerts.

Every notification is one line a person reads, names the run that caused it (run id, evidence folder) and
carries run.summary as its detail; the summary is expected to be masked already.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from automation.checks.model import (
    FAILING_STATUSES,
    AlertRule,
    CheckRun,
    CheckState,
    Notification,
    NotificationKind,
)

# Not results: the run did not get to say anything about the target.
_NOT_RESULTS = frozenset({"skipped", "aborted", "refused"})
# After telling operations that a check's worker refused a task, the next refusals of that check within this
# long are recorded but not announced again: one alert per day per check, however many messages are forged.
REFUSED_QUIET = timedelta(hours=24)


def is_failing(rule: AlertRule, status: str) -> bool:
    """Whether a run with this status counts as a failure under the rule."""
    return status in FAILING_STATUSES or (rule.on_degraded and status == "degraded")


def remind_due(rule: AlertRule, state: CheckState, now: datetime) -> bool:
    """Whether an alerting check owes a reminder at `now`. Raises ValueError when `now` is naive."""
    now = _utc(now)
    if not state.alerting or rule.remind_every_s is None or state.reminders_sent >= rule.remind_at_most:
        return False
    since = state.last_reminder_at or state.alert_opened_at or now
    return now - since >= timedelta(seconds=rule.remind_every_s)


def format_duration(seconds: float) -> str:
    """A duration for people, two units at most: "45s", "23m 10s", "2h 5m", "3d 4h"."""
    parts = []
    total = max(0, round(seconds))
    for name, size in (("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)):
        count, total = divmod(total, size)
        parts.append((count, name))
    first = next((i for i, (count, _) in enumerate(parts) if count), len(parts) - 1)
    # The two largest units from the first non-zero one; "2h 0m" says nothing "2h" does not.
    return " ".join(f"{count}{name}" for count, name in parts[first : first + 2] if count) or "0s"


def decide(
    rule: AlertRule, state: CheckState, run: CheckRun, now: datetime
) -> tuple[CheckState, list[Notification]]:
    """The check's new alert state after this run, and whom to tell (see the module docstring).

    Raises ValueError when `now` is naive."""
    now = _utc(now)
    if run.status in _NOT_RESULTS:
        return state, []
    state = _prune(rule, state, now)
    if is_failing(rule, run.status):
        state, notes = _on_failure(rule, state, run, now)
    else:
        state, notes = _on_pass(rule, state, run, now)
    return state.with_(last_status=run.status, last_run_at=now), notes


def decide_refused(state: CheckState, run: CheckRun, now: datetime) -> tuple[CheckState, list[Notification]]:
    """Whether to tell operations about this refused task: the first refusal, and again only once
    REFUSED_QUIET has passed since the last alert. Raises ValueError when `now` is naive."""
    now = _utc(now)
    last = state.refused_alerted_at
    if last is not None and now - last < REFUSED_QUIET:
        return state, []
    message = (
        f"{run.check}: a worker refused a task it was not scheduled to run ({run.summary}). Nothing ran. "
        f"Someone or something can publish to the broker: rotate the broker's password and check who holds it; "
        f"further refusals of this check in the next {format_duration(REFUSED_QUIET.total_seconds())} are "
        f"recorded without another alert"
    )
    return state.with_(refused_alerted_at=now), [_note("refused", run, now, message)]


def _utc(dt: datetime) -> datetime:
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"now must be timezone-aware (got naive {dt.isoformat()})")
    return dt.astimezone(UTC)


def _prune(rule: AlertRule, state: CheckState, now: datetime) -> CheckState:
    """Forget failures older than `within`; an idle episode with none left is over."""
    if rule.within_s is None:
        return state
    horizon = now - timedelta(seconds=rule.within_s)
    recent = tuple(t for t in state.recent_failures if t > horizon)
    if not recent and not state.alerting:
        return state.with_(recent_failures=(), failing_since=None, episode_failures=0)
    return state.with_(recent_failures=recent)


def _on_failure(
    rule: AlertRule, state: CheckState, run: CheckRun, now: datetime
) -> tuple[CheckState, list[Notification]]:
    state = state.with_(
        consecutive_failures=state.consecutive_failures + 1,
        consecutive_passes=0,
        recent_failures=state.recent_failures + ((now,) if rule.within_s is not None else ()),
        failing_since=state.failing_since or now,
        episode_failures=state.episode_failures + 1,
    )
    if state.alerting:
        return _still_failing(rule, state, run, now)
    if not _holds(rule, state):
        return state, []
    state = state.with_(alerting=True, alert_opened_at=now, last_reminder_at=None, reminders_sent=0)
    return state, [_note("opened", run, now, f"{run.check} is failing: {_count(rule, state)}; {_last(run)}")]


def _holds(rule: AlertRule, state: CheckState) -> bool:
    if rule.within_s is None:
        return state.consecutive_failures >= rule.after
    return len(state.recent_failures) >= rule.after


def _count(rule: AlertRule, state: CheckState) -> str:
    if rule.within_s is None:
        return f"{state.consecutive_failures} failures in a row"
    return f"{len(state.recent_failures)} failures in {format_duration(rule.within_s)}"


def _still_failing(
    rule: AlertRule, state: CheckState, run: CheckRun, now: datetime
) -> tuple[CheckState, list[Notification]]:
    down = format_duration(_downtime(state, now))
    notes = [
        _note(
            "failed-again",
            run,
            now,
            f"{run.check} failed again (failure {state.episode_failures}, failing for {down}); {_last(run)}",
        )
    ]
    if remind_due(rule, state, now):
        n = state.reminders_sent + 1
        state = state.with_(reminders_sent=n, last_reminder_at=now)
        message = (
            f"{run.check} is still failing after {down} (reminder {n} of {rule.remind_at_most}); {_last(run)}"
        )
        notes.append(_note("reminder", run, now, message, reminder=n))
    return state, notes


def _on_pass(
    rule: AlertRule, state: CheckState, run: CheckRun, now: datetime
) -> tuple[CheckState, list[Notification]]:
    if not state.alerting:
        if rule.within_s is None:  # the consecutive count starts again: so does the episode
            return state.with_(consecutive_failures=0, failing_since=None, episode_failures=0), []
        return state.with_(consecutive_failures=0), []
    state = state.with_(consecutive_failures=0, consecutive_passes=state.consecutive_passes + 1)
    if state.consecutive_passes < rule.recover_after:
        return state, []
    downtime = _downtime(state, now)
    message = f"{run.check} recovered after {format_duration(downtime)} down ({_episode(state)})"
    recovered = CheckState(last_tick=state.last_tick, refused_alerted_at=state.refused_alerted_at)
    return recovered, [_note("recovered", run, now, message, downtime_s=downtime)]


def _downtime(state: CheckState, now: datetime) -> float:
    return (now - (state.failing_since or state.alert_opened_at or now)).total_seconds()


def _episode(state: CheckState) -> str:
    parts = [_plural(state.episode_failures, "failure")]
    if state.reminders_sent:
        parts.append(_plural(state.reminders_sent, "reminder"))
    return ", ".join(parts)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _last(run: CheckRun) -> str:
    detail = run.summary or run.error or run.outcome
    if detail and detail.startswith(run.status):  # the runner's summaries already open with the status
        return f"last: {detail}"
    return f"last: {run.status} — {detail}" if detail else f"last: {run.status}"


def _note(
    kind: NotificationKind,
    run: CheckRun,
    now: datetime,
    message: str,
    *,
    downtime_s: float | None = None,
    reminder: int | None = None,
) -> Notification:
    last = run.attempts[-1] if run.attempts else None
    extra = {"runbook": run.runbook, "env": run.env}
    if run.report:
        extra["report"] = run.report
    return Notification(
        kind=kind,
        check=run.check,
        at=now,
        message=message,
        status=run.status,
        downtime_s=downtime_s,
        reminder=reminder,
        run_id=last.run_id if last else None,
        evidence_dir=last.evidence_dir if last else None,
        extra=extra,
    )
