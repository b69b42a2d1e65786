"""A check's recent runs in a few numbers: uptime over 24 hours and 7 days, p50/p95 durations and counts over
24 hours, and its last run. What the status page and `checks status` show; History.summary reads the rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from automation.checks.model import FAILING_STATUSES, CheckRun

DAY = timedelta(hours=24)
WEEK = timedelta(days=7)
# Not counted in uptime or durations: a skipped tick did not run, an aborted one was stopped by the scheduler,
# a refused task (a forged broker message) was never the check's to run.
_NOT_COUNTED = ("skipped", "aborted", "refused")


@dataclass(frozen=True)
class CheckSummary:
    """What the status page and `checks status` show about one check's recent runs."""

    check: str
    uptime_24h: float | None  # 0..1 over non-skipped, non-aborted runs; None with no such run
    uptime_7d: float | None
    p50_s: float | None  # over the same runs of the last 24 h
    p95_s: float | None
    runs_24h: int  # non-skipped runs
    failures_24h: int
    last_run: CheckRun | None
    degraded_24h: int = 0
    skipped_24h: int = 0


def summarize(check: str, rows: Sequence[Any], now: datetime, last_run: CheckRun | None) -> CheckSummary:
    """The summary of the check's runs of the last 7 days (rows with started_at, status and duration_s)."""
    recent = [r for r in rows if r.started_at >= now - DAY]
    counted = [r for r in recent if r.status not in _NOT_COUNTED]
    durations = sorted(r.duration_s for r in counted)
    return CheckSummary(
        check=check,
        uptime_24h=uptime([r.status for r in recent]),
        uptime_7d=uptime([r.status for r in rows]),
        p50_s=percentile(durations, 0.50),
        p95_s=percentile(durations, 0.95),
        runs_24h=sum(1 for r in recent if r.status not in ("skipped", "refused")),
        failures_24h=sum(1 for r in recent if r.status in FAILING_STATUSES),
        last_run=last_run,
        degraded_24h=sum(1 for r in recent if r.status == "degraded"),
        skipped_24h=sum(1 for r in recent if r.status == "skipped"),
    )


def uptime(statuses: list[str]) -> float | None:
    """The share of passed or degraded runs among those counted; None when none counts."""
    counted = [s for s in statuses if s not in _NOT_COUNTED]
    if not counted:
        return None
    return sum(1 for s in counted if s in ("passed", "degraded")) / len(counted)


def percentile(values: list[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default) over sorted values."""
    if not values:
        return None
    pos = (len(values) - 1) * q
    low = int(pos)
    high = min(low + 1, len(values) - 1)
    return values[low] + (values[high] - values[low]) * (pos - low)
