"""One run of one check: its attempts through the same `api.run` an agent uses, the degraded verdict, the record
in history, the alert policy and the channels. `checks run`, the scheduler and a Celery task all call this.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from secrets import token_hex
from typing import Any

from automation.checks.alerting.channels import Notifier, TicketChannel, WebhookChannel
from automation.checks.alerting.policy import decide
from automation.checks.config.load import ChannelConfig, Check, ChecksConfig, resolve_inputs
from automation.checks.metrics.in_process import Metrics
from automation.checks.model import Attempt, CheckRun, CheckStatus, StepTiming, health
from automation.checks.storage.history import History
from automation.errors import RunbookError
from automation.redaction.redactor import Redactor

ENGINE_STATUS: dict[str, CheckStatus] = {
    "passed": "passed",
    "escalated": "failed",
    "failed": "failed",
    "error": "error",
    "aborted": "aborted",
    "timed-out": "timed-out",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Host:
    """What runs need from the process that hosts them (the CLI, the scheduler, a worker, a test)."""

    history: History
    evidence_root: Path
    data_dir: Path
    metrics: Metrics = field(default_factory=Metrics)
    clock: Callable[[], datetime] = utcnow
    target_for: Callable[[str], Any] | None = None  # env name -> Target; default: environments.resolve
    browser: Any = None  # a Playwright Browser to use (tests); default: the thread's pool
    stop: threading.Event = field(default_factory=threading.Event)  # set on SIGTERM: no new attempts

    def target(self, env: str) -> Any:
        if self.target_for is not None:
            return self.target_for(env)
        from automation.environments import resolve

        return resolve(env)

    def tracker(self, env: str) -> Any:
        from automation.tickets import tracker_from_config

        return tracker_from_config(self.target(env).tickets, strict=False)

    def notifier(self, mask: Callable[[str], str] = lambda t: t) -> Notifier:
        def channel(config: ChannelConfig) -> Any:
            if config.kind == "ticket":
                return TicketChannel(config, data_dir=self.data_dir, tracker_for=self.tracker, mask=mask)
            return WebhookChannel(config, mask=mask, evidence_root=self.evidence_root)

        return Notifier(self.history, channel)

    def flush(self, checks: dict[str, Check]) -> int:
        """Deliver what waits in the outbox, counting what was sent; returns how many still wait."""

        def sent(check: Check, channel: str, kind: str) -> None:
            self.metrics.alert_sent(check.name, check.runbook, check.env, channel, kind)

        return self.notifier().flush(checks, on_sent=sent)

    def prime_metrics(self, checks: dict[str, Check]) -> None:
        """After a restart, the metrics start from each check's last recorded run, not from nothing."""
        for check in checks.values():
            last = self.history.last_run(check.name)
            if last is not None:
                self.metrics.observe(last, health(self.history.state(check.name)))


def execute_check(check: Check, scheduled_at: datetime, host: Host, *, deadline: Any = None) -> CheckRun:
    """Run the check's attempts (retrying failures after its backoff) and return the run, not yet recorded."""
    started = host.clock()
    attempts: list[Attempt] = []
    result = None
    secrets = Redactor(())
    for number in range(1, check.attempts + 1):
        attempt, result, secrets = _attempt(check, number, host, deadline)
        attempts.append(attempt)
        if attempt.status not in ("failed", "timed-out", "error") or number == check.attempts:
            break
        if host.stop.wait(check.backoff_s):
            break  # the scheduler is stopping: the last attempt stands
    finished = host.clock()
    last = attempts[-1]
    steps = _timings(check, result)
    slow = _slow(check, last, steps)
    status: CheckStatus = "degraded" if last.status == "passed" and slow else last.status
    return CheckRun.from_attempts(
        check.name,
        check.runbook,
        check.env,
        scheduled_at=scheduled_at,
        started_at=started,
        finished_at=finished,
        status=status,
        summary=secrets.redact_text(_summary(status, last, slow, len(attempts))),
        attempts=tuple(attempts),
        steps=steps,
        slow_steps=tuple(slow),
    )


def _attempt(check: Check, number: int, host: Host, deadline: Any) -> tuple[Attempt, Any, Redactor]:
    from automation import api

    started = host.clock()
    secrets = Redactor(())
    try:
        target = host.target(check.env)
        secrets = Redactor(secrets_of(check, target))
        inputs = resolve_inputs(check, target.credentials)
        secrets = Redactor(set(secrets.secrets) | secret_inputs(check, inputs))
        result = api.run(
            check.runbook,
            inputs,
            target=target,
            reset_sandbox=False,
            browser=host.browser,
            evidence_root=host.evidence_root / check.name,
            data_dir=host.data_dir,
            # the random part keeps two runs started in the same second (or on a frozen clock) apart
            run_id=f"{started:%Y%m%d-%H%M%S}-{check.name}-{number}-{token_hex(2)}",
            deadline_s=_time_left(check, deadline),
            screenshots=check.screenshots,
        )
    except RunbookError as exc:
        error = secrets.redact_text(str(exc))
        return (
            Attempt(number, "error", None, None, _since(started, host), None, error, started),
            None,
            secrets,
        )
    status = ENGINE_STATUS.get(result.status, "error")
    failure = _failure_text(check.runbook, result)
    error = secrets.redact_text(failure) if failure else None
    attempt = Attempt(
        number=number,
        status=status,
        run_id=result.run_id,
        evidence_dir=result.evidence_dir,
        duration_s=result.duration_s,
        outcome=result.outcome,
        error=error or (None if status == "passed" else result.summary),
        started_at=started,
    )
    return attempt, result, secrets


