"""What a person outside the server reads of an alert: the ticket a check opens and the webhook's body. Runs are
given by hand (a run.json in an evidence folder, no browser): the channels are what is under test."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from automation.checks.alerting.channels import DeliveryFailed, WebhookChannel, payload, signature_headers
from automation.checks.config.load import ChannelConfig, Check, load_checks
from automation.checks.model import Attempt, CheckRun, Notification
from automation.checks.storage.history import History
from automation.checks.watchdog.run_check import Host, settle
from automation.tickets import TicketStore, render_body

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
RUN_ID = "20261201-090000-admin-login-1-ab12"
PUBLIC = "https://runbook.example.com"
FAILURE = "admin-login failed at step 1 (Open the login page): net::ERR_CONNECTION_REFUSED"


@pytest.fixture
def host(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, httpserver: HTTPServer) -> Host:
    monkeypatch.setenv("OPS_HOOK", httpserver.url_for("/hook"))
    monkeypatch.delenv("RUNBOOK_PUBLIC_URL", raising=False)
    return Host(
        history=History(data_dir=tmp_path / "data"),
        evidence_root=tmp_path / "traces",
        data_dir=tmp_path / "data",
        clock=lambda: NOW,
        target_for=lambda env: type("Target", (), {"tickets": None, "credentials": {}})(),
    )


@pytest.fixture
def check(tmp_path: Path) -> Check:
    path = tmp_path / "checks.yaml"
    path.write_text(
        "checks:\n  admin-login:\n    runbook: synthetic-login\n    every: 1m\n"
        "    alert:\n      after: 1\n      channels:\n"
        "        - ticket: {queue: portal-operations}\n        - webhook: {url_env: OPS_HOOK}\n"
    )
    return load_checks(path).checks["admin-login"]


@pytest.fixture
def received(httpserver: HTTPServer) -> list[dict]:
    bodies: list[dict] = []

    def handler(request: Request) -> Response:
        bodies.append(json.loads(request.get_data()))
        return Response("ok")

    httpserver.expect_request("/hook", method="POST").respond_with_handler(handler)
    return bodies


def failed_run(check: Check, host: Host) -> CheckRun:
    """A run that failed at its first step, with the evidence the engine leaves (run.json, report.html)."""
    folder = host.evidence_root / check.name / RUN_ID
    folder.mkdir(parents=True)
    steps = [
        {"number": "1", "action": "goto", "label": "Open the login page", "status": "failed", "duration_s": 0.2,
         "error": "net::ERR_CONNECTION_REFUSED", "file": str(Path("/srv/runbooks/admin-login.yaml")), "line": 14},
    ]  # fmt: skip
    (folder / "run.json").write_text(json.dumps({"run_id": RUN_ID, "steps": steps}))
    (folder / "report.html").write_text("<html></html>")
    attempt = Attempt(1, "failed", RUN_ID, str(folder), 0.4, None, FAILURE, NOW)
    return CheckRun.from_attempts(
        check.name, check.runbook, check.env, scheduled_at=NOW, started_at=NOW, finished_at=NOW,
        status="failed", summary=f"failed: {FAILURE}", attempts=(attempt,),
    )  # fmt: skip


def the_ticket_body(host: Host) -> str:
    (stored,) = TicketStore(host.data_dir).list()
    return render_body(stored.ticket)


def test_the_ticket_lists_the_steps_of_the_run_that_failed(check: Check, host: Host, received: list) -> None:
    settle(check, failed_run(check, host), host)
    body = the_ticket_body(host)
    assert "(no steps recorded)" not in body
    assert "1. [failed] 1 Open the login page (0.2 s)\n   error: net::ERR_CONNECTION_REFUSED" in body
    assert FAILURE in body  # the alert's text, as the ticket's notes


def test_nothing_a_person_reads_names_a_folder_of_the_server(
    check: Check, host: Host, received: list, tmp_path: Path
) -> None:
    settle(check, failed_run(check, host), host)
    (hook,) = received
    assert str(tmp_path) not in the_ticket_body(host) and str(tmp_path) not in json.dumps(hook)
    assert hook["report"] == f"admin-login/{RUN_ID}/report.html"  # under the evidence root
    assert hook["url"] is None and FAILURE in hook["text"]


def test_with_a_public_url_the_ticket_and_the_webhook_link_to_the_run(
    check: Check, host: Host, received: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNBOOK_PUBLIC_URL", PUBLIC + "/")
    settle(check, failed_run(check, host), host)
    page = f"{PUBLIC}/runs/{RUN_ID}"
    body = the_ticket_body(host)
    assert f"- the run on the console: {page}" in body and f"- its report: {page}/report" in body
    (hook,) = received
    assert (hook["url"], hook["report"]) == (page, f"{page}/report")
    assert (
        hook["text"]
        == f"[ALERT] admin-login: admin-login is failing: 1 failures in a row; last: failed: {FAILURE}\n{page}"
    )


def test_a_wrong_public_url_keeps_the_alert_in_the_outbox_and_says_why(
    check: Check, host: Host, received: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNBOOK_PUBLIC_URL", "runbook.example.com")
    settle(check, failed_run(check, host), host)
    assert received == [] and TicketStore(host.data_dir).list() == []
    details = [n["detail"] for n in host.history.notifications()]
    assert len(details) == 2 and all("RUNBOOK_PUBLIC_URL='runbook.example.com'" in d for d in details)

    monkeypatch.setenv("RUNBOOK_PUBLIC_URL", PUBLIC)
    host.flush({check.name: check})
    assert len(received) == 1 and len(TicketStore(host.data_dir).list()) == 1


def test_a_run_without_evidence_opens_a_ticket_that_says_it_recorded_no_steps(
    check: Check, host: Host, received: list
) -> None:
    attempt = Attempt(1, "error", None, None, 0.0, None, "the environment 'production' has no portal", NOW)
    run = CheckRun.from_attempts(
        check.name, check.runbook, check.env, scheduled_at=NOW, started_at=NOW, finished_at=NOW,
        status="error", summary="error: the environment 'production' has no portal", attempts=(attempt,),
    )  # fmt: skip
    settle(check, run, host)
    assert "(no steps recorded)" in the_ticket_body(host)


# -- the signed webhook, checked by the receiver the README shows ------------------------------------------

HOOK_KEY = "receiver-signing-key"


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """The README's receiver, run as written (only its port and key come from the environment, as it says)."""
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text(encoding="utf-8")
    code = readme.split("<!-- webhook-receiver -->\n```python\n", 1)[1].split("\n```", 1)[0]
    script = tmp_path / "receiver.py"
    script.write_text(code, encoding="utf-8")
    env = {**os.environ, "RUNBOOK_HOOK_KEY": HOOK_KEY, "PORT": "0"}
    process = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert process.stdout is not None
        listening = process.stdout.readline()
        assert listening.startswith("listening on http://127.0.0.1:"), listening
        yield listening.split()[-1], process
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_the_readmes_receiver_accepts_a_fresh_delivery_and_refuses_a_replayed_old_one(
    check: Check, receiver: tuple[str, subprocess.Popen[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, process = receiver
    assert process.stdout is not None
    monkeypatch.setenv("OPS_HOOK_KEY", HOOK_KEY)
    config = ChannelConfig(kind="webhook", url=f"{url}/hook", secret_env="OPS_HOOK_KEY")
    note = Notification(
        kind="opened", check=check.name, at=NOW, message=FAILURE, status="failed", run_id=RUN_ID
    )

    detail = WebhookChannel(config, mask=lambda text: text).deliver(check, note)
    assert detail == "delivered to 127.0.0.1 (204)"
    assert process.stdout.readline().strip() == "accepted: opened admin-login"

    # The same delivery, as recorded by someone on the path six minutes ago and sent again now.
    body = json.dumps(payload(check, note, lambda text: text), sort_keys=True).encode()
    old = signature_headers(HOOK_KEY, body, at=time.time() - 6 * 60)
    replayed = httpx.post(f"{url}/hook", content=body, headers=old, timeout=10)
    assert replayed.status_code == 401
    assert process.stdout.readline().strip() == "refused: stale or missing timestamp"

    # Made to look fresh: the timestamp is inside the signature, so the old signature no longer fits.
    freshened = {**old, "X-Runbook-Timestamp": str(int(time.time()))}
    assert httpx.post(f"{url}/hook", content=body, headers=freshened, timeout=10).status_code == 401
    assert process.stdout.readline().strip() == "refused: bad signature"


def test_a_webhook_url_from_a_variable_over_plain_http_off_loopback_waits_in_the_outbox(
    check: Check, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPS_HOOK", "http://hooks.example.com/alert")
    note = Notification(kind="opened", check=check.name, at=NOW, message=FAILURE, status="failed")
    config = ChannelConfig(kind="webhook", url_env="OPS_HOOK")
    with pytest.raises(DeliveryFailed, match=r"\$OPS_HOOK \(the webhook's URL\) must be https://"):
        WebhookChannel(config, mask=lambda text: text).deliver(check, note)
