"""What `runbook checks status`, `checks history`, `/api/status` and the status page say about each check, read
from the history store only (the scheduler may be another process, or not running at all).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from automation.checks.model import CheckHealth, CheckInfo, CheckRun, CheckState, StepTiming, health
from automation.checks.storage.history import History

# Worst first: what needs a person leads the page and the table.
SEVERITY: dict[str, int] = {
    "alerting": 0,
    "failing": 1,
    "degraded": 2,
    "unknown": 3,
    "maintenance": 4,
    "passing": 5,
}
HEALTH_TEXT: dict[str, str] = {"maintenance": "in maintenance"}


@dataclass(frozen=True)
class StatusRow:
    """One check as a person on call reads it."""

    name: str
    title: str
    runbook: str
    env: str
    schedule: str
    health: CheckHealth
    uptime_24h: float | None
    uptime_7d: float | None
    p50_s: float | None
    p95_s: float | None
    runs_24h: int
    failures_24h: int
    last_status: str | None
    last_summary: str
    last_at: datetime | None  # when the last run (not a skip) finished
    last_report: str | None  # the last run's report.html (a path; the page maps it to /evidence/...)
    slow_steps: tuple[str, ...]  # step labels over their threshold in the last run
    slow_notes: tuple[str, ...]  # the same as a person reads them: "Log In 3.1 s (limit 2 s)"
    alert_since: datetime | None
    failing_since: datetime | None
    ticket_id: str | None

    @property
    def health_text(self) -> str:
        return HEALTH_TEXT.get(self.health, self.health)


def status_rows(
    history: History,
    checks: Sequence[CheckInfo],
    now: datetime,
    *,
    in_maintenance: Callable[[str, datetime], bool] = lambda c, t: False,
) -> list[StatusRow]:
    """One row per configured check, worst state first, then by name."""
    rows = [_row(history, info, now, in_maintenance(info.name, now)) for info in checks]
    return sorted(rows, key=lambda r: (SEVERITY.get(r.health, 9), r.name))


def _row(history: History, info: CheckInfo, now: datetime, maintenance: bool) -> StatusRow:
    summary = history.summary(info.name, now)
    last = _last_probe(history, info.name, summary.last_run)
    state = history.state(info.name)
    if state.last_status is None and last is not None:
        state = CheckState(last_status=last.status)  # runs recorded without a saved state (`checks run`)
    word = health(state, in_maintenance=maintenance)
    return StatusRow(
        name=info.name,
        title=info.title,
        runbook=info.runbook,
        env=info.env,
        schedule=info.schedule,
        health=word,
        uptime_24h=summary.uptime_24h,
        uptime_7d=summary.uptime_7d,
        p50_s=summary.p50_s,
        p95_s=summary.p95_s,
        runs_24h=summary.runs_24h,
        failures_24h=summary.failures_24h,
        last_status=last.status if last else None,
        last_summary=last.summary if last else "",
        last_at=last.finished_at if last else None,
        last_report=last.report if last else None,
        slow_steps=_slow_labels(last),
        slow_notes=tuple(_slow_note(s, info) for s in _slow_timings(last)),
        alert_since=state.alert_opened_at if state.alerting else None,
        failing_since=state.failing_since,
        ticket_id=state.ticket_id if state.alerting else None,
    )


def _last_probe(history: History, check: str, last: CheckRun | None) -> CheckRun | None:
    """The last run that probed the target: a skip has no result and no report to show."""
    if last is None or last.status != "skipped":
        return last
    return next((r for r in history.runs(check, limit=50) if r.status != "skipped"), None)


def _slow_timings(run: CheckRun | None) -> list[StepTiming]:
    if run is None or run.status != "degraded":
        return []
    return [s for s in run.steps if s.slow or s.label in run.slow_steps]


def _slow_labels(run: CheckRun | None) -> tuple[str, ...]:
    if run is None or run.status != "degraded":
        return ()
    return run.slow_steps or tuple(s.label for s in run.steps if s.slow)


def _slow_note(step: StepTiming, info: CheckInfo) -> str:
    limit = info.degraded_steps.get(step.label, info.degraded_steps.get(step.number))
    over = f" (limit {fmt_seconds(limit)})" if limit is not None else ""
    return f"{step.label} {fmt_seconds(step.duration_s)}{over}"


# -- text ------------------------------------------------------------------------------------------------------


def render_table(rows: Sequence[StatusRow], now: datetime | None = None) -> str:
    """The table `runbook checks status` prints, with a summary line on top."""
    header = ("CHECK", "STATE", "UP 24H", "UP 7D", "P50", "P95", "LAST RUN", "NOTE")
    body = [
        (
            r.name,
            r.health_text.upper() if SEVERITY.get(r.health, 9) < 2 else r.health_text,
            fmt_percent(r.uptime_24h),
            fmt_percent(r.uptime_7d),
            fmt_seconds(r.p50_s),
            fmt_seconds(r.p95_s),
            _last_text(r, now),
            note(r),
        )
        for r in rows
    ]
    return summary_line(rows) + "\n\n" + _columns([header, *body])


def note(row: StatusRow) -> str:
    """The one thing to read about a check besides its state."""
    if row.alert_since is not None:
        ticket = f", ticket {row.ticket_id}" if row.ticket_id else ""
        return f"alerting since {fmt_time(row.alert_since)}{ticket}: {row.last_summary}".rstrip(": ")
    if row.slow_notes:
        return "slow: " + ", ".join(row.slow_notes)
    return row.last_summary


def summary_line(rows: Sequence[StatusRow]) -> str:
    """'3 checks: 1 alerting, 1 degraded, 1 passing', worst first."""
    counts: dict[str, int] = {}
    for r in sorted(rows, key=lambda r: SEVERITY.get(r.health, 9)):
        counts[r.health_text] = counts.get(r.health_text, 0) + 1
    parts = ", ".join(f"{n} {word}" for word, n in counts.items())
    noun = "check" if len(rows) == 1 else "checks"
    return f"{len(rows)} {noun}: {parts}" if rows else "No checks configured."


def render_history(runs: Sequence[CheckRun]) -> str:
    """The table `runbook checks history NAME` prints, newest first."""
    header = ("STARTED (UTC)", "STATUS", "DURATION", "TRIES", "SUMMARY", "REPORT")
    body = [
        (
            r.started_at.strftime("%Y-%m-%d %H:%M:%S"),
            r.status,
            fmt_seconds(r.duration_s) if r.status != "skipped" else "-",
            str(len(r.attempts)) if r.attempts else "-",
            r.summary,
            r.report or "",
        )
        for r in runs
    ]
    return _columns([header, *body]) if runs else "No runs recorded."


def rows_json(rows: Sequence[StatusRow]) -> list[dict[str, Any]]:
    """The rows as JSON-ready dicts (ISO 8601 times), for `--json` and `/api/status`."""
    return [{k: _jsonable(v) for k, v in dataclasses.asdict(r).items()} for r in rows]


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    return value


def _last_text(row: StatusRow, now: datetime | None) -> str:
    if row.last_at is None:
        return "never"
    age = f" ({fmt_age(now - row.last_at)})" if now is not None else ""
    return f"{row.last_status} {fmt_time(row.last_at)}{age}"


def _columns(table: list[tuple[str, ...]]) -> str:
    widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip() for line in table
    ]
    return "\n".join(lines)


# -- formatting shared with the page -----------------------------------------------------------------------------


def fmt_percent(share: float | None) -> str:
    if share is None:
        return "-"
    percent = share * 100
    # 99.95 % must not print as 100 %: round down what is not perfect.
    return "100%" if share >= 1 else f"{min(percent, 99.9):.1f}%"


def fmt_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{int(seconds // 60)} min {int(seconds % 60):02d} s"


def fmt_time(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC")


def fmt_span(delta: timedelta) -> str:
    """A length of time as a person says it: '45 s', '12 min', '2 h 30 min', '3 d 4 h'."""
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds // 3600} h {seconds % 3600 // 60} min"
    return f"{seconds // 86400} d {seconds % 86400 // 3600} h"


def fmt_age(delta: timedelta) -> str:
    return "just now" if delta < timedelta(minutes=1) else f"{fmt_span(delta)} ago"


def fmt_clock(at: datetime, now: datetime) -> str:
    """'10:30 UTC' today, '9 Mar 10:30 UTC' before."""
    return at.strftime("%H:%M UTC" if at.date() == now.date() else "%-d %b %H:%M UTC")
