"""The run pages as an agent uses them: a real `runbook server` process whose runs drive their own Chromium
against this test's sandbox, and real Chromium (pytest-playwright) driving the console: sign in, start
resend-verify, watch the steps arrive, answer the question card with the code the sandbox mailed, see the
outcome and the report; then the history and, as an admin, the audit log. Every page: no console error, no
serious or critical axe-core violation, and its screenshot kept in the test's output folder."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect
from support.accessibility import serious_violations
from support.console_server import PASSWORD, ConsoleProcess, console_server, watched_page

from automation.sandbox import SandboxServer

CUSTOMER = "unverified@example.com"
CONSOLE_YAML = """\
teams:
  portal-support:
    runbooks: [resend-verify]
server:
  secure_cookie: false      # plain http on loopback
  environment: desk
"""

pytestmark = pytest.mark.timing


def environments(sandbox: SandboxServer) -> str:
    """This test's sandbox, reset before each run, without a mailbox: the run asks the agent for the code."""
    return (
        "default: desk\nenvironments:\n  desk:\n    resettable: true\n    apps:\n"
        f"      portal: {sandbox.urls['portal']}\n      netsuite: {sandbox.urls['netsuite']}\n"
    )


@pytest.fixture
def server(tmp_path: Path, sandbox: SandboxServer) -> Iterator[ConsoleProcess]:
    """`runbook server --port 0`: ana (an agent of portal-support) and root (an admin) can sign in."""
    with console_server(
        tmp_path,
        CONSOLE_YAML,
        users=(("ana", "agent", "portal-support"), ("root", "admin", None)),
        environments_yaml=environments(sandbox),
        env={"RUNBOOK_SANDBOX_TOKEN": sandbox.token},  # the served sandbox's control token: runs reset it
    ) as running:
        yield running


@pytest.fixture
def page(browser: Any, server: ConsoleProcess) -> Iterator[Any]:
    with watched_page(browser, server.url) as opened:
        yield opened


def sign_in(page: Any, name: str) -> None:
    page.goto("/login")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Runbooks")).to_be_visible()


def checked(page: Any, output_path: str, name: str) -> None:
    """No serious or critical axe-core violation; the page's screenshot kept in the test's output."""
    Path(output_path).mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(Path(output_path) / f"{name}.png"), full_page=True)
    assert serious_violations(page) == [], name


def mailed_code(sandbox: SandboxServer) -> str:
    """The code in the newest verification email the sandbox sent to the customer."""
    mail = httpx.get(sandbox.urls["portal"] + "/_sandbox/mail", params={"to": CUSTOMER}).json()
    found = re.search(r"\b(\d{6})\b", mail[0]["text"])
    assert found, mail[0]
    return found.group(1)


def test_an_agent_runs_resend_verify_from_the_console_and_answers_its_question(
    page: Any, server: ConsoleProcess, sandbox: SandboxServer, output_path: str
) -> None:
    sign_in(page, "ana")
    checked(page, output_path, "1-runbooks")
    page.get_by_role("link", name="Verify the customer's email while they are on the phone").click()
    expect(page.get_by_label("Email")).to_be_visible()
    checked(page, output_path, "2-start-form")

    page.get_by_label("Email").fill(CUSTOMER)
    page.get_by_role("button", name="Start the run").click()
    expect(page).to_have_url(re.compile(r"/runs/\d{8}-\d{6}-resend-verify-"))
    page.wait_for_load_state("load")
    loads: list[int] = []
    page.on("load", lambda: loads.append(1))

    # The steps and then the question card arrive over the event stream, without a page load.
    steps = page.locator("#step-rows")
    expect(steps.get_by_text("Open the resend-verification page")).to_be_visible(timeout=60_000)
    card = page.get_by_role("region", name="The run asks you")
    expect(card).to_be_visible(timeout=60_000)
    expect(card.get_by_text("The 6-digit code from the customer's email")).to_be_visible()
    expect(card.get_by_text(re.compile(r"\d+:\d\d left to answer"))).to_be_visible()
    assert loads == []
    answer = card.get_by_label("Your answer")
    assert answer.get_attribute("type") == "password"
    checked(page, output_path, "3-run-waiting-on-a-question")

    code = mailed_code(sandbox)
    answer.fill(code)
    card.get_by_role("button", name="Send the answer").click()
    expect(page.get_by_role("heading", name="Outcome: verified")).to_be_visible(timeout=60_000)
    assert [r for r in steps.locator("tr[data-step]").all_inner_texts() if "Enter the code" in r] != []
    numbers = steps.locator("tr[data-step]").evaluate_all("rows => rows.map(r => r.dataset.step)")
    assert len(numbers) == len(set(numbers))  # each step once
    expect(page.get_by_text("The email is verified. Have the customer log in again.")).to_be_visible()
    expect(page.get_by_role("link", name="Open the report")).to_be_visible()
    expect(page.get_by_role("link", name="Download the trace")).to_be_visible()
    assert code not in page.content()
    checked(page, output_path, "4-outcome")

    run_url = page.url
    report = page.request.get(page.get_by_role("link", name="Open the report").get_attribute("href"))
    assert report.status == 200 and "resend-verify" in report.text()
    assert code not in report.text()

    page.get_by_role("link", name="History").click()
    page.get_by_label("Customer or input value").fill(CUSTOMER)
    page.get_by_role("button", name="Search").click()
    row = page.get_by_role("row").filter(has_text=CUSTOMER)
    expect(row).to_have_count(1)
    expect(row.get_by_role("cell", name="verified", exact=True)).to_be_visible()
    checked(page, output_path, "5-history")
    row.get_by_role("link").click()
    assert page.url == run_url

    page.get_by_role("button", name="Sign out").click()
    sign_in(page, "root")
    page.get_by_role("link", name="Audit").click()
    expect(page.get_by_role("cell", name="code = ••••••")).to_be_visible()
    assert code not in page.content()
    checked(page, output_path, "6-audit")
