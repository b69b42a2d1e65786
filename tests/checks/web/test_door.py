"""`runbook checks web` and `checks serve` behind the console's door: nobody signed in gets the login page or 401,
a session or an API token opens what it should, a fresh install with no user says how to make the first, the
servers refuse to listen beyond loopback, /healthz says only ok or not, and a hostile evidence path is a quiet
404. In process (Starlette's test client) and as the real command (`runbook checks web` on loopback)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from support import signing_in
from support.accessibility import serious_violations
from support.check_history import record_a_passed_login

from automation.catalog import Catalog
from automation.checks.config.load import load_checks
from automation.checks.storage.history import History
from automation.checks.web.server import StatusServer
from automation.console.accounts import add_user
from automation.console.checks_site import FIRST_USER, Door
from automation.console.config import ConsoleConfig, ServerSpec
from automation.console.context import Console
from automation.console.store import ConsoleStore
from automation.console.tokens import create_token
from automation.httpsecurity import CONTENT_SECURITY_POLICY
from automation.store.database import make_engine

ROOT = Path(__file__).resolve().parents[3]
CATALOG = Catalog([ROOT / "runbooks"])
CHECKS_FILE = ROOT / "runbooks" / "checks.yaml"
RUNBOOK = [sys.executable, "-m", "automation.cli"]
PASSWORD = "a long enough passphrase"
HOW_TO = "runbook users add NAME --role admin"
DENIED = ("/", "/api/status", "/evidence/portal-login-1/report.html", "/metrics")


@dataclass
class Site:
    server: StatusServer
    store: ConsoleStore
    traces: Path

    def client(self) -> TestClient:
        return TestClient(self.server.app(), base_url="http://127.0.0.1")


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    """`checks web`'s server over the repository's checks file, its history and evidence in tmp_path, behind
    the door of a console store in tmp_path (no user in it yet)."""
    config = load_checks(CHECKS_FILE, catalog=CATALOG)
    history, traces = History(data_dir=tmp_path / "data"), tmp_path / "traces"
    record_a_passed_login(history, traces)
    store = ConsoleStore(tmp_path / "console")
    console = Console(store=store, config=ConsoleConfig({}, ServerSpec(secure_cookie=False)), catalog=CATALOG)
    door = Door(console, ("127.0.0.1", "localhost"))
    server = StatusServer(config, history, traces / "checks", lambda: datetime.now(UTC), door)
    yield Site(server, store, traces)
    history.close()
    store.close()


def with_users(site: Site) -> Site:
    add_user(site.store, "olga", "operations", PASSWORD)
    add_user(site.store, "ana", "agent", PASSWORD, team="portal-support")
    return site


def sign_in(client: TestClient, name: str) -> None:
    signing_in.sign_in(client, name, PASSWORD)


def test_nobody_signed_in_gets_the_login_page_or_401(site: Site) -> None:
    with with_users(site).client() as client:
        for path in DENIED:
            answer = client.get(path, follow_redirects=False)
            if path in ("/api/status", "/metrics"):
                assert answer.status_code == 401, path
                assert "Bearer" in answer.json()["error"]
            else:
                assert answer.status_code == 303, path
                assert answer.headers["location"].startswith("/login?next="), path
        assert "Portal login report" not in client.get("/evidence/portal-login-1/report.html").text
        login = client.get("/")  # followed: the sign-in form, styled
        assert login.status_code == 200 and "<h1>Sign in</h1>" in login.text
        assert client.get("/static/console.css").status_code == 200
        assert client.get("/healthz").json() == {"ok": True}


def test_a_session_opens_the_page_its_json_and_the_reports(site: Site, tmp_path: Path) -> None:
    with with_users(site).client() as client:
        sign_in(client, "olga")
        page = client.get("/")
        assert page.status_code == 200 and 'id="check-portal-login"' in page.text
        assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert client.get("/static/status.css").status_code == 200
        report = client.get("/evidence/portal-login-1/report.html")
        assert report.status_code == 200 and "<h1>Portal login report</h1>" in report.text
        assert "frame-ancestors 'none'" in report.headers["content-security-policy"]
        status = client.get("/api/status")
        row = {r["name"]: r for r in status.json()}["portal-login"]
        assert row["health"] == "passing"
        assert row["last_report"] == "/evidence/portal-login-1/report.html"
        assert str(tmp_path) not in status.text  # no absolute server path
        assert "probe_success" in client.get("/metrics").text


def test_an_agent_signed_in_is_refused_the_checks(site: Site) -> None:
    with with_users(site).client() as client:
        sign_in(client, "ana")
        for path in DENIED:
            answer = client.get(path, follow_redirects=False)
            assert answer.status_code == 403, path
            assert "Portal login" not in answer.text


def test_a_token_opens_the_json_and_the_metrics_never_a_page(site: Site) -> None:
    with_users(site)
    bearer = {"authorization": f"Bearer {create_token(site.store, 'prometheus', role='operations').token}"}
    agent = {"authorization": f"Bearer {create_token(site.store, 'ana').token}"}
    with site.client() as client:
        assert "probe_success" in client.get("/metrics", headers=bearer).text
        assert client.get("/api/status", headers=bearer).status_code == 200
        for path in ("/", "/evidence/portal-login-1/report.html"):
            assert client.get(path, headers=bearer, follow_redirects=False).status_code == 303, path
        assert client.get("/metrics", headers=agent).status_code == 403
        assert client.get("/metrics", headers={"authorization": "Bearer not-a-token"}).status_code == 401


def test_with_no_user_yet_everything_but_healthz_is_401_saying_how_to_make_one(site: Site) -> None:
    with site.client() as client:
        for path in (*DENIED, "/login"):
            answer = client.get(path, follow_redirects=False)
            assert answer.status_code == 401, path
            assert HOW_TO in answer.text, path
            assert answer.headers["x-content-type-options"] == "nosniff"
        assert client.get("/healthz").json() == {"ok": True}
        add_user(site.store, "root", "admin", PASSWORD)
        assert client.get("/", follow_redirects=False).status_code == 303  # now the sign-in page
    assert HOW_TO in FIRST_USER


def test_every_answer_has_the_headers_and_a_forged_host_is_400(site: Site) -> None:
    with with_users(site).client() as client:
        for path in ("/", "/login", "/healthz", "/api/status", "/no-such-page"):
            answer = client.get(path, follow_redirects=False)
            assert answer.headers["content-security-policy"] == CONTENT_SECURITY_POLICY, path
            assert answer.headers["x-content-type-options"] == "nosniff", path
            assert answer.headers["referrer-policy"] == "no-referrer", path
            assert answer.headers["x-frame-options"] == "DENY", path
        rebound = client.get("/healthz", headers={"host": "attacker.example"})
        assert rebound.status_code == 400
        assert rebound.headers["x-frame-options"] == "DENY"


def test_healthz_with_the_database_down_says_only_not_ok(site: Site) -> None:
    closed = _closed_port()
    site.server.history.engine = make_engine(f"postgresql+psycopg://runbook:pw@127.0.0.1:{closed}/checks")
    with with_users(site).client() as client:
        answer = client.get("/healthz")
    assert answer.status_code == 503
    assert answer.text == '{"ok":false}'  # no driver, no host, no port, no database name


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- the real command --------------------------------------------------------------------------------------------


@dataclass
class Served:
    url: str
    env: dict[str, str]
    proc: subprocess.Popen[str]

    def runbook(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*RUNBOOK, *args], input=stdin, env=self.env, capture_output=True, text=True, timeout=60
        )


def command_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("RUNBOOK_DATABASE_URL", "RUNBOOK_CHECKS")}
    env.update(
        RUNBOOK_DATA=str(tmp_path / "data"),
        RUNBOOK_TRACES=str(tmp_path / "traces"),
        RUNBOOK_PATH=str(ROOT / "runbooks"),
        PYTHONUNBUFFERED="1",
    )
    return env


def console_yaml(tmp_path: Path) -> Path:
    path = tmp_path / "console.yaml"
    path.write_text("server:\n  secure_cookie: false\n")
    return path


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """`runbook checks web` on a free loopback port, its output (stdout and stderr) kept to read at the end."""
    env = command_env(tmp_path)
    history = History(data_dir=tmp_path / "data")
    record_a_passed_login(history, tmp_path / "traces")
    history.close()
    command = [*RUNBOOK, "checks", "web", "--port", "0", "--file", str(CHECKS_FILE)]
    command += ["--console-config", str(console_yaml(tmp_path))]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        first = proc.stdout.readline()  # type: ignore[union-attr]
        assert "Status page" in first, first + proc.stdout.read()  # type: ignore[union-attr]
        yield Served(first.split("Status page ")[1].split()[0].rstrip("/"), env, proc)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def output_of(served: Served) -> str:
    served.proc.terminate()
    out, _ = served.proc.communicate(timeout=10)
    return out


@pytest.mark.timing
def test_the_real_server_closed_until_a_user_then_open_to_her_and_to_a_token(served: Served) -> None:
    with httpx.Client(base_url=served.url, timeout=10) as client:
        for path in DENIED:
            answer = client.get(path)
            assert answer.status_code == 401 and HOW_TO in answer.text, path

        added = served.runbook(
            "users", "add", "olga", "--role", "operations", "--password-stdin", stdin=PASSWORD
        )
        assert added.returncode == 0, added.stderr
        made = served.runbook("tokens", "create", "prometheus", "--role", "operations")
        assert made.returncode == 0, made.stderr
        token = made.stdout.strip().splitlines()[-1]  # printed once, alone on the last line

        for path in DENIED:
            answer = client.get(path)
            assert answer.status_code in (303, 401), path
            assert "Portal login" not in answer.text

        bearer = {"authorization": f"Bearer {token}"}
        assert "probe_success" in client.get("/metrics", headers=bearer).text
        assert client.get("/api/status", headers=bearer).status_code == 200

        signing_in.sign_in(client, "olga", PASSWORD)
        assert 'id="check-portal-login"' in client.get("/").text
        assert "Portal login report" in client.get("/evidence/portal-login-1/report.html").text

        # Hostile names: a NUL byte, a name longer than any file system takes, a traversal: 404, quietly.
        for path in ("/evidence/%00", "/evidence/" + "a" * 5000, "/evidence/%00/report.html"):
            answer = client.get(path)
            assert answer.status_code == 404, path
            assert "Traceback" not in answer.text and "traces" not in answer.text
        assert client.get("/healthz").json() == {"ok": True}
    log = output_of(served)
    assert "Traceback" not in log and "Exception" not in log, log


@pytest.mark.timing
@pytest.mark.parametrize("command", ["web", "serve"])
def test_the_servers_refuse_to_listen_beyond_loopback(tmp_path: Path, command: str) -> None:
    done = subprocess.run(
        [*RUNBOOK, "checks", command, "--host", "0.0.0.0", "--port", "0", "--file", str(CHECKS_FILE)],
        env=command_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "loopback only" in done.stderr and "reverse proxy" in done.stderr, done.stderr


@pytest.mark.timing
def test_an_operator_signs_in_to_checks_web_in_chromium(served: Served, page: Any, output_path: str) -> None:
    """The standalone status server's sign-in and status page, as an operator sees them: no console error, no
    serious or critical axe-core violation, a screenshot of each kept."""
    from playwright.sync_api import expect

    added = served.runbook("users", "add", "olga", "--role", "operations", "--password-stdin", stdin=PASSWORD)
    assert added.returncode == 0, added.stderr
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    Path(output_path).mkdir(parents=True, exist_ok=True)

    page.goto(served.url + "/")
    expect(page.get_by_label("Password")).to_be_visible()  # sent to sign in
    page.screenshot(path=str(Path(output_path) / "checks-web-sign-in.png"), full_page=True)
    assert serious_violations(page) == []
    page.get_by_label("Name").fill("olga")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#check-portal-login")).to_be_visible()
    page.screenshot(path=str(Path(output_path) / "checks-web-status.png"), full_page=True)
    assert serious_violations(page) == []
    assert errors == []
