"""The checks behind the console's door, in process (Starlette's test client): the status page at /checks/, its
JSON, the checks' evidence and /metrics, for operations only; an API token opens the JSON and /metrics but never
a page; nobody signed in gets the login page or 401; a console without a checks file says it has none."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from support import check_history, signing_in
from test_console_app import INLINE

from automation.catalog import Catalog
from automation.checks.config.load import ChecksFileError
from automation.console.accounts import add_user
from automation.console.checks_site import ChecksSite, checks_at_start, open_checks
from automation.console.config import ConsoleConfig, ServerSpec
from automation.console.context import Console
from automation.console.evidence_routes import REPORT_POLICY
from automation.console.permissions import Team
from automation.console.security import CONTENT_SECURITY_POLICY
from automation.console.server import create_app
from automation.console.store import ConsoleStore
from automation.console.tokens import create_token

ROOT = Path(__file__).resolve().parents[2]
CATALOG = Catalog([ROOT / "runbooks"])
PASSWORD = "a long enough passphrase"
TEAMS = {"portal-support": Team("portal-support", frozenset({"reset-password"}))}


def record_a_passed_login(site: ChecksSite, traces: Path) -> str:
    """One passed run of portal-login a minute ago; the address its report is served at."""
    check_history.record_a_passed_login(site.history, traces)
    return "/checks/evidence/portal-login-1/report.html"


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ChecksSite]:
    """The repository's own checks file, its history and evidence under this test's RUNBOOK_DATA/TRACES."""
    for name in ("RUNBOOK_CHECKS", "RUNBOOK_EVIDENCE_ROOT", "RUNBOOK_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    opened = open_checks(None, CATALOG)
    assert opened is not None, "runbooks/checks.yaml is found as `runbook checks web` finds it"
    yield opened
    opened.close()


def console_client(store: ConsoleStore, checks: ChecksSite | None) -> TestClient:
    add_user(store, "ana", "agent", PASSWORD, team="portal-support")
    add_user(store, "olga", "operations", PASSWORD)
    config = ConsoleConfig(teams=TEAMS, server=ServerSpec(secure_cookie=False))
    console = Console(store=store, config=config, catalog=CATALOG)
    return TestClient(create_app(console, checks=checks), base_url="http://127.0.0.1")


@pytest.fixture
def client(store: ConsoleStore, site: ChecksSite) -> Iterator[TestClient]:
    with console_client(store, site) as opened:
        yield opened


def sign_in(client: TestClient, name: str) -> None:
    signing_in.sign_in(client, name, PASSWORD)


def test_operations_see_the_status_page_and_open_a_report_from_it(
    client: TestClient, site: ChecksSite, tmp_path: Path
) -> None:
    report = record_a_passed_login(site, tmp_path / "traces")
    sign_in(client, "olga")
    assert '<a href="/checks/">Checks</a>' in client.get("/").text  # the header's navigation

    page = client.get("/checks/")
    assert page.status_code == 200
    assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    card = re.search(r'<section class="card (\w+)" id="check-portal-login".*?</section>', page.text, re.S)
    assert card is not None and card.group(1) == "passing"
    assert "signed in" in card.group(0)
    assert f'href="{report}"' in card.group(0)
    assert INLINE.search(page.text) is None, INLINE.search(page.text)
    # No self-reload under the console (WCAG 2.2.1; it would keep the session alive): the page says to reload.
    assert 'http-equiv="refresh"' not in page.text and "reload the page for the latest" in page.text
    for link in ("/checks/static/status.css", "/checks/api/status", "/checks/metrics", "/checks/healthz"):
        assert f'href="{link}"' in page.text, link
    style = client.get("/checks/static/status.css")
    assert style.status_code == 200 and style.headers["content-type"].startswith("text/css")

    opened = client.get(report)
    assert opened.status_code == 200 and "<h1>Portal login report</h1>" in opened.text
    assert opened.headers["content-security-policy"] == REPORT_POLICY  # sandboxed like the console's reports

    status = client.get("/checks/api/status").json()
    assert {r["name"]: r["health"] for r in status}["portal-login"] == "passing"
    assert "probe_success" in client.get("/metrics").text


def test_an_agent_is_refused_the_checks_and_the_metrics(
    client: TestClient, site: ChecksSite, tmp_path: Path
) -> None:
    report = record_a_passed_login(site, tmp_path / "traces")
    sign_in(client, "ana")
    assert "/checks/" not in client.get("/").text  # no Checks link in her header
    for path in ("/checks/", report, "/checks/healthz", "/checks/metrics"):
        answer = client.get(path)
        assert answer.status_code == 403, path
        assert "ask an admin for the operations role" in answer.text and "<h1>403</h1>" in answer.text, path
    for path in ("/metrics", "/checks/api/status"):
        answer = client.get(path)
        assert answer.status_code == 403, path
        assert "operations role" in answer.json()["error"], path
    assert "Portal login report" not in client.get(report).text


def test_a_token_opens_the_metrics_and_the_json_but_no_page(
    client: TestClient, store: ConsoleStore, site: ChecksSite, tmp_path: Path
) -> None:
    report = record_a_passed_login(site, tmp_path / "traces")
    bearer = {"authorization": f"Bearer {create_token(store, 'prometheus', role='operations').token}"}
    metrics = client.get("/metrics", headers=bearer)
    assert metrics.status_code == 200 and metrics.headers["content-type"].startswith("text/plain")
    assert re.search(r'probe_success\{check="portal-login",[^}]*\} 1\.0', metrics.text), metrics.text
    status = client.get("/checks/api/status", headers=bearer)
    assert status.status_code == 200 and "portal-login" in [r["name"] for r in status.json()]
    for path in ("/checks/", report, "/checks/healthz"):
        answer = client.get(path, headers=bearer, follow_redirects=False)
        assert answer.status_code == 303, path  # a page: the token is no session
        assert answer.headers["location"].startswith("/login?next="), path

    agent = {
        "authorization": f"Bearer {create_token(store, 'zendesk', role='agent', team='portal-support').token}"
    }
    assert client.get("/metrics", headers=agent).status_code == 403
    assert client.get("/checks/api/status", headers=agent).status_code == 403
    assert client.get("/metrics", headers={"authorization": "Bearer not-a-token"}).status_code == 401


def test_nobody_signed_in_gets_the_login_page_or_401(client: TestClient) -> None:
    for path in (
        "/checks/",
        "/checks/healthz",
        "/checks/evidence/x/report.html",
        "/checks/static/status.css",
    ):
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 303, path
        assert answer.headers["location"].startswith("/login?next=%2Fchecks%2F"), path
    for path in ("/metrics", "/checks/api/status"):
        answer = client.get(path)
        assert answer.status_code == 401, path
        assert answer.headers["www-authenticate"] == "Bearer" and "error" in answer.json(), path
    assert client.get("/healthz").json() == {"ok": True}  # the console's own, still public


def test_a_console_without_checks_says_so_to_operations(store: ConsoleStore) -> None:
    with console_client(store, None) as client:
        sign_in(client, "olga")
        page = client.get("/checks/")
        assert page.status_code == 404
        assert "started without a checks file" in page.text and "--checks FILE" in page.text
        assert client.get("/metrics").status_code == 404
        client.cookies.clear()
        sign_in(client, "ana")
        assert client.get("/checks/").status_code == 403  # who may not see checks is not told more


def test_what_the_server_says_at_start_about_its_checks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RUNBOOK_CHECKS", raising=False)
    (tmp_path / "runbooks").mkdir()
    site, said = checks_at_start(None, Catalog([tmp_path / "runbooks"]))
    assert site is None
    assert said.startswith(
        f"No checks file at {tmp_path / 'runbooks' / 'checks.yaml'}: the console serves no checks"
    )

    broken = tmp_path / "checks.yaml"
    broken.write_text("checks:\n  portal-login:\n    runbook: no-such-runbook\n    every: 5m\n")
    monkeypatch.setenv("RUNBOOK_CHECKS", str(broken))  # found, not named: the console starts without checks
    site, said = checks_at_start(None, CATALOG)
    assert site is None
    assert said.startswith("The checks file does not load, so the console serves no checks pages")
    assert f"{broken}:3:" in said and "no-such-runbook" in said

    with pytest.raises(ChecksFileError, match="no-such-runbook"):
        checks_at_start(broken, CATALOG)  # named with --checks: it must load
    with pytest.raises(ChecksFileError, match="no checks file"):
        checks_at_start(tmp_path / "missing.yaml", CATALOG)
