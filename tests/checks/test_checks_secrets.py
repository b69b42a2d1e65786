"""No secret from a check's inputs or its environment's credentials reaches anything the checks leave behind:
failing checks with canary secrets in real Chromium, then tests/support/leakscan.py (the independent scanner,
failing closed) over the history (checks.db through sqlite3, every table, its WAL while the writer is still
open), the ticket store, the audit log, the runs' evidence folders, the webhook bodies, the status page,
/api/status and /metrics; and again once the history is closed."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pytest_httpserver import HTTPServer
from support.leakscan import Findings, scan, scan_sqlite
from werkzeug import Request, Response

from automation.checks.config.load import load_checks
from automation.checks.storage.history import History
from automation.checks.watchdog.run_check import Host, run_check
from automation.checks.web.app import create_app
from automation.environments import sandbox_target
from automation.sandbox import SandboxServer

pytestmark = pytest.mark.browser

PASSWORD = "Canary-Pw~7 x!*q"  # characters browsers encode in form posts
CODE = "918273"
SECRETS = (PASSWORD, CODE)
# No secret: the code check's runbook, written wherever its runs go. Found in every place below, it shows the
# scan read each of them, so a clean scan of the same places means something.
CONTROL = "verify-code"
VIEWS = {"status-page.html": "/", "status.json": "/api/status", "metrics.txt": "/metrics"}


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def test_failing_checks_leave_no_secret_in_history_tickets_audit_evidence_or_what_they_serve(
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
    data, evidence = tmp_path / "data", tmp_path / "traces"
    host = Host(
        history=History(data_dir=data),
        evidence_root=evidence,
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

    views = tmp_path / "views"  # what the checks serve and send, as a user receives it
    views.mkdir()
    page = TestClient(
        create_app(
            host.history,
            [c.info() for c in config.checks.values()],
            metrics=host.metrics,
            evidence_root=evidence,
        )
    )
    for name, url in VIEWS.items():
        answer = page.get(url)
        assert answer.status_code == 200, (url, answer.text)
        (views / name).write_bytes(answer.content)
    (views / "webhook.jsonl").write_bytes(b"\n".join(bodies))

    # The history's writer is still open: its rows are in checks.db-wal, not yet in checks.db.
    assert (data / "checks.db-wal").stat().st_size > 0
    _assert_every_place_is_read(tmp_path, host.history)
    findings = _scan_everything(tmp_path, SECRETS)
    assert findings.clean, str(findings)

    host.history.close()
    findings = _scan_everything(tmp_path, SECRETS)
    assert findings.clean, str(findings)


def _scan_everything(root: Path, needles: Sequence[str]) -> Findings:
    """The two stores through sqlite3 (every table, WAL included) and as bytes, then every file under `root`:
    the data folder (stores, audit log, tickets' files), the evidence, the views."""
    data = root / "data"
    return (
        scan_sqlite(data / "checks.db", needles)
        + scan_sqlite(data / "tickets.db", needles)
        + scan(root, needles)
    )


def _assert_every_place_is_read(root: Path, history: History) -> None:
    control = _scan_everything(root, [CONTROL])
    assert not control.unreadable, str(control)
    found = _places(control, root)
    attempts = [a for r in history.runs("code-check") for a in r.attempts]
    assert len(attempts) == 4 and all(a.evidence_dir for a in attempts)
    folders = [Path(a.evidence_dir or "").relative_to(root) for a in attempts]
    for folder in folders:  # every kind of evidence a run leaves is there to be scanned
        assert {"run.json", "report.html", "trace.zip"} <= {p.name for p in (root / folder).iterdir()}
        assert list((root / folder / "screenshots").glob("*.png")), folder
    expected = {
        "data/checks.db#runs",
        "data/checks.db#notifications",
        "data/tickets.db#tickets",
        "data/audit.log",
        *(f"views/{name}" for name in [*VIEWS, "webhook.jsonl"]),
        *(f"{folder}/{name}" for folder in folders for name in ("run.json", "report.html", "trace.zip")),
    }
    assert expected <= found, f"never read: {sorted(expected - found)}"
    # The runs were read through sqlite3 from the WAL: the database file's own bytes do not hold them yet.
    assert "data/checks.db" not in found


def _places(findings: Findings, root: Path) -> set[str]:
    """Where the findings are, relative to `root`: a file (a zip for its entries), or a database's table."""
    places = set()
    for finding in findings.secrets:
        where = finding.where.removeprefix(f"{root}/").split("!")[0]
        path, _, cell = where.partition("#")
        places.add(f"{path}#{cell.split('.')[0]}" if cell else path)
    return places
