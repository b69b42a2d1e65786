"""When a check runs: `every` and `cron` schedules with a deterministic spread, the faster cadence while failing,
catch-up after downtime, maintenance windows and the duration syntax of the checks file.

Pure functions: nothing here reads a clock, every function takes the time it reasons about. Every datetime passed
in must be timezone-aware (a naive one raises ValueError); every datetime returned is in UTC.

Ticks are the instants a check is meant to run:
- `every: 5m` ticks at `k * 5m + spread` seconds after the Unix epoch (any integer k), so that a restart of the
  scheduler never shifts them and two schedulers agree on them.
- `cron: "*/30 8-18 * * 1-5"` ticks at cronsim's matches in `timezone` (DST as Debian cron handles it: a
  nonexistent time runs at the next valid minute, an ambiguous one once), each shifted by `spread`.
- `while_failing: {every: 1m}` adds ticks at `k * 1m + spread` while the check is failing. For a cron schedule
  these extra ticks are kept only inside the cron's hours and days: a fast tick t is kept when the local minute
  of `t - spread` matches the cron expression with its minute field replaced by `*`. So "*/30 8-18 * * 1-5"
  failing every 1m runs every minute from 08:00 to 18:59, Monday to Friday, and never at night.
"""

from __future__ import annotations

import calendar
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from hashlib import sha256
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

UTC = UTC
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
_MINUTE = timedelta(minutes=1)
# Bounds the searches for a fast tick inside a cron's hours: far more steps than any real schedule needs.
_SEARCH_LIMIT = 10_000

Repeat = Literal["never", "daily", "weekdays", "weekly", "monthly"]
_REPEATS: tuple[str, ...] = ("never", "daily", "weekdays", "weekly", "monthly")


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {name!r}: use an IANA name such as Europe/London or UTC"
        ) from None


def _utc(dt: datetime, what: str) -> datetime:
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware (got naive {dt.isoformat()})")
    return dt.astimezone(UTC)


@dataclass(frozen=True)
class Schedule:
    """When one check runs; exactly one of `every_s` and `cron`. Raises ValueError on an invalid schedule."""

    every_s: float | None = None
    cron: str | None = None
    timezone: str = "UTC"
    while_failing_every_s: float | None = None
    spread_s: float = 0.0

    def __post_init__(self) -> None:
        if (self.every_s is None) == (self.cron is None):
            raise ValueError("a schedule needs exactly one of `every` and `cron`")
        for what, value in (("every", self.every_s), ("while_failing.every", self.while_failing_every_s)):
            if value is not None and not (math.isfinite(value) and value >= 1):
                raise ValueError(f"`{what}` must be at least 1s (got {value!r})")
        if not (math.isfinite(self.spread_s) and self.spread_s >= 0):
            raise ValueError(f"spread must be a non-negative number of seconds (got {self.spread_s!r})")
        _zone(self.timezone)
        if self.cron is not None:
            _check_cron(self.cron, self.timezone)


def _check_cron(expr: str, tz: str) -> None:
    fields = expr.split()
    if len(fields) != 5:
        raise ValueError(
            f"cron {expr!r} has {len(fields)} fields: write 5 (minute hour day-of-month month day-of-week), "
            'e.g. "*/5 8-18 * * 1-5"'
        )
    try:
        CronSim(expr, datetime(2000, 1, 1, tzinfo=_zone(tz)))
    except CronSimError as exc:
        raise ValueError(f"cron {expr!r}: {exc} (see `man 5 crontab`)") from None


def spread(name: str, period_s: float, *, cap_s: float = 60.0) -> float:
    """A stable offset in [0, min(period_s, cap_s)) for this check name, in whole milliseconds.

    Raises ValueError when period_s or cap_s is not positive."""
    if not (period_s > 0 and cap_s > 0):
        raise ValueError(f"spread needs a positive period and cap (got {period_s!r}, {cap_s!r})")
    # sha256, not hash(): hash() of a str changes with every Python process (PYTHONHASHSEED).
    unit = (int.from_bytes(sha256(name.encode()).digest()[:8], "big") >> 11) / 2**53  # in [0, 1)
    return math.floor(unit * min(period_s, cap_s) * 1000) / 1000


