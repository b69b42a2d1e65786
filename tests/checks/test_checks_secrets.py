"""No secret from a check's inputs or its environment's credentials reaches the history, the metrics, the status
page, the webhook or the tickets: failing checks with canary secrets in real Chromium, every store scanned."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from automation.checks.config.load import load_checks
from automation.checks.storage.history import History
from automation.checks.watchdog.run_check import Host, run_check
from automation.checks.web.app import create_app
from automation.environments import sandbox_target
from automation.redaction.scan import find_secrets
from automation.sandbox import SandboxServer

pytestmark = pytest.mark.browser

PASSWORD = "Canary-Pw~7 x!*q"  # characters browsers encode in form posts
CODE = "918273"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def test_failing_checks_leave_no_secret_in_history_metrics_status_webhook_or_tickets(
    tmp_path: Path,
    sandbox: SandboxServer,
    browser: Any,
    httpserver: HTTPServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bodies: list[bytes] = []

    def hook(request: Request) -> Response:
        bodies.append(request.get_data())
        return Response("ok")

    httpserver.expect_request("/hook").respond_with_handler(hook)
    monkeypatch.setenv("CANARY_CODE", CODE)
    monkeypatch.setenv("OPS_HOOK", httpserver.url_for("/hook"))
    (tmp_path / "checks.yaml").write_text(
        "defaults:\n  retries: {attempts: 2, backoff: 1s}\n"
        "  alert: {after: 2, channels: [ticket, {webhook: {url_env: OPS_HOOK}}]}\n"
        "checks:\n"
        "  portal-login: {runbook: synthetic-login, every: 5m}\n"
        "  code-check:\n    runbook: verify-code\n    every: 5m\n"
        "    inputs: {email: unverified@example.com, code: {env: CANARY_CODE}}\n"
    )
    config = load_checks(tmp_path / "checks.yaml")
    target = sandbox_target(sandbox)
    target.credentials["portal_monitor"] = {"user": "monitor@example.com", "password": PASSWORD}
    data = tmp_path / "data"
    host = Host(
        history=History(data_dir=data),
        evidence_root=tmp_path / "traces",
        data_dir=data,
        clock=Clock(),
        target_for=lambda env: target,
        browser=browser,
    )
    for _ in range(2):
        for check in config.checks.values():
            run = run_check(check, host, config=config)
            assert run.status == "failed", run.summary
        host.clock.now += timedelta(minutes=5)

    assert [json.loads(b)["kind"] for b in bodies] == ["opened", "opened"]
    page = TestClient(
        create_app(
            host.history,
            [c.info() for c in config.checks.values()],
            metrics=host.metrics,
            evidence_root=tmp_path,
        )
    )
    views = {
        "status-page.html": page.get("/").content,
        "status.json": page.get("/api/status").content,
        "metrics.txt": host.metrics.render()[0],
        "webhook.jsonl": b"\n".join(bodies),
    }
    folder = tmp_path / "views"
    folder.mkdir()
    for name, blob in views.items():
        (folder / name).write_bytes(blob)
    host.history.close()
    names = {p.name for p in data.rglob("*")}
    assert "tickets.db" in names and "checks.db" in names
    # the views, checks.db (with its WAL), tickets.db and the tickets' copied files
    assert find_secrets(folder, [PASSWORD, CODE]) == []
    assert find_secrets(data, [PASSWORD, CODE]) == []
