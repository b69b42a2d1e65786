"""Single sign-on end to end: a real OpenID provider (node-oidc-provider, started by the test on loopback), the
console served by uvicorn in a thread (create_app), and real Chromium signing in through the provider.

An agent whose group maps to `agent` lands on her team's runbooks; someone whose groups map to nothing is told
to ask an administrator; the provider's answer replayed (same browser, or another) opens nothing; the
sign-in page has no password form when local login is off, no serious axe violation and no console error; no
code and no client secret reach the page, the log or the store."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.sync_api import expect
from sqlalchemy import func, select
from support.accessibility import serious_violations
from support.console_server import wait_for
from support.leakscan import assert_no_secrets, scan_bytes
from support.oidc_provider import oidc_provider

from automation.catalog import Catalog
from automation.console.config import load_console_config
from automation.console.context import Console
from automation.console.server import create_app
from automation.console.store import ConsoleStore
from automation.listen import listen
from automation.store.tables.console import sessions, users

ROOT = Path(__file__).resolve().parents[2]
CLIENT_ID = "runbook-console"
SECRET_VARIABLE = "RUNBOOK_TEST_SSO_SECRET"
CLIENT_SECRET = "oidc-client-secret-7Hq2xP"
ACCOUNTS = {
    "ana": {"groups": ["support-agents", "everyone"], "name": "Ana Agent"},
    "visitor": {"groups": ["everyone"]},
}
CONSOLE_YAML = """\
teams:
  portal-support:
    runbooks: [resend-verify]
  billing:
    runbooks: [synthetic-login]
server:
  secure_cookie: false      # plain http on loopback
sso:
  name: Test SSO
  issuer: {issuer}
  client_id: runbook-console
  client_secret_env: RUNBOOK_TEST_SSO_SECRET
  scopes: [openid, profile, groups]
  roles: {{support-agents: agent, ops: operations}}
  teams: {{support-agents: portal-support}}
  local_login: false
