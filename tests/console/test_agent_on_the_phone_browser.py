"""The issue's first acceptance case, as an agent with a customer on the line: real Chromium signs in to a real
`runbook server`, starts unknown-login-error for symbol-end@example.com, watches the steps arrive, loses the
network for a moment (the page reconnects and shows every step once), answers the questions in the page
(yes; a new password, typed as a secret; yes) and sees fixed-by-reset with the report. The password is then
nowhere: not in the console's database, the pages, the server's log or the run's evidence."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from support.accessibility import serious_violations
from support.console_server import PASSWORD, ConsoleProcess, console_server
from support.cut_proxy import CutProxy
from support.leakscan import assert_no_secrets, scan_bytes

from automation.sandbox import SandboxServer

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


def environments(sandbox: SandboxServer) -> str:
    """This test's sandbox with its mail outbox: the reset link is read from it, the agent asked the rest."""
    portal = sandbox.urls["portal"]
    return (
        "default: desk\nenvironments:\n  desk:\n    resettable: true\n"
        f"    mailbox: {portal}/_sandbox/mail\n    apps:\n"
        f"      portal: {portal}\n      netsuite: {sandbox.urls['netsuite']}\n"
    )


@pytest.fixture
def server(tmp_path: Path, sandbox: SandboxServer) -> Iterator[ConsoleProcess]:
    """`runbook server` against this test's sandbox; ana, an agent of portal-support, can sign in."""
    users = (("ana", "agent", "portal-support"),)
    token = {"RUNBOOK_SANDBOX_TOKEN": sandbox.token}  # the runs reset the test's served sandbox
    with console_server(
        tmp_path, CONSOLE_YAML, users=users, environments_yaml=environments(sandbox), env=token
    ) as running:
        yield running


@pytest.fixture
def network(server: ConsoleProcess) -> Iterator[CutProxy]:
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
    agent: Any, server: ConsoleProcess, network: CutProxy, output_path: str
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
    for text, where in ((seen, "the page and the event stream"), (server.output(), "the server's log")):
        findings = scan_bytes(text, [NEW_PASSWORD], where)
        assert findings.clean, str(findings)
    assert_no_secrets(
        server.folder, [NEW_PASSWORD]
    )  # server.log included  # console.db, its WAL, the evidence, every file