def with_spread(schedule: Schedule, name: str) -> Schedule:
    """The schedule with this check's spread: under the fastest period, and under a minute for cron."""
    periods = [p for p in (schedule.every_s, schedule.while_failing_every_s) if p is not None]
    return replace(schedule, spread_s=spread(name, min([*periods, 60.0] if schedule.cron else periods)))


# -- the `every` grid: k * period + offset, in integer microseconds so that no tick drifts by rounding ----------


def _grid(period_s: float, offset_s: float, at: datetime, forward: bool) -> datetime:
    """The first grid point strictly after `at` (forward), or the last one at or before it."""
    period, offset = round(period_s * 1e6), round(offset_s * 1e6)
    k = ((at - _EPOCH) // _US - offset) // period + (1 if forward else 0)
    return _EPOCH + _US * (k * period + offset)


# -- cron matches, in UTC ---------------------------------------------------------------------------------------


def _cron_next(expr: str, tz: str, after: datetime) -> datetime | None:
    """The first match strictly after `after`, or None when there is none in cronsim's 50-year horizon."""
    matches = CronSim(expr, after.astimezone(_zone(tz)))
    try:
        # A start inside a DST fold can yield a match at or before it: skip those.
        while (found := next(matches).astimezone(UTC)) <= after:
            pass
    except StopIteration:
        return None
    return found


def _cron_prev(expr: str, tz: str, at: datetime) -> datetime | None:
    """The last match at or before `at`, or None."""
    # cronsim's reverse yields matches strictly before its start (to the second): start a microsecond later.
    matches = CronSim(expr, (at + _US).astimezone(_zone(tz)), reverse=True)
    try:
        while (found := next(matches).astimezone(UTC)) > at:
            pass
    except StopIteration:
        return None
    # Around a DST change reverse iteration may step over a match: walk forward to the true last one.
    while (later := _cron_next(expr, tz, found)) is not None and later <= at:
        found = later
    return found


def _cron(expr: str, tz: str, at: datetime, forward: bool) -> datetime | None:
    return _cron_next(expr, tz, at) if forward else _cron_prev(expr, tz, at)


def _hours_of(expr: str) -> str:
    """The cron with its minute field as `*`: it matches every minute of the hours and days the cron names."""
    return " ".join(["*", *expr.split()[1:]])


def _in_hours(expr: str, tz: str, at: datetime) -> bool:
    minute = at.astimezone(_zone(tz)).replace(second=0, microsecond=0).astimezone(UTC)
    return _cron_next(_hours_of(expr), tz, minute - timedelta(seconds=1)) == minute


# -- ticks ------------------------------------------------------------------------------------------------------


def _base(s: Schedule, at: datetime, forward: bool) -> datetime | None:
    """The schedule's own next (forward) or previous tick."""
    if s.every_s is not None:
        return _grid(s.every_s, s.spread_s, at, forward)
    shift = timedelta(seconds=s.spread_s)
    found = _cron(s.cron or "", s.timezone, at - shift, forward)
    return found + shift if found else None


def _fast(s: Schedule, at: datetime, forward: bool) -> datetime | None:
    """The next (forward) or previous while-failing tick; for cron, only inside the cron's hours."""
    fast, shift = s.while_failing_every_s, timedelta(seconds=s.spread_s)
    if fast is None:
        return None
    tick = _grid(fast, s.spread_s, at, forward)
    if s.cron is None:
        return tick
    for _ in range(_SEARCH_LIMIT):
        if _in_hours(s.cron, s.timezone, tick - shift):
            return tick
        # Jump to the nearest minute inside the cron's hours, then to the nearest fast tick within it.
        minute = _cron(_hours_of(s.cron), s.timezone, tick - shift, forward)
        if minute is None:
            return None
        edge = minute if forward else minute + _MINUTE
        tick = _grid(fast, s.spread_s, edge + shift - _US, forward)
    return None


def next_tick(schedule: Schedule, after: datetime, *, failing: bool = False) -> datetime:
    """The first tick strictly after `after` (with the while-failing ticks when `failing`).

    Raises ValueError when `after` is naive or the cron never matches again."""
    after = _utc(after, "after")
    found = [_base(schedule, after, True), _fast(schedule, after, True) if failing else None]
    ticks_ = [t for t in found if t is not None]
    if not ticks_:
        raise ValueError(f"cron {schedule.cron!r} has no tick after {after.isoformat()}")
    return min(ticks_)


def previous_tick(schedule: Schedule, at: datetime, *, failing: bool = False) -> datetime | None:
    """The last tick at or before `at`, or None if there is none. Raises ValueError when `at` is naive."""
    at = _utc(at, "at")
    found = [_base(schedule, at, False), _fast(schedule, at, False) if failing else None]
    return max((t for t in found if t is not None), default=None)


def ticks(schedule: Schedule, start: datetime, end: datetime, *, failing: bool = False) -> list[datetime]:
    """Every tick in (start, end], in order. Raises ValueError when a datetime is naive."""
    start, end = _utc(start, "start"), _utc(end, "end")
    found: list[datetime] = []
    while (tick := next_tick(schedule, found[-1] if found else start, failing=failing)) <= end:
        found.append(tick)
    return found


def due(
    schedule: Schedule, last_tick: datetime | None, now: datetime, *, failing: bool = False
) -> datetime | None:
    """The tick to run now: the latest tick in (last_tick, now], or None.

    After downtime this is one catch-up run for the latest missed tick, never a burst, and only if that tick is
    less than one period old (the gap between it and the tick before it); a new check (last_tick None) the same:
    an `every` check runs at once, a business-hours cron at night waits for the morning.
    Raises ValueError when a datetime is naive."""
    now = _utc(now, "now")
    latest = previous_tick(schedule, now, failing=failing)
    if latest is None:
        return None
    if last_tick is not None and latest <= _utc(last_tick, "last_tick"):
        return None
    # A tick older than one period is not caught up: after a night's downtime a business-hours cron waits for
    # the morning instead of running yesterday's 18:30 at 07:00; an `every` check's latest tick is always recent.
    before = previous_tick(schedule, latest - _US, failing=failing)
    return latest if before is None or now - latest < latest - before else None


def format_period(seconds: float) -> str:
    """A duration as the checks file writes it: 300 -> "5m", 5400 -> "1h30m", 0.5 -> "500ms"."""
    ms = round(seconds * 1000)
    parts = []
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)):
        count, ms = divmod(ms, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"


def describe(schedule: Schedule) -> str:
    """The schedule as a person reads it: "every 5m", "cron */30 8-18 * * 1-5 (Europe/London)"."""
    if schedule.cron is not None:
        text = f"cron {schedule.cron} ({schedule.timezone})"
    else:
        text = f"every {format_period(schedule.every_s or 0)}"
    if schedule.while_failing_every_s is not None:
        text += f" + every {format_period(schedule.while_failing_every_s)} while failing"
    return text


# -- maintenance windows ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """A maintenance window: `duration_s` from `start` (naive wall-clock time in `timezone`), maybe repeated.

    Repeats keep the wall-clock time across DST changes. A start time that does not exist that day (the spring
    gap) begins at the first valid minute after it; an ambiguous one (the autumn fold) at its first occurrence;
    the duration is real elapsed time from there. `monthly` on the 29th-31st falls on the last day of shorter
    months. Raises ValueError on an invalid window."""

    name: str
    start: datetime
    duration_s: float
    repeat: Repeat = "never"
    timezone: str = "UTC"
    checks: tuple[str, ...] = ()  # empty: every check

    def __post_init__(self) -> None:
        if self.start.tzinfo is not None:
            raise ValueError(
                f"maintenance window {self.name!r}: write `start` as a local time without an offset "
                f"and give `timezone` (got {self.start.isoformat()})"
            )
        if not (math.isfinite(self.duration_s) and self.duration_s > 0):
            raise ValueError(f"maintenance window {self.name!r}: duration must be positive")
        if self.repeat not in _REPEATS:
            raise ValueError(
                f"maintenance window {self.name!r}: repeat {self.repeat!r} is not one of {', '.join(_REPEATS)}"
            )
        _zone(self.timezone)


def wall_time_to_utc(local: datetime, tz: str) -> datetime:
    """A naive wall-clock time in `tz` as UTC: the first occurrence if ambiguous, the next valid minute if it
    does not exist. Raises ValueError for an unknown time zone."""
    zone, candidate = _zone(tz), local
    for _ in range(48 * 60):  # the longest gap on record is a day (Samoa, 2011)
        aware = candidate.replace(tzinfo=zone, fold=0)
        if aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == candidate:
            return aware.astimezone(UTC)
        candidate = (candidate + _MINUTE).replace(second=0, microsecond=0)
    raise ValueError(f"{local.isoformat()} has no valid time in {tz} within two days")


def _occurs_on(window: Window, day: date) -> bool:
    first = window.start.date()
    if day < first:
        return False
    if window.repeat == "never":
        return day == first
    if window.repeat == "weekdays":
        return day.weekday() < 5
    if window.repeat == "weekly":
        return day.weekday() == first.weekday()
    if window.repeat == "monthly":
        return day.day == min(first.day, calendar.monthrange(day.year, day.month)[1])
    return True  # daily


def _covers(window: Window, at: datetime) -> bool:
    today = at.astimezone(_zone(window.timezone)).date()
    length = timedelta(seconds=window.duration_s)
    # An occurrence covering `at` began at most `duration` (plus a day of slack for DST) before it.
    for back in range(math.ceil(window.duration_s / 86_400) + 2):
        day = today - timedelta(days=back)
        if _occurs_on(window, day):
            begin = wall_time_to_utc(datetime.combine(day, window.start.time()), window.timezone)
            if begin <= at < begin + length:
                return True
    return False


def active_window(windows: Sequence[Window], check: str, at: datetime) -> Window | None:
    """The first window that applies to `check` and covers `at`, or None. Raises ValueError when `at` is naive."""
    at = _utc(at, "at")
    for window in windows:
        if (not window.checks or check in window.checks) and _covers(window, at):
            return window
    return None


# -- durations --------------------------------------------------------------------------------------------------

_UNITS = {"d": 86_400.0, "h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|d|h|m|s)")
_ORDER = list(_UNITS)


def parse_duration(text: str | float | int) -> float:
    """Seconds from "500ms", "90s", "5m", "1h", "2d", "1h30m" or a plain number of seconds.

    Raises ValueError with a message for the person writing the checks file."""
    if isinstance(text, bool) or not isinstance(text, (str, int, float)):
        raise ValueError(f'a duration is a number of seconds or a text such as "90s" or "5m" (got {text!r})')
    if not isinstance(text, str):
        if not (math.isfinite(text) and text >= 0):
            raise ValueError(f"a duration cannot be negative or infinite (got {text!r})")
        return float(text)
    return _parse_duration_text(text)


def _parse_duration_text(text: str) -> float:
    compact = text.strip().replace(" ", "")
    hint = 'use a number and a unit (ms, s, m, h, d), largest first: "500ms", "90s", "5m", "1h30m", "2d"'
    if re.fullmatch(r"\d+(?:\.\d+)?", compact):
        raise ValueError(f'duration {text!r} has no unit: write "{compact}s" for seconds, or {hint}')
    parts = _PART.findall(compact)
    if not compact or "".join(n + u for n, u in parts) != compact:
        raise ValueError(f"duration {text!r} is not a duration: {hint}")
    units = [_ORDER.index(unit) for _, unit in parts]
    if units != sorted(set(units)):
        raise ValueError(f"duration {text!r} repeats a unit or puts a smaller one first: {hint}")
    return sum(float(number) * _UNITS[unit] for number, unit in parts)
