"""Prometheus metrics of the checks, named like Grafana Synthetic Monitoring's (`probe_success`, ...), so its
dashboards and alert rules carry over. Labels are check, runbook and env (plus step, status, state, channel,
kind): names from the checks file, never an input value, so no secret can reach a label. A step is named by
its number and its label in the runbook's YAML (step_names.py), never by the text a run rendered.
"""

from __future__ import annotations

from typing import get_args

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from automation.checks.metrics.step_names import metric_step
from automation.checks.model import CheckHealth, CheckRun

# A browser login takes seconds, a slow one tens of seconds; the timeout caps a run around two minutes.
DURATION_BUCKETS = (0.5, 1.0, 2.0, 3.0, 5.0, 7.5, 10.0, 15.0, 20.0, 30.0, 45.0, 60.0, 90.0, 120.0)
HEALTH_WORDS: tuple[str, ...] = get_args(CheckHealth)
LABELS = ("check", "runbook", "env")
# Runs that probed nothing (skipped in a maintenance window, aborted at shutdown, a refused task) leave the last
# result alone.
_NOT_PROBES = frozenset({"skipped", "aborted", "refused"})


class Metrics:
    """The checks' metrics in their own registry (tests create many; the global one would refuse duplicates)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry(auto_describe=True)
        r = self.registry
        self.success = Gauge(
            "probe_success", "1 if the last run passed (or was degraded), else 0", LABELS, registry=r
        )
        self.duration = Gauge("probe_duration_seconds", "Duration of the last run", LABELS, registry=r)
        self.all_duration = Histogram(
            "probe_all_duration_seconds",
            "Durations of all runs",
            LABELS,
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.step_duration = Gauge(
            "probe_step_duration_seconds",
            "Duration of each step in the last run",
            (*LABELS, "step"),
            registry=r,
        )
        self.degraded = Gauge(
            "probe_degraded", "1 if the last run was over a duration threshold", LABELS, registry=r
        )
        self.runs = Counter("probe_runs", "Runs by how they ended", (*LABELS, "status"), registry=r)
        self.state = Gauge(
            "probe_check_state",
            "1 for the check's current state, 0 for the others",
            (*LABELS, "state"),
            registry=r,
        )
        self.alerts = Counter(
            "probe_alerts_sent", "Notifications delivered", (*LABELS, "channel", "kind"), registry=r
        )
        self.last_run = Gauge(
            "probe_last_run_timestamp_seconds", "When the last run finished (Unix time)", LABELS, registry=r
        )
        self._steps: dict[tuple[str, str, str], set[str]] = {}

    def observe(self, run: CheckRun, health: CheckHealth) -> None:
        """Count a finished run and, if it probed the target, make it the check's last result."""
        key = (run.check, run.runbook, run.env)
        self.runs.labels(*key, run.status).inc()
        self.set_health(*key, health)
        if run.status in _NOT_PROBES:
            return
        self.success.labels(*key).set(1 if run.status in ("passed", "degraded") else 0)
        self.degraded.labels(*key).set(1 if run.status == "degraded" else 0)
        self.duration.labels(*key).set(run.duration_s)
        self.all_duration.labels(*key).observe(run.duration_s)
        self.last_run.labels(*key).set(run.finished_at.timestamp())
        self._set_steps(key, {metric_step(run.runbook, s.number): s.duration_s for s in run.steps})

    def set_health(self, check: str, runbook: str, env: str, health: CheckHealth) -> None:
        """The enum pattern: one series per state word, 1 for the current one."""
        for word in HEALTH_WORDS:
            self.state.labels(check, runbook, env, word).set(1 if word == health else 0)

    def alert_sent(self, check: str, runbook: str, env: str, channel: str, kind: str) -> None:
        self.alerts.labels(check, runbook, env, channel, kind).inc()

    def render(self) -> tuple[bytes, str]:
        """The exposition body and its content type, for `/metrics`."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST

    def _set_steps(self, key: tuple[str, str, str], durations: dict[str, float]) -> None:
        # A step the runbook no longer has (or that the last attempt did not reach) must not keep its old value.
        for gone in self._steps.get(key, set()) - durations.keys():
            self.step_duration.remove(*key, gone)
        for step, seconds in durations.items():
            self.step_duration.labels(*key, step).set(seconds)
        self._steps[key] = set(durations)