"""

pytestmark = [pytest.mark.timing, pytest.mark.browser]


@dataclass
class Site:
    url: str
    store: ConsoleStore
    data: Path


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    """The provider, then the console on a socket bound first (the provider must know its redirect URI)."""
    monkeypatch.setenv(SECRET_VARIABLE, CLIENT_SECRET)
    sock = listen("127.0.0.1", 0, who="the console under test")
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    with oidc_provider(
        tmp_path / "provider",
        redirect_uri=f"{url}/login/sso/callback",
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        accounts=ACCOUNTS,
    ) as provider:
        config_path = tmp_path / "console.yaml"
        config_path.write_text(CONSOLE_YAML.format(issuer=provider.issuer))
        catalog = Catalog([ROOT / "runbooks"])
        config = load_console_config(config_path, catalog=catalog)
        with ConsoleStore(tmp_path / "data") as store:
            app = create_app(Console(store=store, config=config, catalog=catalog))
            server = uvicorn.Server(uvicorn.Config(app, lifespan="on", log_level="warning", access_log=False))
            thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
            thread.start()
            try:
                wait_for(lambda: server.started, 30, "the console did not start")
                yield Site(url, store, tmp_path / "data")
            finally:
                server.should_exit = True
                thread.join(timeout=30)


@pytest.fixture
def page(browser: Any, site: Site) -> Iterator[Any]:
    """A fresh browser; errors logged by the console's pages fail the test (the provider's own are its own, and
    so is the status of a refused callback, which these tests provoke)."""
    context = browser.new_context()
    opened = context.new_page()
    errors: list[str] = []

    def on_console(message: Any) -> None:
        refused_callback = "/login/sso/callback" in message.location.get("url", "")
        if message.type == "error" and opened.url.startswith(site.url) and not refused_callback:
            errors.append(message.text)

    opened.on("console", on_console)
    opened.on("pageerror", lambda e: errors.append(str(e)))
    yield opened
    context.close()
    assert errors == [], f"the console's pages logged errors: {errors}"


def through_provider(page: Any, site: Site, login: str) -> None:
    """From the console's sign-in page to the provider's, signed in there as `login`, and its consent given."""
    page.goto(f"{site.url}/login?next=/")
    page.get_by_role("link", name="Sign in with Test SSO").click()
    page.locator("input[name=login]").fill(login)
    page.locator("input[name=password]").fill("any password the dev login takes")
    page.get_by_role("button", name="Sign-in").click()
    page.get_by_role("button", name="Continue").click()  # the provider's consent: the first time, always


def count(site: Site, query: Any) -> int:
    with site.store.reading() as conn:
        return int(conn.execute(query).scalar_one())


def test_an_agent_signs_in_through_the_provider_and_gets_her_team_s_runbooks(
    page: Any, site: Site, output_path: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    page.goto(f"{site.url}/login")
    expect(page.get_by_role("link", name="Sign in with Test SSO")).to_be_visible()
    expect(page.get_by_label("Password")).to_have_count(0)  # local_login: false: no password form
    assert page.locator("script").count() == 0, "the sign-in page carries a script"
    Path(output_path).mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(Path(output_path) / "login-sso.png"), full_page=True)
    assert serious_violations(page) == []

    callbacks: list[str] = []
    page.on("request", lambda r: callbacks.append(r.url) if "/login/sso/callback" in r.url else None)
    through_provider(page, site, "ana")
    expect(page.get_by_role("heading", name="Runbooks")).to_be_visible()
    expect(page.get_by_text("ana (agent, portal-support)")).to_be_visible()
    expect(page.get_by_text("Verify the customer's email while they are on the phone")).to_be_visible()
    expect(page.get_by_text("Synthetic check")).to_have_count(0)  # another team's runbook
    assert serious_violations(page) == []
    assert count(site, select(func.count()).select_from(sessions)) == 1

    # The provider's answer again, in this browser: the state was spent, nothing more opens.
    assert len(callbacks) == 1
    callback = callbacks[0]
    replayed = page.goto(callback)
    assert replayed is not None and replayed.status == 400
    expect(page.get_by_role("alert")).to_contain_text("start again")
    assert count(site, select(func.count()).select_from(sessions)) == 1

    with site.store.reading() as conn:
        marker = conn.execute(select(users.c.password_hash).where(users.c.name == "ana")).scalar_one()
    assert marker.startswith("!sso "), "an SSO user must have no usable password"
    code = callback.split("code=", 1)[1].split("&", 1)[0]
    assert_no_secrets([site.data], [code, CLIENT_SECRET])
    assert scan_bytes(caplog.text, [code, CLIENT_SECRET]).clean
    assert CLIENT_SECRET not in page.content()


def test_the_provider_s_answer_replayed_in_another_browser_opens_nothing(
    browser: Any, page: Any, site: Site
) -> None:
    callbacks: list[str] = []
    page.on("request", lambda r: callbacks.append(r.url) if "/login/sso/callback" in r.url else None)
    through_provider(page, site, "ana")
    expect(page.get_by_role("heading", name="Runbooks")).to_be_visible()
    other = browser.new_context()
    try:
        elsewhere = other.new_page()
        answer = elsewhere.goto(callbacks[0])
        assert answer is not None and answer.status == 400
        expect(elsewhere.get_by_role("alert")).to_contain_text("start again")
        assert elsewhere.goto(f"{site.url}/").url.startswith(f"{site.url}/login")  # not signed in there
    finally:
        other.close()
    assert count(site, select(func.count()).select_from(sessions)) == 1


def test_someone_whose_groups_map_to_no_role_is_told_to_ask_an_administrator(page: Any, site: Site) -> None:
    through_provider(page, site, "visitor")
    expect(page.get_by_role("alert")).to_contain_text("Your account has no role here; ask an administrator")
    assert page.url.startswith(f"{site.url}/login")
    assert count(site, select(func.count()).select_from(users)) == 0
    assert count(site, select(func.count()).select_from(sessions)) == 0
