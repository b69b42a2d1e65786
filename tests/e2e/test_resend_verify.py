"""resend-verify in real Chromium against the sandbox: every branch of the article's verification tip."""

from __future__ import annotations

import json
import re
import socket
import zipfile
from collections.abc import Callable
from pathlib import Path

import httpx

from automation.result import RunResult
from automation.sandbox import SandboxServer

Run = Callable[..., RunResult]


def run_json(result: RunResult) -> dict:
    return json.loads((Path(result.evidence_dir) / "run.json").read_text())


def assert_valid_trace(result: RunResult) -> None:
    trace = Path(result.artifacts["trace"])
    with zipfile.ZipFile(trace) as zf:
        names = zf.namelist()
        assert "trace.trace" in names and "trace.network" in names
        events = [json.loads(line) for line in zf.read("trace.trace").decode().splitlines() if line.strip()]
    assert any(e.get("type") == "before" and e.get("method") == "goto" for e in events)


def portal_login(sandbox: SandboxServer, email: str) -> httpx.Response:
    """The customer logs in to the portal with their password, following its redirects as a browser would."""
    return httpx.post(
        sandbox.urls["portal"] + "/auth/login",
        data={"email": email, "password": "Sunshine-Portal-7q"},
        follow_redirects=True,
    )


def heading(page: httpx.Response) -> str:
    found = re.search(r"<h1>(.*?)</h1>", page.text, re.S)
    return found.group(1).strip() if found else ""


def test_unverified_customer_is_verified_with_the_code_from_the_mail(
    run_runbook: Run, sandbox: SandboxServer
) -> None:
    before = portal_login(sandbox, "unverified@example.com")
    assert heading(before) == "Log In" and "An unknown error has occurred" in before.text  # the call's reason
    result = run_runbook("resend-verify", {"email": "unverified@example.com"})
    assert (result.status, result.outcome, result.exit_code) == ("passed", "verified", 0)
    data = run_json(result)
    assert data["outcome"] == "verified" and data["runbook_sha256"]
    assert data["inputs"] == {"email": "unverified@example.com", "code": None}  # asked inside verify-code
    ask = next(s for s in data["steps"] if s["action"] == "ask")
    assert "from mail outbox" in ask["detail"] and "••••••" in ask["detail"]
    assert_valid_trace(result)
    # The sandbox mailed one code (its outbox, a control route), and the run kept it out of run.json.
    (mail,) = httpx.get(
        sandbox.urls["portal"] + "/_sandbox/mail", params={"to": "unverified@example.com"}
    ).json()
    code = re.search(r"verification code is (\d{6})", mail["text"])
    assert code and code.group(1) not in json.dumps(data)
    # What the customer sees now: logging in opens their account, and the portal calls the address verified.
    after = portal_login(sandbox, "unverified@example.com")
    assert after.url.path == "/account" and heading(after) == "My Account", after.text
    assert "Signed in as unverified@example.com" in after.text
    resend = httpx.post(
        sandbox.urls["portal"] + "/auth/resendVerifyCode", data={"email": "unverified@example.com"}
    )
    assert "This email address has already been verified." in resend.text


def test_code_given_as_an_option_is_used_and_a_wrong_one_ends_as_wrong_code(run_runbook: Run) -> None:
    result = run_runbook("resend-verify", {"email": "unverified@example.com", "code": "000000"})
    assert (result.status, result.outcome, result.exit_code) == ("failed", "wrong-code", 1)
    steps = run_json(result)["steps"]
    decision = [s for s in steps if s["action"] == "branch"][-1]
    assert "The verification code is incorrect." in decision["detail"]
    assert "000000" not in json.dumps(run_json(result))


def test_already_verified_address_ends_resolved(run_runbook: Run) -> None:
    result = run_runbook("resend-verify", {"email": "verified@example.com"})
    assert (result.status, result.outcome, result.exit_code) == ("passed", "already-verified", 0)
    branch = next(s for s in run_json(result)["steps"] if s["action"] == "branch")
    assert "already been verified" in branch["detail"]
    assert_valid_trace(result)


def test_customer_missing_from_salesforce_escalates(run_runbook: Run) -> None:
    result = run_runbook("resend-verify", {"email": "not-in-salesforce@example.com"})
    assert (result.status, result.outcome, result.exit_code) == ("escalated", "escalated", 1)
    assert result.ticket and result.ticket["queue"] == "customer-portal-chat"
    assert_valid_trace(result)


def test_unknown_address_fails_as_not_found(run_runbook: Run) -> None:
    result = run_runbook("resend-verify", {"email": "nobody@example.com"})
    assert (result.status, result.outcome, result.exit_code) == ("failed", "not-found", 1)
    assert_valid_trace(result)


def test_every_page_changing_step_has_a_screenshot(run_runbook: Run) -> None:
    result = run_runbook("resend-verify", {"email": "verified@example.com"})
    steps = run_json(result)["steps"]
    for step in steps:
        if step["action"] in ("goto", "fill", "click"):
            assert (Path(result.evidence_dir) / step["screenshot"]).stat().st_size > 1000


def test_target_down_ends_with_exit_3_and_evidence(
    run_runbook: Run, sandbox_env, tmp_path: Path, browser
) -> None:
    from automation.api import run

    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    sandbox_env.apps["portal"] = f"http://127.0.0.1:{port}"
    result = run(
        "resend-verify",
        {"email": "verified@example.com"},
        target=sandbox_env,
        evidence_root=tmp_path / "t",
        data_dir=tmp_path / "data",
        reset_sandbox=False,
        browser=browser,
    )
    assert (result.status, result.exit_code) == ("error", 3)
    assert "does not answer" in (result.error or "")
    assert (Path(result.evidence_dir) / "run.json").exists() and "trace" in result.artifacts


def test_each_run_appends_a_line_to_the_audit_log(run_runbook: Run, tmp_path: Path) -> None:
    import getpass

    from automation.evidence import audit

    first = run_runbook("resend-verify", {"email": "verified@example.com"})
    second = run_runbook("resend-verify", {"email": "unverified@example.com"})
    lines = audit.read(tmp_path / "data" / "audit.log")
    assert [line["run_id"] for line in lines] == [first.run_id, second.run_id]
    assert lines[1]["user"] == getpass.getuser() and lines[1]["environment"] == "sandbox"
    assert lines[1]["outcome"] == "verified" and lines[1]["inputs"] == {
        "email": "unverified@example.com",
        "code": None,
    }
    assert lines[0]["evidence_dir"] == first.evidence_dir
