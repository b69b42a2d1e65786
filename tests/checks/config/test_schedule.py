"""When checks run: every/cron ticks, spread, the while-failing cadence, catch-up, maintenance windows, durations.
Pure functions over given times: no clock, no browser."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from automation.checks.config.schedule import (
    Schedule,
    Window,
    active_window,
    describe,
    due,
    format_period,
    next_tick,
    parse_duration,
    previous_tick,
    spread,
    ticks,
    wall_time_to_utc,
    with_spread,
)

LONDON = ZoneInfo("Europe/London")
BUSINESS_HOURS = "*/30 8-18 * * 1-5"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def london(*args: int) -> datetime:
    return datetime(*args, tzinfo=LONDON).astimezone(UTC)  # type: ignore[misc]


def minutes(start: datetime, end: datetime) -> list[datetime]:
    """Every whole UTC minute in (start, end]: the brute-force reference the tests count against."""
    count = int((end - start) / timedelta(minutes=1))
    return [start + timedelta(minutes=n) for n in range(1, count + 1)]


def in_business_hours(at: datetime) -> bool:
    local = at.astimezone(LONDON)
    return local.weekday() < 5 and 8 <= local.hour <= 18


# -- every ------------------------------------------------------------------------------------------------------


def test_every_5m_gives_288_distinct_ticks_a_day() -> None:
    schedule = Schedule(every_s=300, spread_s=spread("portal-login", 300))
    day = ticks(schedule, utc(2026, 5, 4), utc(2026, 5, 5))
    assert len(day) == 288
    assert len(set(day)) == 288
    assert all(b - a == timedelta(minutes=5) for a, b in zip(day, day[1:], strict=False))


def test_every_ticks_are_anchored_to_the_epoch_so_a_restart_does_not_shift_them() -> None:
    schedule = Schedule(every_s=300, spread_s=12.5)
    # Scheduler started at two unrelated times: both see the same grid, 12.5 s past each 5-minute mark.
    first = next_tick(schedule, utc(2026, 5, 4, 9, 1, 33))
    after_restart = next_tick(schedule, utc(2026, 5, 4, 9, 3, 7, 250_000))
    assert first == after_restart == utc(2026, 5, 4, 9, 5, 12, 500_000)


def test_next_tick_is_strictly_after_a_tick() -> None:
    schedule = Schedule(every_s=60)
    assert next_tick(schedule, utc(2026, 5, 4, 9, 0)) == utc(2026, 5, 4, 9, 1)


def test_ticks_are_returned_in_utc_whatever_zone_the_caller_used() -> None:
    schedule = Schedule(every_s=3600)
    tick = next_tick(schedule, datetime(2026, 7, 1, 10, 30, tzinfo=LONDON))
    assert tick.tzinfo == UTC and tick == utc(2026, 7, 1, 10)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        next_tick(Schedule(every_s=60), datetime(2026, 5, 4, 9, 0))


# -- spread -----------------------------------------------------------------------------------------------------


def test_spread_is_the_same_in_every_process() -> None:
    # A fixed value: hash() would change with PYTHONHASHSEED, sha256 does not.
    assert spread("portal-login", 300) == spread("portal-login", 300) == 0.503


def test_spread_puts_20_checks_in_different_seconds() -> None:
    offsets = [spread(f"check-{n}", 300) for n in range(20)]
    assert len(set(offsets)) == 20
    assert len({int(offset) for offset in offsets}) >= 12  # not all in the same second, nor in a few
    assert all(0 <= offset < 60 for offset in offsets)


@given(st.text(), st.floats(min_value=0.01, max_value=10_000))
def test_spread_stays_below_the_period_and_the_cap(name: str, period: float) -> None:
    assert 0 <= spread(name, period) < min(period, 60.0)


def test_with_spread_keeps_a_cron_check_inside_its_minute() -> None:
    schedule = with_spread(Schedule(cron="0 9 * * *"), "netsuite-login")
    assert 0 <= schedule.spread_s < 60
    assert schedule.spread_s == spread("netsuite-login", 60)


# -- cron -------------------------------------------------------------------------------------------------------


def test_business_hours_cron_over_a_week_across_the_dst_change_gives_exactly_its_ticks() -> None:
    start, end = utc(2026, 3, 25), utc(2026, 4, 1)  # includes Sunday 29 March, when London moves to BST
    schedule = Schedule(cron=BUSINESS_HOURS, timezone="Europe/London", spread_s=7.25)
    expected = [
        minute + timedelta(seconds=7.25)
        for minute in minutes(start, end)
        if in_business_hours(minute) and minute.astimezone(LONDON).minute in (0, 30)
    ]
    assert len(expected) == 5 * 22
    assert ticks(schedule, start, end) == expected


def test_daily_cron_runs_once_a_day_across_both_dst_changes() -> None:
    schedule = Schedule(cron="30 1 * * *", timezone="Europe/London")
    for start in (utc(2026, 3, 27), utc(2026, 10, 23)):
        days = [tick.astimezone(LONDON).date() for tick in ticks(schedule, start, start + timedelta(days=5))]
        assert len(days) == len(set(days)) == 5


def test_cron_at_a_time_the_spring_gap_skips_runs_at_the_next_valid_minute() -> None:
    schedule = Schedule(cron="30 1 * * *", timezone="Europe/London")
    assert next_tick(schedule, utc(2026, 3, 28, 12)) == london(2026, 3, 29, 2, 0)


def test_previous_tick_is_at_or_before() -> None:
    schedule = Schedule(cron=BUSINESS_HOURS, timezone="Europe/London")
    assert previous_tick(schedule, london(2026, 5, 4, 10, 0)) == london(2026, 5, 4, 10, 0)
    assert previous_tick(schedule, london(2026, 5, 4, 7, 0)) == london(2026, 5, 1, 18, 30)  # Friday evening


def test_a_bad_cron_is_refused_with_a_readable_message() -> None:
    with pytest.raises(ValueError, match="has 6 fields: write 5"):
        Schedule(cron="0 */5 8-18 * * 1-5")
    with pytest.raises(ValueError, match="Bad hour"):
        Schedule(cron="*/5 8-25 * * 1-5")


def test_a_schedule_needs_exactly_one_of_every_and_cron() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        Schedule()
    with pytest.raises(ValueError, match="exactly one"):
        Schedule(every_s=60, cron="* * * * *")


def test_an_unknown_time_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown time zone 'Europe/Londn'"):
        Schedule(cron="0 9 * * *", timezone="Europe/Londn")


# -- while failing ----------------------------------------------------------------------------------------------


def test_every_schedule_runs_every_minute_while_failing() -> None:
    schedule = Schedule(every_s=300, while_failing_every_s=60, spread_s=3)
    hour = (utc(2026, 5, 4, 9), utc(2026, 5, 4, 10))
    assert len(ticks(schedule, *hour)) == 12
    assert len(ticks(schedule, *hour, failing=True)) == 60


def test_while_failing_with_cron_runs_every_minute_of_the_cron_hours_and_never_outside() -> None:
    start, end = utc(2026, 3, 25), utc(2026, 4, 1)
    schedule = Schedule(
        cron=BUSINESS_HOURS, timezone="Europe/London", while_failing_every_s=60, spread_s=spread("mail", 60)
    )
    failing = ticks(schedule, start, end, failing=True)
    shift = timedelta(seconds=schedule.spread_s)
    assert all(in_business_hours(tick - shift) for tick in failing)
    assert len(failing) == len(set(failing)) == 5 * 11 * 60  # 08:00-18:59, Monday to Friday
    assert set(ticks(schedule, start, end)) <= set(failing)


def test_while_failing_with_cron_waits_for_the_morning() -> None:
    schedule = Schedule(cron=BUSINESS_HOURS, timezone="Europe/London", while_failing_every_s=60)
    assert next_tick(schedule, london(2026, 5, 4, 18, 59), failing=True) == london(2026, 5, 5, 8, 0)
    assert previous_tick(schedule, london(2026, 5, 5, 3, 0), failing=True) == london(2026, 5, 4, 18, 59)


# -- due --------------------------------------------------------------------------------------------------------


def test_after_3_hours_of_downtime_one_catch_up_run_for_the_latest_tick() -> None:
    schedule = Schedule(every_s=300, spread_s=20)
    last = utc(2026, 5, 4, 9, 0, 20)
    now = last + timedelta(hours=3, minutes=2)
    assert due(schedule, last, now) == utc(2026, 5, 4, 12, 0, 20)
    assert due(schedule, utc(2026, 5, 4, 12, 0, 20), now) is None  # no burst: the missed ticks are gone


def test_nothing_is_due_before_the_next_tick() -> None:
    schedule = Schedule(every_s=300)
    assert due(schedule, utc(2026, 5, 4, 9, 0), utc(2026, 5, 4, 9, 4, 59)) is None
    assert due(schedule, utc(2026, 5, 4, 9, 0), utc(2026, 5, 4, 9, 5)) == utc(2026, 5, 4, 9, 5)


def test_a_new_every_check_runs_its_latest_tick() -> None:
    assert due(Schedule(every_s=300), None, utc(2026, 5, 4, 9, 3)) == utc(2026, 5, 4, 9, 0)


def test_a_new_business_hours_check_waits_at_night_and_runs_in_the_day() -> None:
    schedule = Schedule(cron=BUSINESS_HOURS, timezone="Europe/London")
    assert due(schedule, None, london(2026, 5, 4, 23, 0)) is None
    assert due(schedule, None, london(2026, 5, 5, 8, 10)) == london(2026, 5, 5, 8, 0)
    assert due(schedule, None, london(2026, 5, 5, 10, 10)) == london(2026, 5, 5, 10, 0)


def test_due_while_failing_takes_the_faster_ticks() -> None:
    schedule = Schedule(every_s=300, while_failing_every_s=60)
    last = utc(2026, 5, 4, 9, 0)
    assert due(schedule, last, utc(2026, 5, 4, 9, 2, 30)) is None
    assert due(schedule, last, utc(2026, 5, 4, 9, 2, 30), failing=True) == utc(2026, 5, 4, 9, 2)


@given(
    every=st.integers(min_value=1, max_value=86_400),
    offset=st.floats(min_value=0, max_value=59.999),
    after=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
)
def test_next_tick_is_the_first_grid_point_after(every: int, offset: float, after: datetime) -> None:
    schedule = Schedule(every_s=every, spread_s=offset)
    tick = next_tick(schedule, after)
    assert after < tick <= after + timedelta(seconds=every)
    assert previous_tick(schedule, tick) == tick
    assert previous_tick(schedule, tick - timedelta(microseconds=1)) <= after


@given(
    last=st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)),
    gap=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=3)),
)
def test_due_is_the_latest_tick_since_the_last_run(last: datetime, gap: timedelta) -> None:
    schedule = Schedule(cron=BUSINESS_HOURS, timezone="Europe/London", while_failing_every_s=120)
    now = last + gap
    tick = due(schedule, last, now, failing=True)
    if tick is None:  # nothing passed since the last run, or only a tick too old to catch up
        latest = previous_tick(schedule, now, failing=True)
        assert latest is not None
        before = previous_tick(schedule, latest - timedelta(microseconds=1), failing=True)
        assert latest <= last or (before is not None and now - latest >= latest - before)
    else:
        assert last < tick <= now < next_tick(schedule, tick, failing=True)


# -- describe and durations -------------------------------------------------------------------------------------


def test_describe_reads_like_the_checks_file() -> None:
    assert describe(Schedule(every_s=300)) == "every 5m"
    assert describe(Schedule(cron=BUSINESS_HOURS, timezone="Europe/London")) == (
        "cron */30 8-18 * * 1-5 (Europe/London)"
    )
    assert (
        describe(Schedule(every_s=5400, while_failing_every_s=60)) == "every 1h30m + every 1m while failing"
    )


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("500ms", 0.5), ("90s", 90), ("5m", 300), ("1h", 3600), ("2d", 172_800), ("1h30m", 5400),
     ("1.5h", 5400), (" 2m 30s ", 150), (45, 45.0), (2.5, 2.5), ("0s", 0)],
)  # fmt: skip
def test_parse_duration_reads_the_checks_file_syntax(text: str | float, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("text", "message"),
    [("90", 'no unit: write "90s"'), ("5 minutes", "not a duration"), ("", "not a duration"),
     ("1x", "not a duration"), ("30m1h", "smaller one first"), ("1m1m", "repeats a unit"),
     ("-5m", "not a duration"), (-5, "negative"), (float("inf"), "infinite"), (True, "number of seconds"),
     (None, "number of seconds")],
)  # fmt: skip
def test_parse_duration_refuses_what_is_not_a_duration(text: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_duration(text)  # type: ignore[arg-type]


@given(st.integers(min_value=0, max_value=10**10))
def test_format_period_reads_back_with_parse_duration(ms: int) -> None:
    assert parse_duration(format_period(ms / 1000)) == pytest.approx(ms / 1000)


# -- maintenance windows ----------------------------------------------------------------------------------------

NIGHTLY = Window("nightly", datetime(2026, 1, 1, 2, 0), 3600, repeat="daily", timezone="Europe/London")


def test_a_nightly_window_covers_exactly_the_ticks_inside_it() -> None:
    schedule = Schedule(every_s=300, spread_s=spread("portal-login", 300))
    day = ticks(schedule, utc(2026, 5, 4), utc(2026, 5, 5))
    skipped = [tick for tick in day if active_window([NIGHTLY], "portal-login", tick)]
    assert len(skipped) == 12
    assert skipped == [tick for tick in day if tick.astimezone(LONDON).hour == 2]


def test_a_day_of_a_5_minute_check_with_a_nightly_window_runs_276_times_and_skips_12() -> None:
    schedule = Schedule(every_s=300, spread_s=spread("portal-login", 300))
    runs, skipped, last, now = [], [], None, utc(2026, 5, 4)
    while now < utc(2026, 5, 5):  # a simulated clock stepping every 10 s, as the scheduler would poll
        now += timedelta(seconds=10)
        if (tick := due(schedule, last, now)) is not None:
            last = tick
            (skipped if active_window([NIGHTLY], "portal-login", tick) else runs).append(tick)
    assert (len(runs), len(skipped)) == (276, 12)
    assert len(set(runs + skipped)) == 288


def test_a_window_stays_at_2am_local_across_the_spring_change() -> None:
    assert active_window([NIGHTLY], "x", utc(2026, 3, 28, 2, 0))  # 02:00 GMT
    assert not active_window([NIGHTLY], "x", utc(2026, 3, 29, 0, 59))
    assert active_window([NIGHTLY], "x", utc(2026, 3, 29, 1, 0))  # 02:00 BST
    assert active_window([NIGHTLY], "x", utc(2026, 3, 29, 1, 59, 59))
    assert not active_window([NIGHTLY], "x", utc(2026, 3, 29, 2, 0))


def test_a_window_stays_at_2am_local_across_the_autumn_change() -> None:
    assert active_window([NIGHTLY], "x", utc(2026, 10, 24, 1, 0))  # 02:00 BST
    assert not active_window([NIGHTLY], "x", utc(2026, 10, 25, 1, 30))  # 01:30 GMT, the second 01:30
    assert active_window([NIGHTLY], "x", utc(2026, 10, 25, 2, 0))  # 02:00 GMT
    assert not active_window([NIGHTLY], "x", utc(2026, 10, 25, 3, 0))


def test_a_window_at_a_time_the_spring_gap_skips_starts_at_the_next_valid_time() -> None:
    window = Window("early", datetime(2026, 3, 1, 1, 30), 1800, repeat="daily", timezone="Europe/London")
    assert wall_time_to_utc(datetime(2026, 3, 29, 1, 30), "Europe/London") == london(2026, 3, 29, 2, 0)
    assert not active_window([window], "x", utc(2026, 3, 29, 0, 59))
    assert active_window([window], "x", london(2026, 3, 29, 2, 0))
    assert active_window([window], "x", london(2026, 3, 29, 2, 29))
    assert not active_window([window], "x", london(2026, 3, 29, 2, 30))


def test_a_window_at_an_ambiguous_time_covers_its_first_occurrence_only() -> None:
    window = Window("early", datetime(2026, 3, 1, 1, 30), 1800, repeat="daily", timezone="Europe/London")
    assert active_window([window], "x", utc(2026, 10, 25, 0, 30))  # 01:30 BST
    assert not active_window([window], "x", utc(2026, 10, 25, 1, 30))  # 01:30 GMT


def test_a_window_for_named_checks_leaves_the_others_running() -> None:
    window = Window("netsuite", datetime(2026, 5, 4, 9, 0), 3600, checks=("netsuite-login",))
    assert active_window([window], "netsuite-login", utc(2026, 5, 4, 9, 30)) == window
    assert active_window([window], "portal-login", utc(2026, 5, 4, 9, 30)) is None


def test_a_one_off_window_happens_once() -> None:
    window = Window("upgrade", datetime(2026, 5, 4, 22, 0), 4 * 3600)
    assert active_window([window], "x", utc(2026, 5, 5, 1, 59))  # runs past midnight
    assert not active_window([window], "x", utc(2026, 5, 5, 22, 30))
    assert not active_window([window], "x", utc(2026, 5, 3, 22, 30))


def test_repeats_weekdays_weekly_and_monthly() -> None:
    weekdays = Window("w", datetime(2026, 5, 4, 12, 0), 600, repeat="weekdays")  # a Monday
    weekly = Window("k", datetime(2026, 5, 4, 12, 0), 600, repeat="weekly")
    monthly = Window("m", datetime(2026, 1, 31, 12, 0), 600, repeat="monthly")
    assert active_window([weekdays], "x", utc(2026, 5, 8, 12, 5))  # Friday
    assert not active_window([weekdays], "x", utc(2026, 5, 9, 12, 5))  # Saturday
    assert active_window([weekly], "x", utc(2026, 5, 11, 12, 5))
    assert not active_window([weekly], "x", utc(2026, 5, 12, 12, 5))
    assert active_window([monthly], "x", utc(2026, 3, 31, 12, 5))
    assert active_window([monthly], "x", utc(2026, 4, 30, 12, 5))  # the 31st falls on the last day
    assert not active_window([monthly], "x", utc(2026, 4, 29, 12, 5))


def test_a_window_refuses_an_offset_in_its_start() -> None:
    with pytest.raises(ValueError, match="without an offset"):
        Window("bad", datetime(2026, 5, 4, 2, 0, tzinfo=UTC), 3600)
    with pytest.raises(ValueError, match="repeat 'yearly'"):
        Window("bad", datetime(2026, 5, 4, 2, 0), 3600, repeat="yearly")  # type: ignore[arg-type]
