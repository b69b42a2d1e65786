"""The metrics exposition after known runs, read back with prometheus_client's own parser."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from prometheus_client.parser import text_string_to_metric_families

from automation.checks.metrics.in_process import Metrics
from automation.checks.model import CheckRun, StepTiming

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
KEY = {"check": "portal-login", "runbook": "synthetic-login", "env": "sandbox"}


def make_run(status: str, duration_s: float, steps: tuple[StepTiming, ...] = ()) -> CheckRun:
    return CheckRun(
        check="portal-login",
        runbook="synthetic-login",
        env="sandbox",
        scheduled_at=NOW,
        started_at=NOW,
        finished_at=NOW + timedelta(seconds=duration_s),
        status=status,  # type: ignore[arg-type]
        duration_s=duration_s,
        steps=steps,
    )


def samples(metrics: Metrics) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    body, content_type = metrics.render()
    assert content_type.startswith("text/plain")
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(body.decode())
        for s in family.samples
    }


def value(found: dict, name: str, **labels: str) -> float | None:
    return found.get((name, frozenset({**KEY, **labels}.items())))


def test_a_degraded_run_after_a_failure_is_a_success_that_names_its_slow_step() -> None:
    metrics = Metrics()
    metrics.observe(make_run("failed", 4.0), "failing")
    steps = (
        StepTiming("1", "Open portal", "passed", 0.7),
        StepTiming("2", "Log In", "passed", 3.2, slow=True),
    )
    metrics.observe(make_run("degraded", 4.5, steps), "degraded")

    found = samples(metrics)
    assert value(found, "probe_success") == 1
    assert value(found, "probe_degraded") == 1
    assert value(found, "probe_duration_seconds") == 4.5
    # named as synthetic-login's YAML names its steps 1 and 2, not by the labels the run showed
    assert value(found, "probe_step_duration_seconds", step="2 Enter the monitoring account's email") == 3.2
    assert value(found, "probe_step_duration_seconds", step="1 Open the login page") == 0.7
    assert value(found, "probe_runs_total", status="failed") == 1
    assert value(found, "probe_runs_total", status="degraded") == 1
    assert value(found, "probe_all_duration_seconds_count") == 2
    assert value(found, "probe_all_duration_seconds_sum") == 8.5
    assert value(found, "probe_all_duration_seconds_bucket", le="3.0") == 0
    assert value(found, "probe_all_duration_seconds_bucket", le="5.0") == 2
    assert value(found, "probe_last_run_timestamp_seconds") == (NOW + timedelta(seconds=4.5)).timestamp()


def test_a_failed_run_sets_success_to_zero() -> None:
    metrics = Metrics()
    metrics.observe(make_run("passed", 2.0), "passing")
    metrics.observe(make_run("timed-out", 60.0), "alerting")
    found = samples(metrics)
    assert value(found, "probe_success") == 0
    assert value(found, "probe_degraded") == 0
    assert value(found, "probe_duration_seconds") == 60.0


def test_check_state_is_one_for_the_current_word_only() -> None:
    metrics = Metrics()
    metrics.observe(make_run("failed", 3.0), "failing")
    metrics.set_health("portal-login", "synthetic-login", "sandbox", "alerting")
    found = samples(metrics)
    states = {
        w: value(found, "probe_check_state", state=w) for w in ("passing", "degraded", "failing", "alerting")
    }
    assert states == {"passing": 0, "degraded": 0, "failing": 0, "alerting": 1}
    assert value(found, "probe_check_state", state="maintenance") == 0


def test_a_skipped_run_is_counted_but_keeps_the_last_result() -> None:
    metrics = Metrics()
    metrics.observe(make_run("passed", 2.0), "passing")
    metrics.observe(make_run("skipped", 0.0), "maintenance")
    found = samples(metrics)
    assert value(found, "probe_success") == 1
    assert value(found, "probe_duration_seconds") == 2.0
    assert value(found, "probe_runs_total", status="skipped") == 1
    assert value(found, "probe_all_duration_seconds_count") == 1
    assert value(found, "probe_check_state", state="maintenance") == 1


def test_a_step_missing_from_the_last_run_leaves_the_exposition() -> None:
    metrics = Metrics()
    metrics.observe(make_run("passed", 2.0, (StepTiming("3", "Verify", "passed", 1.0),)), "passing")
    metrics.observe(make_run("failed", 1.0, (StepTiming("1", "Open", "failed", 1.0),)), "failing")
    found = samples(metrics)
    assert value(found, "probe_step_duration_seconds", step="3 Enter its password") is None
    assert value(found, "probe_step_duration_seconds", step="1 Open the login page") == 1.0


def test_alerts_sent_are_counted_by_channel_and_kind() -> None:
    metrics = Metrics()
    for kind in ("opened", "reminder", "reminder"):
        metrics.alert_sent("portal-login", "synthetic-login", "sandbox", "ticket", kind)
    found = samples(metrics)
    assert value(found, "probe_alerts_sent_total", channel="ticket", kind="reminder") == 2
    assert value(found, "probe_alerts_sent_total", channel="ticket", kind="opened") == 1


def test_two_metrics_objects_do_not_share_a_registry() -> None:
    first, second = Metrics(), Metrics()
    first.observe(make_run("passed", 1.0), "passing")
    assert value(samples(second), "probe_success") is None
