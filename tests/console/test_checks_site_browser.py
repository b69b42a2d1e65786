"""The checks behind the console as operations use them: a real `runbook server --checks FILE` process and real
Chromium: sign in, follow the header's Checks link, read the status page (styled: its stylesheet passes the
console's CSP) and open a check's report. No console error, no serious or critical axe-core violation."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from support import check_history
from support.accessibility import serious_violations
from support.console_server import PASSWORD, console_server, watched_page

from automation.checks.storage.history import History

ROOT = Path(__file__).resolve().parents[2]
CONSOLE_YAML = """\
teams: {}
server:
  secure_cookie: false      # plain http on loopback
"""
PASSING_GREEN = "rgb(24, 128, 56)"  # --passing in automation/checks/web/static/status.css

pytestmark = pytest.mark.timing


def record_a_passed_login(data: Path, traces: Path) -> None:
    """One passed run of portal-login a minute ago, in the history under `data`."""
    history = History(data_dir=data)
    check_history.record_a_passed_login(history, traces)
    history.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """`runbook server --port 0 --checks runbooks/checks.yaml`; olga (operations) can sign in."""
    record_a_passed_login(tmp_path / "data", tmp_path / "traces")
    checks = ("--checks", str(ROOT / "runbooks" / "checks.yaml"))
    with console_server(
        tmp_path, CONSOLE_YAML, users=(("olga", "operations", None),), args=checks
    ) as running:
        yield running.url


@pytest.fixture
def page(browser: Any, server: str) -> Iterator[Any]:
    with watched_page(browser, server) as opened:
        yield opened


def test_operations_read_the_checks_in_the_console(page: Any, output_path: str) -> None:
    page.goto("/login")
    page.get_by_label("Name").fill("olga")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    page.get_by_role("link", name="Checks").click()
    expect(page).to_have_url(re.compile(r"/checks/$"))
    card = page.locator("#check-portal-login")
    expect(card.locator(".badge")).to_have_text("passing", ignore_case=True)
    expect(card).to_contain_text("signed in")
    # Styled as on `checks web`: the stylesheet came through under the console's CSP.
    expect(card.locator(".badge")).to_have_css("background-color", PASSING_GREEN)
    Path(output_path).mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(Path(output_path) / "checks-in-console.png"), full_page=True)
    assert serious_violations(page) == []

    card.get_by_role("link", name="report").click()
    expect(page).to_have_url(re.compile(r"/checks/evidence/portal-login-1/report\.html$"))
    expect(page.get_by_role("heading", name="Portal login report")).to_be_visible()
