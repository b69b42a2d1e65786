"""The alert policy as a user sees it: when a check alerts, what it says, when it stops reminding and recovers.
`decide` is pure: these tests feed it runs and times, no browser and no clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from automation.checks.alerting.policy import decide, format_duration, is_failing, remind_due
from automation.checks.model import AlertRule, Attempt, CheckRun, CheckState, CheckStatus, Notification

T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
FLAPPING: list[CheckStatus] = ["failed", "passed", "failed", "failed", "passed", "failed"]
WINDOWED = AlertRule(after=3, within_s=900)
CONSECUTIVE = AlertRule(after=3)


def make_run(status: CheckStatus, at: datetime, n: int = 1, summary: str | None = None) -> CheckRun:
    attempt = Attempt(1, status, f"run-{n}", f"traces/run-{n}", 2.0)
    default = "step 4 (Log In) timed out" if status != "passed" else "passed"
    return CheckRun(
        check="portal-login",
        runbook="synthetic-login",
        env="sandbox",
        scheduled_at=at,
        started_at=at,
        finished_at=at,
        status=status,
        duration_s=2.0,
        summary=default if summary is None else summary,
        attempts=(attempt,),
    )


def simulate(
    rule: AlertRule,
    statuses: list[CheckStatus],
    *,
    state: CheckState | None = None,
    start: datetime = T0,
    every: timedelta = MINUTE,
) -> tuple[CheckState, list[list[Notification]]]:
    """Feed one run per status, `every` apart; the final state and the notifications of each run."""
    state = state or CheckState()
    per_run = []
    for n, status in enumerate(statuses):
        at = start + n * every
        state, notes = decide(rule, state, make_run(status, at, n + 1), at)
        per_run.append(notes)
    return state, per_run


def kinds(per_run: list[list[Notification]]) -> list[list[str]]:
    return [[note.kind for note in notes] for notes in per_run]


# -- the acceptance sequence ------------------------------------------------------------------------------------


def test_a_flapping_login_opens_one_alert_under_failures_within_15m() -> None:
    state, per_run = simulate(WINDOWED, FLAPPING)
    assert kinds(per_run) == [[], [], [], ["opened"], [], ["failed-again"]]
    opened = per_run[3][0]
    assert opened.at == T0 + 3 * MINUTE
    assert opened.message == (
        "portal-login is failing: 3 failures in 15m; last: failed — step 4 (Log In) timed out"
    )
    assert state.alerting and state.failing_since == T0


def test_the_same_flapping_login_never_alerts_under_3_consecutive() -> None:
    state, per_run = simulate(CONSECUTIVE, FLAPPING)
    assert kinds(per_run) == [[]] * 6
    assert not state.alerting


def test_recovery_after_2_passes_says_how_long_it_was_down() -> None:
    state, per_run = simulate(WINDOWED, [*FLAPPING, "passed", "passed"])
    recovered = [note for notes in per_run for note in notes if note.kind == "recovered"]
    assert kinds(per_run)[6:] == [[], ["recovered"]]
    assert len(recovered) == 1
    assert recovered[0].downtime_s == (T0 + 7 * MINUTE - T0).total_seconds() == 420
    assert recovered[0].message == "portal-login recovered after 7m down (4 failures)"
    assert state == CheckState(last_status="passed", last_run_at=T0 + 7 * MINUTE)


# -- when an alert opens ----------------------------------------------------------------------------------------


def test_three_consecutive_failures_open_an_alert() -> None:
    _, per_run = simulate(CONSECUTIVE, ["failed", "timed-out", "error"])
    assert kinds(per_run) == [[], [], ["opened"]]
    assert per_run[2][0].message.startswith("portal-login is failing: 3 failures in a row; last: error")


def test_a_pass_resets_the_consecutive_count() -> None:
    state, per_run = simulate(CONSECUTIVE, ["failed", "failed", "passed", "failed", "failed"])
    assert kinds(per_run) == [[]] * 5
    assert state.consecutive_failures == 2 and state.failing_since == T0 + 3 * MINUTE


def test_failures_further_apart_than_the_window_never_alert() -> None:
    state, per_run = simulate(WINDOWED, ["failed"] * 12, every=timedelta(minutes=10))
    assert kinds(per_run) == [[]] * 12  # at most 2 failures in any 15 minutes
    assert len(state.recent_failures) == 2


def test_an_episode_starts_again_once_its_failures_have_left_the_window() -> None:
    state, _ = simulate(WINDOWED, ["failed", *["passed"] * 20, "failed"])
    assert state.failing_since == T0 + 21 * MINUTE
    assert state.episode_failures == 1


def test_degraded_runs_alert_only_when_the_rule_says_so() -> None:
    degraded: list[CheckStatus] = ["degraded"] * 3
    assert kinds(simulate(AlertRule(after=3), degraded)[1]) == [[]] * 3
    assert kinds(simulate(AlertRule(after=3, on_degraded=True), degraded)[1]) == [[], [], ["opened"]]


def test_notifications_point_at_the_run_that_caused_them() -> None:
    _, per_run = simulate(CONSECUTIVE, ["failed"] * 3)
    opened = per_run[2][0]
    assert (opened.run_id, opened.evidence_dir, opened.status) == ("run-3", "traces/run-3", "failed")
    assert opened.extra["report"] == "traces/run-3/report.html"


def test_a_summary_that_opens_with_the_status_is_not_repeated() -> None:
    run = make_run("failed", T0, summary="failed after 2 attempts: no element matches 'Log In'")
    state = CheckState(consecutive_failures=2, failing_since=T0 - 2 * MINUTE)
    _, notes = decide(CONSECUTIVE, state, run, T0)
    assert notes[0].message.endswith("; last: failed after 2 attempts: no element matches 'Log In'")


# -- while alerting ---------------------------------------------------------------------------------------------


def test_each_later_failure_is_failed_again_with_how_long_it_has_been_failing() -> None:
    _, per_run = simulate(CONSECUTIVE, ["failed"] * 5)
    assert kinds(per_run) == [[], [], ["opened"], ["failed-again"], ["failed-again"]]
    assert per_run[4][0].message.startswith(
        "portal-login failed again (failure 5, failing for 4m); last: failed"
    )


def test_reminders_stop_at_at_most_and_are_spaced_remind_every_apart() -> None:
    rule = AlertRule(after=3, remind_every_s=3600, remind_at_most=3)
    state, per_run = simulate(rule, ["failed"] * (6 * 60))  # six hours failing, a run a minute
    reminders = [note for notes in per_run for note in notes if note.kind == "reminder"]
    opened_at = T0 + 2 * MINUTE
    assert [note.reminder for note in reminders] == [1, 2, 3]
    assert [note.at for note in reminders] == [opened_at + timedelta(hours=h) for h in (1, 2, 3)]
    assert "(reminder 2 of 3)" in reminders[1].message
    assert state.reminders_sent == 3


def test_no_reminders_without_a_remind_rule() -> None:
    _, per_run = simulate(AlertRule(after=1), ["failed"] * 300)
    assert not [note for notes in per_run for note in notes if note.kind == "reminder"]


def test_the_recovery_note_counts_failures_and_reminders() -> None:
    rule = AlertRule(after=3, remind_every_s=600, remind_at_most=5)
    _, per_run = simulate(rule, [*["failed"] * 23, "passed", "passed"])
    assert per_run[-1][0].message == "portal-login recovered after 24m down (23 failures, 2 reminders)"


def test_a_failure_during_the_recovery_streak_starts_it_again() -> None:
    _, per_run = simulate(CONSECUTIVE, ["failed"] * 3 + ["passed", "failed", "passed", "passed"])
    assert kinds(per_run)[3:] == [[], ["failed-again"], [], ["recovered"]]


def test_degraded_counts_as_a_pass_towards_recovery_unless_it_alerts() -> None:
    _, per_run = simulate(CONSECUTIVE, ["failed"] * 3 + ["degraded", "degraded"])
    assert kinds(per_run)[-1] == ["recovered"]


def test_recovery_closes_the_ticket_and_keeps_the_claimed_tick() -> None:
    state, _ = simulate(CONSECUTIVE, ["failed"] * 3)
    state = state.with_(ticket_id="CHK-7", last_tick=T0)
    state, per_run = simulate(CONSECUTIVE, ["passed", "passed"], state=state, start=T0 + 10 * MINUTE)
    assert kinds(per_run) == [[], ["recovered"]]
    assert state.ticket_id is None and state.last_tick == T0 and not state.alerting


# -- runs that are not results ----------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["skipped", "aborted"])
def test_skipped_and_aborted_runs_leave_the_alert_state_alone(status: CheckStatus) -> None:
    state, _ = simulate(CONSECUTIVE, ["failed", "failed"])
    after, notes = decide(CONSECUTIVE, state, make_run(status, T0 + 5 * MINUTE), T0 + 5 * MINUTE)
    assert after == state and notes == []
    _, later = decide(CONSECUTIVE, after, make_run("failed", T0 + 6 * MINUTE), T0 + 6 * MINUTE)
    assert [note.kind for note in later] == ["opened"]  # the maintenance window did not reset the count


# -- helpers and validation -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (45, "45s"), (60, "1m"), (1390, "23m 10s"), (7530, "2h 5m"), (7200, "2h"), (7260, "2h 1m"), (7259, "2h"),
     (273_600, "3d 4h"), (44.6, "45s"), (-3, "0s")],
)  # fmt: skip
def test_format_duration_reads_like_a_person_says_it(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


def test_remind_due_waits_remind_every_since_the_last_reminder() -> None:
    rule = AlertRule(remind_every_s=3600, remind_at_most=2)
    state = CheckState(alerting=True, alert_opened_at=T0)
    assert not remind_due(rule, state, T0 + timedelta(minutes=59))
    assert remind_due(rule, state, T0 + timedelta(hours=1))
    assert not remind_due(
        rule, state.with_(last_reminder_at=T0 + timedelta(hours=1)), T0 + timedelta(hours=1.5)
    )
    assert not remind_due(rule, state.with_(reminders_sent=2), T0 + timedelta(hours=9))
    assert not remind_due(rule, CheckState(), T0 + timedelta(hours=9))


def test_is_failing_follows_the_rule() -> None:
    assert [is_failing(CONSECUTIVE, s) for s in ("failed", "timed-out", "error", "degraded", "passed")] == [
        True,
        True,
        True,
        False,
        False,
    ]
    assert is_failing(AlertRule(on_degraded=True), "degraded")


def test_a_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        decide(CONSECUTIVE, CheckState(), make_run("failed", T0), datetime(2026, 5, 4, 9, 0))


@pytest.mark.parametrize(
    ("changes", "message"),
    [({"after": 0}, "at least 1"), ({"recover_after": 0}, "at least 1"), ({"within_s": 0}, "within"),
     ({"remind_every_s": -1}, "remind.every"), ({"remind_at_most": -1}, "at_most")],
)  # fmt: skip
def test_an_impossible_rule_is_refused(changes: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        AlertRule(**changes)  # type: ignore[arg-type]


# -- properties over any sequence -------------------------------------------------------------------------------

STATUSES: list[CheckStatus] = ["passed", "degraded", "failed", "timed-out", "error", "aborted", "skipped"]
rules = st.builds(
    AlertRule,
    after=st.integers(1, 5),
    within_s=st.none() | st.sampled_from([60.0, 300.0, 900.0, 3600.0]),
    recover_after=st.integers(1, 4),
    remind_every_s=st.none() | st.sampled_from([60.0, 300.0, 1800.0]),
    remind_at_most=st.integers(0, 4),
    on_degraded=st.booleans(),
)
histories = st.lists(st.tuples(st.sampled_from(STATUSES), st.integers(1, 1800)), max_size=120)


def replay(rule: AlertRule, history: list[tuple[CheckStatus, int]]) -> list[tuple[CheckState, Notification]]:
    state, now, told = CheckState(), T0, []
    for n, (status, gap) in enumerate(history):
        now += timedelta(seconds=gap)
        state, notes = decide(rule, state, make_run(status, now, n), now)
        told += [(state, note) for note in notes]
    return told


@given(rules, histories)
def test_opened_and_recovered_alternate(rule: AlertRule, history: list[tuple[CheckStatus, int]]) -> None:
    edges = [note.kind for _, note in replay(rule, history) if note.kind in ("opened", "recovered")]
    assert edges == ["opened", "recovered"] * (len(edges) // 2) + ["opened"] * (len(edges) % 2)


@given(rules, histories)
def test_reminders_per_episode_never_exceed_at_most(
    rule: AlertRule, history: list[tuple[CheckStatus, int]]
) -> None:
    reminders, alerting = 0, False
    for _, note in replay(rule, history):
        if note.kind == "opened":
            reminders, alerting = 0, True
        elif note.kind == "recovered":
            alerting = False
        else:
            assert alerting, f"{note.kind} outside an alert"
            if note.kind == "reminder":
                reminders += 1
                assert note.reminder == reminders <= rule.remind_at_most


@given(rules, histories)
def test_recovery_downtime_is_never_negative(rule: AlertRule, history: list[tuple[CheckStatus, int]]) -> None:
    for state, note in replay(rule, history):
        if note.kind == "recovered":
            assert note.downtime_s is not None and note.downtime_s >= 0 and not state.alerting


@given(rules, st.lists(st.tuples(st.sampled_from(["passed", "skipped", "aborted"]), st.integers(1, 3600))))
def test_a_check_that_never_fails_never_notifies(
    rule: AlertRule, history: list[tuple[CheckStatus, int]]
) -> None:
    assert replay(rule, history) == []
