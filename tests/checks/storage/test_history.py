"""The history store on a real SQLite file: ticks, runs, summaries, retention, the outbox, state changes."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from automation.checks.model import Attempt, CheckRun, CheckState, Notification, StepTiming
from automation.checks.storage.history import History

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)


def make_run(
    at: datetime,
    status: str = "passed",
    duration_s: float = 2.0,
    *,
    check: str = "portal-login",
    evidence: Path | None = None,
) -> CheckRun:
    folder = str(evidence) if evidence is not None else None
    return CheckRun(
        check=check,
        runbook="synthetic-login",
        env="sandbox",
        scheduled_at=at,
        started_at=at,
        finished_at=at + timedelta(seconds=duration_s),
        status=status,  # type: ignore[arg-type]
        duration_s=duration_s,
        summary=f"login {status}",
        attempts=(Attempt(1, status, "run-1", folder, duration_s, started_at=at),),  # type: ignore[arg-type]
    )


def evidence_folder(root: Path, name: str) -> Path:
    folder = root / name
    (folder / "screenshots").mkdir(parents=True)
    (folder / "report.html").write_text("<html></html>")
    return folder


@pytest.fixture
def history(tmp_path: Path) -> Iterator[History]:
    store = History(data_dir=tmp_path / "data")
    yield store
    store.close()


def test_a_tick_is_claimed_once(history: History) -> None:
    assert history.claim("portal-login", NOW) is True
    assert history.claim("portal-login", NOW) is False
    assert history.claim("portal-login", NOW + timedelta(minutes=5)) is True
    assert history.claim("netsuite-login", NOW) is True


def test_a_second_store_on_the_same_file_cannot_claim_a_claimed_tick(
    history: History, tmp_path: Path
) -> None:
    other = History(data_dir=tmp_path / "data")
    try:
        assert history.claim("portal-login", NOW)
        assert not other.claim(
            "portal-login", NOW.astimezone(timezone(timedelta(hours=1)))
        )  # same instant, other zone
    finally:
        other.close()


def test_a_run_round_trips_with_its_attempts_and_steps(history: History, tmp_path: Path) -> None:
    run = CheckRun(
        check="portal-login",
        runbook="synthetic-login",
        env="sandbox",
        scheduled_at=NOW,
        started_at=NOW + timedelta(seconds=3),
        finished_at=NOW + timedelta(seconds=9.5),
        status="degraded",
        duration_s=6.5,
        summary="passed, but step 2 Log In took 3.1 s (over 2 s)",
        outcome="signed-in",
        slow_steps=("Log In",),
        attempts=(
            Attempt(1, "failed", "r1", str(tmp_path / "r1"), 2.0, error="timeout", started_at=NOW),
            Attempt(2, "degraded", "r2", str(tmp_path / "r2"), 4.5, outcome="signed-in", started_at=NOW),
        ),
        steps=(
            StepTiming("1", "Open portal", "passed", 0.8),
            StepTiming("2", "Log In", "passed", 3.1, slow=True),
        ),
    )
    stored = history.record(run)
    assert stored.id is not None

    (loaded,) = history.runs("portal-login")
    assert loaded == stored
    assert loaded.started_at.tzinfo is not None and loaded.started_at == run.started_at
    assert loaded.report == f"{tmp_path / 'r2'}/report.html"
    assert history.last_run("portal-login") == stored
    assert history.last_run("nobody") is None


def test_runs_are_newest_first_and_filtered_by_since_and_limit(history: History) -> None:
    for minutes in range(0, 60, 5):
        history.record(make_run(NOW + timedelta(minutes=minutes)))
    assert [r.started_at.minute for r in history.runs("portal-login", limit=3)] == [55, 50, 45]
    assert len(history.runs("portal-login", since=NOW + timedelta(minutes=30))) == 6
    assert history.checks() == ["portal-login"]


def test_a_skip_is_recorded_with_its_reason(history: History) -> None:
    skip = history.record_skip(
        "portal-login", "synthetic-login", "sandbox", NOW, "maintenance: nightly deploy"
    )
    assert (skip.status, skip.summary, skip.attempts) == ("skipped", "maintenance: nightly deploy", ())
    assert history.runs("portal-login") == [skip]


def test_summary_gives_uptime_and_percentiles_from_known_durations(history: History) -> None:
    # 24 h: 20 runs of 1..20 s; the 19th failed, the 20th degraded; plus a skip and an abort that do not count.
    for i in range(1, 21):
        status = {19: "failed", 20: "degraded"}.get(i, "passed")
        history.record(make_run(NOW - timedelta(hours=1, minutes=i), status, float(i)))
    history.record_skip("portal-login", "synthetic-login", "sandbox", NOW - timedelta(hours=2), "maintenance")
    history.record(make_run(NOW - timedelta(hours=3), "aborted", 0.5))
    # Two days ago: 4 failures, counted in 7 d only.
    for i in range(4):
        history.record(make_run(NOW - timedelta(days=2, minutes=i), "timed-out", 60.0))

    s = history.summary("portal-login", NOW)
    assert s.uptime_24h == pytest.approx(19 / 20)
    assert s.uptime_7d == pytest.approx(19 / 24)
    assert s.p50_s == pytest.approx(10.5)
    assert s.p95_s == pytest.approx(19.05)
    assert (s.runs_24h, s.failures_24h, s.degraded_24h, s.skipped_24h) == (21, 1, 1, 1)
    assert s.last_run is not None and s.last_run.duration_s == 1.0


def test_summary_of_a_check_without_runs_is_empty(history: History) -> None:
    s = history.summary("portal-login", NOW)
    assert (s.uptime_24h, s.uptime_7d, s.p50_s, s.p95_s, s.runs_24h, s.last_run) == (
        None,
        None,
        None,
        None,
        0,
        None,
    )


def test_prune_removes_passed_evidence_first_and_failed_evidence_later(
    history: History, tmp_path: Path
) -> None:
    root = tmp_path / "traces"
    old_pass = evidence_folder(root, "old-pass")
    new_pass = evidence_folder(root, "new-pass")
    old_fail = evidence_folder(root, "old-fail")
    ancient_fail = evidence_folder(root, "ancient-fail")
    history.record(make_run(NOW - timedelta(days=3), "passed", evidence=old_pass))
    history.record(make_run(NOW - timedelta(hours=1), "passed", evidence=new_pass))
    history.record(make_run(NOW - timedelta(days=3), "failed", evidence=old_fail))
    history.record(make_run(NOW - timedelta(days=31), "degraded", evidence=ancient_fail))

    removed = history.prune(NOW, passed_s=2 * 86400, failed_s=30 * 86400)

    assert sorted(removed) == sorted([str(old_pass), str(ancient_fail)])
    assert not old_pass.exists() and not ancient_fail.exists()
    assert new_pass.exists() and old_fail.exists()
    assert sorted(r.status for r in history.runs("portal-login")) == ["failed", "passed"]


def test_prune_never_removes_what_an_open_ticket_points_at(history: History, tmp_path: Path) -> None:
    ticketed = evidence_folder(tmp_path / "traces", "ticketed")
    history.record(make_run(NOW - timedelta(days=90), "failed", evidence=ticketed))

    assert history.prune(NOW, passed_s=0, failed_s=0, keep={str(ticketed)}) == []
    assert ticketed.exists() and len(history.runs("portal-login")) == 1


def test_prune_deletes_the_steps_and_attempts_of_a_pruned_run(history: History, tmp_path: Path) -> None:
    run = make_run(NOW - timedelta(days=5), "passed")
    history.record(
        CheckRun(**{**run.__dict__, "steps": (StepTiming("1", "Log In", "passed", 1.0),)})  # type: ignore[arg-type]
    )
    history.prune(NOW, passed_s=86400, failed_s=86400)
    with sqlite3.connect(tmp_path / "data" / "checks.db") as db:
        assert db.execute("select count(*) from steps").fetchone() == (0,)
        assert db.execute("select count(*) from attempts").fetchone() == (0,)


def test_the_outbox_keeps_a_failed_delivery_pending_until_delivered(history: History) -> None:
    n = Notification("opened", "portal-login", NOW, "portal-login is failing: login failed", status="failed")
    nid = history.add_notification(n, "ticket")
    assert history.pending_notifications() == [(nid, "ticket", n)]
    assert history.pending_notifications("webhook") == []

    history.mark_notification(nid, "failed", "tracker answered 503")
    assert history.pending_notifications("ticket") == [(nid, "ticket", n)]
    (row,) = history.notifications("portal-login")
    assert (row["status"], row["attempts"], row["detail"]) == ("failed", 1, "tracker answered 503")

    history.mark_notification(nid, "delivered", "ticket T-12")
    assert history.pending_notifications() == []
    (row,) = history.notifications()
    assert (row["kind"], row["channel"], row["status"], row["attempts"]) == (
        "opened",
        "ticket",
        "delivered",
        2,
    )
    assert row["at"] == NOW and row["message"] == n.message
    with pytest.raises(KeyError):
        history.mark_notification(nid + 1, "delivered")


def test_state_round_trips_and_health_changes_are_recorded(history: History) -> None:
    assert history.state("portal-login") == CheckState()
    failing = CheckState(
        consecutive_failures=1,
        recent_failures=(NOW,),
        failing_since=NOW,
        last_status="failed",
        last_run_at=NOW,
    )
    history.save_state("portal-login", failing)
    history.save_state("portal-login", failing.with_(consecutive_failures=2), at=NOW + timedelta(minutes=5))
    alerting = failing.with_(alerting=True, alert_opened_at=NOW + timedelta(minutes=10), ticket_id="T-1")
    history.save_state("portal-login", alerting, health="alerting", at=NOW + timedelta(minutes=10))
    history.save_state("portal-login", alerting, health="maintenance", at=NOW + timedelta(minutes=15))
    # A bookkeeping save without a health word keeps "maintenance": no change logged.
    history.save_state("portal-login", alerting.with_(last_tick=NOW), at=NOW + timedelta(minutes=20))

    assert history.state("portal-login") == alerting.with_(last_tick=NOW)
    assert history.state_changes("portal-login") == [
        (NOW, "unknown", "failing"),
        (NOW + timedelta(minutes=10), "failing", "alerting"),
        (NOW + timedelta(minutes=15), "alerting", "maintenance"),
    ]
    assert len(history.state_changes("portal-login", since=NOW + timedelta(minutes=12))) == 1
    assert history.checks() == ["portal-login"]


def test_the_sqlite_file_uses_wal(history: History, tmp_path: Path) -> None:
    history.record(make_run(NOW))
    with sqlite3.connect(tmp_path / "data" / "checks.db") as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    with history.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000


def test_two_stores_writing_from_two_threads_lose_nothing(tmp_path: Path) -> None:
    stores = [History(data_dir=tmp_path / "data") for _ in range(2)]
    errors: list[BaseException] = []

    def write(store: History, check: str) -> None:
        try:
            for i in range(60):
                at = NOW + timedelta(minutes=i)
                assert store.claim(check, at)
                store.record(make_run(at, check=check))
                store.save_state(check, CheckState(consecutive_passes=i + 1, last_status="passed"), at=at)
                store.add_notification(Notification("reminder", check, at, f"{check} {i}"), "webhook")
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(s, f"check-{n}")) for n, s in enumerate(stores)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert errors == []
        for n in range(2):
            assert len(stores[0].runs(f"check-{n}")) == 60
            assert stores[1].state(f"check-{n}").consecutive_passes == 60
        assert len(stores[0].pending_notifications("webhook")) == 120
    finally:
        for s in stores:
            s.close()


def test_an_in_memory_store_works_for_unit_tests() -> None:
    store = History("sqlite://")
    store.record(make_run(NOW))
    assert store.claim("portal-login", NOW) and len(store.runs("portal-login")) == 1
    store.close()
