"""The issue's first acceptance case, as an agent with a customer on the line: real Chromium signs in to a real
`runbook server`, starts unknown-login-error for symbol-end@example.com, watches the steps arrive, loses the
network for a moment (the page reconnects and shows every step once), answers the questions in the page
(yes; a new password, typed as a secret; yes) and sees fixed-by-reset with the report. The password is then
nowhere: not in the console's database, the pages, the server's log or the run's evidence."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from support.cut_proxy import CutProxy
from support.leakscan import assert_no_secrets, scan_bytes
from test_console_server import read_url, serious_violations

from automation.sandbox import SandboxServer

ROOT = Path(__file__).resolve().parents[2]
RUNBOOK = [sys.executable, "-m", "automation.cli"]
PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "Vq8#LmTz3Kw"  # what the customer chose: meets the portal's rule, ends with a letter
CONSOLE_YAML = """\
teams:
  portal-support:
    runbooks: [unknown-login-error]
server:
  secure_cookie: false      # plain http on loopback
  environment: desk
"""

pytestmark = pytest.mark.timing


@dataclass
class Server:
    url: str
    folder: Path
    log: list[str]


def environments(sandbox: SandboxServer) -> str:
    """This test's sandbox with its mail outbox: the reset link is read from it, the agent asked the rest."""
    portal = sandbox.urls["portal"]
    return (
        "default: desk\nenvironments:\n  desk:\n    resettable: true\n"
        f"    mailbox: {portal}/_sandbox/mail\n    apps:\n"
        f"      portal: {portal}\n      netsuite: {sandbox.urls['netsuite']}\n"
        "  sandbox:\n    sandbox: true\n"
    )


@pytest.fixture
def server(tmp_path: Path, sandbox: SandboxServer) -> Iterator[Server]:
    (tmp_path / "console.yaml").write_text(CONSOLE_YAML)
    (tmp_path / "environments.yaml").write_text(environments(sandbox))
    env = {
        **os.environ,
        "RUNBOOK_DATA": str(tmp_path / "data"),
        "RUNBOOK_TRACES": str(tmp_path / "traces"),
        "RUNBOOK_PATH": str(ROOT / "runbooks"),
        "RUNBOOK_CONFIG": str(tmp_path / "environments.yaml"),
        "RUNBOOK_SANDBOX_TOKEN": sandbox.token,  # the served sandbox's control token: runs reset it
    }
    made = subprocess.run(
        [*RUNBOOK, "users", "add", "ana", "--role", "agent", "--team", "portal-support", "--password-stdin"],
        input=PASSWORD + "\n", env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    proc = subprocess.Popen(
        [*RUNBOOK, "server", "--port", "0", "--config", str(tmp_path / "console.yaml")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    log: list[str] = []
    try:
        url = read_url(proc)
        threading.Thread(target=lambda: log.extend(proc.stdout), daemon=True).start()  # type: ignore[arg-type]
        yield Server(url, tmp_path, log)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture
def network(server: Server) -> Iterator[CutProxy]:
    """The agent's network to the server: the test can drop it."""
    host, port = server.url.removeprefix("http://").split(":")
    with CutProxy((host, int(port))) as proxy:
        yield proxy


@pytest.fixture
def agent(browser: Any, network: CutProxy) -> Iterator[Any]:
    context = browser.new_context(base_url=f"http://127.0.0.1:{network.port}")
    page = context.new_page()
    errors: list[str] = []
    # a dropped connection is the test's doing: its network errors are expected, any other error is not
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors
    yield page
    context.close()


def answer_yes(page: Any, prompt: str) -> None:
    card = page.get_by_role("region", name="The run asks you")
    expect(card.get_by_text(prompt)).to_be_visible(timeout=60_000)
    card.get_by_role("button", name="Yes").click()
    expect(card.get_by_text(prompt)).to_be_hidden(timeout=30_000)


def test_an_agent_on_the_phone_fixes_an_unknown_login_error_from_the_console(
    agent: Any, server: Server, network: CutProxy, output_path: str
) -> None:
    page = agent
    page.goto("/login")
    page.get_by_label("Name").fill("ana")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name=re.compile("unknown error", re.I)).first.click()
    page.get_by_label("Email").fill("symbol-end@example.com")
    page.get_by_role("button", name="Start the run").click()
    expect(page).to_have_url(re.compile(r"/runs/\d{8}-\d{6}-unknown-login-error-"))

    answer_yes(page, "Does the customer's password end with a symbol or a number?")

    # The network drops and comes back while the run goes on: the page's event stream reconnects from the
    # last event it had (Last-Event-ID), so no step is lost and none is shown twice.
    with page.expect_request(lambda r: "/events" in r.url, timeout=30_000) as reconnect:
        assert network.cut() >= 1
    assert reconnect.value.all_headers().get("last-event-id"), "the page reconnected from the start"

    card = page.get_by_role("region", name="The run asks you")
    expect(card.get_by_text("The new password the customer chose")).to_be_visible(timeout=60_000)
    live = page.locator("#step-rows tr[data-step]").evaluate_all("rows => rows.map(r => r.dataset.step)")
    assert len(live) == len(set(live)), live  # each step once, live, before any reload
    secret = card.get_by_label("Your answer")
    assert secret.get_attribute("type") == "password"  # typed without echo
    secret.fill(NEW_PASSWORD)
    card.get_by_role("button", name="Send the answer").click()

    answer_yes(page, "Can the customer log in now with the new password?")
    expect(page.get_by_role("heading", name="Outcome: fixed-by-reset")).to_be_visible(timeout=60_000)
    expect(page.get_by_role("link", name="Open the report")).to_be_visible()
    Path(output_path).mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(Path(output_path) / "outcome.png"), full_page=True)
    assert serious_violations(page) == []

    rows = page.locator("#step-rows tr[data-step]")
    numbers = rows.evaluate_all("rows => rows.map(r => r.dataset.step)")
    assert len(numbers) == len(set(numbers)), numbers  # each step once
    state = page.request.get(page.url.replace("/runs/", "/api/runs/")).json()
    assert numbers == [step["number"] for step in state["steps"]]  # and none missing
    # the dropped stream's own error is the test's doing; any other is the page's
    assert not [e for e in page.errors if "ERR_INCOMPLETE_CHUNKED_ENCODING" not in e], page.errors

    # The password the agent typed is nowhere a person or a process could read it.
    seen = page.content() + page.request.get(page.url.replace("/runs/", "/api/runs/") + "/events").text()
    for text, where in ((seen, "the page and the event stream"), ("".join(server.log), "the server's log")):
        findings = scan_bytes(text, [NEW_PASSWORD], where)
        assert findings.clean, str(findings)
    assert_no_secrets(server.folder, [NEW_PASSWORD])  # console.db, its WAL, the evidence, every file
