"""Login throttling as a pure function of the recent failures and now: the tenth try within a minute waits."""

from __future__ import annotations

from automation.console.throttle import MAX_FAILURES, LoginThrottle, retry_after, throttled


def test_nine_failures_within_a_minute_refuse_the_tenth_attempt() -> None:
    failures = [100.0 + i for i in range(MAX_FAILURES)]
    assert not throttled(failures[:-1], 110.0)
    assert throttled(failures, 110.0)


def test_failures_older_than_a_minute_do_not_count() -> None:
    failures = [100.0 + i for i in range(MAX_FAILURES)]
    assert throttled(failures, 159.9)
    assert not throttled(failures, 160.0)  # the first failure is a minute old: eight remain


def test_retry_after_is_when_the_oldest_recent_failure_leaves_the_window() -> None:
    failures = [100.0 + i for i in range(MAX_FAILURES)]
    assert retry_after(failures, 110.0) == 50
    assert retry_after([], 110.0) == 0


def test_a_name_and_a_client_are_counted_apart() -> None:
    throttle = LoginThrottle()
    for i in range(MAX_FAILURES):
        throttle.failed(["name:ana", f"client:10.0.0.{i}"], 100.0 + i)
    assert throttle.refused(["name:ana", "client:10.0.0.99"], 110.0) > 0  # ana's name is throttled
    assert throttle.refused(["name:bob", "client:10.0.0.1"], 110.0) == 0  # one failure from that client


def test_guesses_at_many_names_from_one_client_are_throttled() -> None:
    throttle = LoginThrottle()
    for i in range(MAX_FAILURES):
        throttle.failed([f"name:user{i}", "client:10.0.0.7"], 100.0 + i)
    assert throttle.refused(["name:someone-new", "client:10.0.0.7"], 110.0) > 0


def test_a_right_password_clears_the_name_but_not_the_client() -> None:
    throttle = LoginThrottle()
    for i in range(MAX_FAILURES):
        throttle.failed(["name:ana", "client:10.0.0.7"], 100.0 + i)
    throttle.forget("name:ana")
    assert throttle.refused(["name:ana", "client:10.0.0.8"], 110.0) == 0
    assert throttle.refused(["name:ana", "client:10.0.0.7"], 110.0) > 0
