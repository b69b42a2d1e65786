"""The checks' Prometheus metrics read from the history store, so `/metrics` shows the whole fleet whichever
process (a Celery worker, another machine's scheduler) ran the runs.

Same names and labels as in_process.Metrics, which counts what one process saw: here a custom collector asks the
database at each scrape. Counters count what history holds (retention prunes old runs, which Prometheus reads
as a counter reset); the gauges are the last recorded run of each check, as Metrics.observe keeps them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from sqlalchemy import Integer, case, func, select
from sqlalchemy.engine import Connection

from automation.checks.metrics.in_process import DURATION_BUCKETS, HEALTH_WORDS
from automation.checks.metrics.step_names import metric_step
from automation.checks.storage.history import History
from automation.store.tables.history import check_states, notifications, runs, steps

_NOT_PROBES = ("skipped", "aborted", "refused")
Key = tuple[str, str, str]  # check, runbook, env


@dataclass(frozen=True)
class Snapshot:
    """What one scrape reads from the database, in one transaction."""

    last_probe: dict[Key, Any]  # the row of each check's last run that probed the target
    step_seconds: dict[Key, dict[str, float]]
    runs: list[tuple[Key, str, int]]  # (labels, status, count)
    durations: list[tuple[Key, list[int], int, float]]  # (labels, cumulative bucket counts, count, sum)
    health: dict[Key, str]
    alerts: list[tuple[Key, str, str, int]]  # (labels, channel kind, notification kind, count)


def snapshot(history: History) -> Snapshot:
    """Read the fleet's figures for one scrape."""
    with history.engine.connect() as conn:
        labels = _labels_by_check(conn)
        last = _last_probes(conn)
        return Snapshot(
            last_probe={_key(r): r for r in last},
            step_seconds=_steps_of(conn, {r.id: _key(r) for r in last}),
            runs=[(_key(r), r.status, r.n) for r in conn.execute(_run_counts())],
            durations=_durations(conn),
            health={labels[name]: word for name, word in _healths(conn) if name in labels},
            alerts=_alerts(conn, labels),
        )


class HistoryCollector:
    """A prometheus_client collector over the history store (registered in its own registry)."""

    def __init__(self, history: History) -> None:
        self.history = history

    def describe(self) -> list[Metric]:
        return []  # registering must not touch the database; families are known at collect time

    def collect(self) -> Iterator[Metric]:
        snap = snapshot(self.history)
        labels = ["check", "runbook", "env"]
        success = GaugeMetricFamily(
            "probe_success", "1 if the last run passed (or was degraded), else 0", labels=labels
        )
        duration = GaugeMetricFamily("probe_duration_seconds", "Duration of the last run", labels=labels)
        degraded = GaugeMetricFamily(
            "probe_degraded", "1 if the last run was over a duration threshold", labels=labels
        )
        last_run = GaugeMetricFamily(
            "probe_last_run_timestamp_seconds", "When the last run finished (Unix time)", labels=labels
        )
        for key, row in sorted(snap.last_probe.items()):
            success.add_metric(key, 1.0 if row.status in ("passed", "degraded") else 0.0)
            duration.add_metric(key, row.duration_s)
            degraded.add_metric(key, 1.0 if row.status == "degraded" else 0.0)
            last_run.add_metric(key, row.finished_at.timestamp())
        yield from (success, duration, degraded, last_run)
        yield _step_family(snap, labels)
        yield _histogram(snap, labels)
        counts = CounterMetricFamily("probe_runs", "Runs by how they ended", labels=[*labels, "status"])
        for key, status, n in sorted(snap.runs):
            counts.add_metric([*key, status], n)
        yield counts
        state = GaugeMetricFamily(
            "probe_check_state",
            "1 for the check's current state, 0 for the others",
            labels=[*labels, "state"],
        )
        for key, word in sorted(snap.health.items()):
            for each in HEALTH_WORDS:
                state.add_metric([*key, each], 1.0 if each == word else 0.0)
        yield state
        alerts = CounterMetricFamily(
            "probe_alerts_sent", "Notifications delivered", labels=[*labels, "channel", "kind"]
        )
        for key, channel, kind, n in sorted(snap.alerts):
            alerts.add_metric([*key, channel, kind], n)
        yield alerts