# How a status reads after the runbook's name: "admin-login failed at step 1 (Open the login page): ...".
_VERBS = {"failed": "failed", "timed-out": "timed out", "error": "stopped", "aborted": "was stopped"}


def _failure_text(runbook: str, result: Any) -> str | None:
    """The run's error as a person in a chat tool reads it: the runbook by its name and the step by its number
    and label (not the runbook file's path on the server), then the engine's details (locator, page)."""
    failed = [s for s in result.steps if s.status == "failed" and s.error]
    if not failed:
        return result.error
    step = failed[-1]  # the innermost step that ended the run (a sub-runbook's step comes after its `use`)
    verb = _VERBS.get(result.status, result.status)
    head = f"{runbook} {verb} at step {step.number} ({step.label}): {step.error}"
    # The engine's message opens with "step N (label) failed at FILE:LINE: ERROR" and goes on with the
    # locator and the page: keep what follows the error.
    rest = result.error.partition(step.error)[2] if result.error and step.error in result.error else ""
    return head + rest


def _time_left(check: Check, deadline: Any) -> float:
    """The attempt's time limit: what is left of the run's (the scheduler may cut it short), else the check's."""
    if deadline is None:
        return check.timeout_s
    left = deadline.remaining() if hasattr(deadline, "remaining") else float(deadline)
    return max(left, 0.5)


def secrets_of(check: Check, target: Any) -> set[str]:
    return {c["password"] for c in target.credentials.values() if c.get("password")}


def secret_inputs(check: Check, inputs: dict[str, Any]) -> set[str]:
    from automation.catalog import load_runbook

    declared = load_runbook(check.runbook).model.inputs
    return {str(v) for k, v in inputs.items() if k in declared and declared[k].type == "secret" and v}


def _since(started: datetime, host: Host) -> float:
    return round((host.clock() - started).total_seconds(), 3)


def _timings(check: Check, result: Any) -> tuple[StepTiming, ...]:
    if result is None:
        return ()
    return tuple(
        StepTiming(
            number=s.number,
            label=s.label,
            status=s.status,
            duration_s=s.duration_s,
            slow=_threshold(check, s.number, s.label) is not None
            and s.duration_s > (_threshold(check, s.number, s.label) or 0),
        )
        for s in result.steps
    )


def _threshold(check: Check, number: str, label: str) -> float | None:
    return check.degraded_steps.get(label, check.degraded_steps.get(number))


def _slow(check: Check, last: Attempt, steps: tuple[StepTiming, ...]) -> list[str]:
    if last.status != "passed":
        return []
    slow = [
        f"{s.number} {s.label} ({s.duration_s:.1f}s > {_threshold(check, s.number, s.label):g}s)"
        for s in steps
        if s.slow
    ]
    if check.degraded_run_s is not None and last.duration_s > check.degraded_run_s:
        slow.append(f"the whole run ({last.duration_s:.1f}s > {check.degraded_run_s:g}s)")
    return slow


def _summary(status: CheckStatus, last: Attempt, slow: list[str], attempts: int) -> str:
    tries = f" after {attempts} attempts" if attempts > 1 else ""
    if status == "degraded":
        return f"degraded: slow {', '.join(slow)}"
    if status == "passed":
        return f"passed ({last.outcome})" if last.outcome else "passed"
    first = (last.error or status).splitlines()[0]
    return f"{status}{tries}: {first}"


def settle(check: Check, run: CheckRun, host: Host, config: ChecksConfig | None = None) -> CheckRun:
    """Record the run, apply the alert policy, queue and deliver its notifications, update the metrics."""
    recorded = host.history.record(run)
    now = host.clock()
    # Read, decide and write under the check's lock: two workers finishing runs of one check together take
    # turns, so the second decides from the first's state and one ticket opens, not two.
    with host.history.holding(check.name) as held:
        state = held.state
        new_state, notes = decide(check.rule, state, recorded, now)
        new_state = new_state.with_(last_tick=max(filter(None, (state.last_tick, run.scheduled_at))))
        word = health(new_state, in_maintenance=run.status == "skipped")
        held.save(new_state, health=word, at=now)
        Notifier(held, host.notifier().channels).queue(check, notes)  # queued with the state, or not at all
    host.flush(config.checks if config else {check.name: check})
    host.metrics.observe(recorded, word)
    return recorded


def run_check(
    check: Check, host: Host, *, scheduled_at: datetime | None = None, config: ChecksConfig | None = None
) -> CheckRun:
    """Run a check once now (claiming its tick), record it and alert as its policy says."""
    tick = scheduled_at or host.clock()
    host.history.claim(check.name, tick)
    return settle(check, execute_check(check, tick, host), host, config)


def skip_check(check: Check, tick: datetime, host: Host, window: str) -> CheckRun:
    """Record a tick inside a maintenance window as skipped; the alert state does not move."""
    run = host.history.record_skip(check.name, check.runbook, check.env, tick, f"in maintenance: {window}")
    state = host.history.state(check.name)
    host.history.save_state(check.name, state.with_(last_tick=tick), health="maintenance", at=host.clock())
    host.metrics.set_health(check.name, check.runbook, check.env, "maintenance")
    return run


def prune(config: ChecksConfig, host: Host) -> list[str]:
    """Apply the retention: never what an open ticket points at."""
    from automation.tickets import TicketStore

    keep = {
        str(t.ticket.evidence_dir)
        for t in TicketStore(host.data_dir).list(status="open")
        if t.ticket.evidence_dir is not None
    }
    return host.history.prune(host.clock(), passed_s=config.passed_s, failed_s=config.failed_s, keep=keep)
