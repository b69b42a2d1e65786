"""Alert channels through the outbox: a signed webhook a chat tool can show, reminders that stop, nothing lost
while the receiver is down. Runs are given (no browser): the policy and channels are what is under test."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from automation.checks.config.load import Check, load_checks
from automation.checks.model import CheckRun
from automation.checks.storage.history import History
from automation.checks.watchdog.run_check import Host, settle

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
SECRET = "hook-signing-key"


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def setup(
    tmp_path: Path, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> tuple[Check, Host, list[dict]]:
    monkeypatch.setenv("OPS_HOOK", httpserver.url_for("/hook"))
    monkeypatch.setenv("OPS_HOOK_KEY", SECRET)
    path = tmp_path / "checks.yaml"
    path.write_text(
        "checks:\n  portal-login:\n    runbook: synthetic-login\n    every: 1m\n"
        "    alert:\n      after: 2\n      recover_after: 1\n      remind: {every: 10m, at_most: 2}\n"
        "      channels:\n        - webhook: {url_env: OPS_HOOK, secret_env: OPS_HOOK_KEY}\n"
    )
    check = load_checks(path).checks["portal-login"]
    host = Host(
        history=History(data_dir=tmp_path / "data"),
        evidence_root=tmp_path,
        data_dir=tmp_path / "data",
        clock=Clock(),
    )
    received: list[dict] = []

    def handler(request: Request) -> Response:
        signed = request.headers["X-Runbook-Timestamp"].encode() + b"." + request.get_data()
        expected = "sha256=" + hmac.new(SECRET.encode(), signed, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(request.headers["X-Runbook-Signature"], expected)
        received.append(json.loads(request.get_data()))
        return Response("ok")

    httpserver.expect_request("/hook", method="POST").respond_with_handler(handler)
    return check, host, received


def a_run(check: Check, host: Host, status: str) -> CheckRun:
    now = host.clock()
    return CheckRun(
        check.name, check.runbook, check.env, now, now, now, status, 1.5, summary=f"{status}: step 4 (Log In)"
    )  # type: ignore[arg-type]


def feed(check: Check, host: Host, statuses: list[str], every: timedelta = timedelta(minutes=1)) -> None:
    for status in statuses:
        settle(check, a_run(check, host, status), host)
        host.clock.now += every  # type: ignore[attr-defined]


def test_the_webhook_gets_a_signed_alert_with_a_text_for_chat_and_no_message_per_failure(setup) -> None:  # noqa: ANN001
    check, host, received = setup
    feed(check, host, ["failed"] * 5)
    assert [r["kind"] for r in received] == ["opened"]
    assert received[0]["text"].startswith("[ALERT] portal-login:")
    assert received[0]["check"] == "portal-login" and received[0]["status"] == "failed"


def test_reminders_stop_at_at_most_and_the_recovery_says_how_long(setup) -> None:  # noqa: ANN001
    check, host, received = setup
    feed(check, host, ["failed"] * 60)  # an hour of failures, one a minute
    kinds = [r["kind"] for r in received]
    assert kinds == ["opened", "reminder", "reminder"]
    feed(check, host, ["passed"])
    recovered = received[-1]
    assert recovered["kind"] == "recovered" and recovered["downtime_s"] == 3600
    assert "1h" in recovered["text"]


def test_a_webhook_that_is_down_keeps_the_alert_in_the_outbox_until_it_answers(
    setup,
    httpserver: HTTPServer,  # noqa: ANN001
) -> None:
    check, host, received = setup
    httpserver.clear()
    httpserver.expect_request("/hook").respond_with_data("down", status=503)
    feed(check, host, ["failed", "failed"])
    pending = host.history.pending_notifications()
    assert [n.kind for _, _, n in pending] == ["opened"]
    assert "answered 503" in host.history.notifications()[0]["detail"]

    httpserver.clear()
    httpserver.expect_request("/hook").respond_with_handler(
        lambda r: (received.append(json.loads(r.get_data())), Response("ok"))[1]
    )
    host.notifier().flush({check.name: check})
    assert [r["kind"] for r in received] == ["opened"]
    assert host.history.pending_notifications() == []


def test_a_checks_alerts_reach_a_channel_in_order_even_while_another_worker_sends_one(setup) -> None:  # noqa: ANN001
    """Two workers share the outbox: while one is still sending "opened" (opening the ticket), the other must
    not send the "recovered" that follows it (it would find no ticket to close); it goes out right after."""
    check, host, received = setup
    host.flush = lambda checks: 0  # type: ignore[method-assign]  # queue only: the "workers" below deliver
    feed(check, host, ["failed", "failed", "passed"])
    (opened, _, _), (recovered, _, _) = host.history.pending_notifications()
    assert host.history.take_notification(opened)  # another worker has it, mid-delivery

    host.notifier().flush({check.name: check})
    assert received == []  # the recovery waits behind the opening
    assert [n.kind for _, _, n in host.history.pending_notifications()] == ["recovered"]

    host.history.mark_notification(opened, "delivered", "sent by the other worker")
    host.notifier().flush({check.name: check})
    assert [r["kind"] for r in received] == ["recovered"]
    assert host.history.pending_notifications() == []