class FleetMetrics:
    """What create_app needs of a metrics object (`render`), answered from the shared database."""

    def __init__(self, history: History) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(HistoryCollector(history))

    def render(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


def _step_family(snap: Snapshot, labels: list[str]) -> Metric:
    family = GaugeMetricFamily(
        "probe_step_duration_seconds", "Duration of each step in the last run", labels=[*labels, "step"]
    )
    for key, durations in sorted(snap.step_seconds.items()):
        for step, seconds in durations.items():
            family.add_metric([*key, step], seconds)
    return family


def _histogram(snap: Snapshot, labels: list[str]) -> Metric:
    family = HistogramMetricFamily("probe_all_duration_seconds", "Durations of all runs", labels=labels)
    for key, cumulative, count, total in sorted(snap.durations):
        buckets = [(_le(b), float(n)) for b, n in zip(DURATION_BUCKETS, cumulative, strict=True)]
        family.add_metric(list(key), [*buckets, ("+Inf", float(count))], sum_value=total)
    return family


def _le(bound: float) -> str:
    return str(float(bound))  # prometheus_client writes bucket bounds as floats: le="0.5", le="10.0"


# -- queries (SQLAlchemy Core: the same on SQLite and PostgreSQL) ---------------------------------------------


def _key(row: Any) -> Key:
    return (row.check_name, row.runbook, row.env)


def _latest_ids(*where: Any) -> Any:
    return select(func.max(runs.c.id)).where(*where).group_by(runs.c.check_name)


def _last_probes(conn: Connection) -> list[Any]:
    # The last recorded run, as Metrics.observe keeps it (id order is recording order).
    latest = _latest_ids(runs.c.status.notin_(_NOT_PROBES))
    return list(conn.execute(select(runs).where(runs.c.id.in_(latest))))


def _labels_by_check(conn: Connection) -> dict[str, Key]:
    rows = conn.execute(
        select(runs.c.check_name, runs.c.runbook, runs.c.env).where(runs.c.id.in_(_latest_ids()))
    )
    return {r.check_name: _key(r) for r in rows}


def _steps_of(conn: Connection, keys: dict[int, Key]) -> dict[Key, dict[str, float]]:
    found: dict[Key, dict[str, float]] = {key: {} for key in keys.values()}
    if not keys:
        return found
    query = select(steps).where(steps.c.check_run_id.in_(list(keys))).order_by(steps.c.position)
    for s in conn.execute(query):
        key = keys[s.check_run_id]
        # The stored label is what the run showed (a `say` step's rendered text): the runbook names the step.
        found[key][metric_step(key[1], s.number)] = s.duration_s
    return found


def _run_counts() -> Any:
    # A tick skipped in a maintenance window is no run (run_check.skip_check counts none either).
    group = (runs.c.check_name, runs.c.runbook, runs.c.env, runs.c.status)
    return select(*group, func.count().label("n")).where(runs.c.status != "skipped").group_by(*group)


def _durations(conn: Connection) -> list[tuple[Key, list[int], int, float]]:
    group = (runs.c.check_name, runs.c.runbook, runs.c.env)
    buckets = [
        func.sum(case((runs.c.duration_s <= bound, 1), else_=0)).cast(Integer).label(f"b{i}")
        for i, bound in enumerate(DURATION_BUCKETS)
    ]
    query = (
        select(*group, func.count().label("n"), func.sum(runs.c.duration_s).label("total"), *buckets)
        .where(runs.c.status.notin_(_NOT_PROBES))
        .group_by(*group)
    )
    rows = conn.execute(query).mappings()
    return [
        (
            (r["check_name"], r["runbook"], r["env"]),
            [int(r[f"b{i}"] or 0) for i in range(len(DURATION_BUCKETS))],
            int(r["n"]),
            float(r["total"] or 0.0),
        )
        for r in rows
    ]


def _healths(conn: Connection) -> list[tuple[str, str]]:
    return [
        (r.check_name, r.health)
        for r in conn.execute(select(check_states.c.check_name, check_states.c.health))
    ]


def _alerts(conn: Connection, labels: dict[str, Key]) -> list[tuple[Key, str, str, int]]:
    n = notifications.c
    query = (
        select(n.check_name, n.channel, n.kind, func.count().label("count"))
        .where(n.status == "delivered")
        .group_by(n.check_name, n.channel, n.kind)
    )
    # A channel id is "<kind>:<where>" (config.ChannelConfig.id); the label is the kind, as Metrics.alert_sent.
    totals: dict[tuple[Key, str, str], int] = {}
    for r in conn.execute(query):
        if r.check_name in labels:
            key = (labels[r.check_name], r.channel.split(":", 1)[0], r.kind)
            totals[key] = totals.get(key, 0) + r.count
    return [(*key, count) for key, count in totals.items()]
