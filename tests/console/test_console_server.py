"""`runbook server` as people use it: a real uvicorn process, a user made with `runbook users add`, and real
Chromium signing in, reading the runbook list and being refused what the console must refuse."""

from __future__ import annotations

import os
import queue
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.accessibility import serious_violations
from support.console_server import watched_page

ROOT = Path(__file__).resolve().parents[2]
RUNBOOK = [sys.executable, "-m", "automation.cli"]
PASSWORD = "correct horse battery staple"
CONSOLE_YAML = """\
teams:
  portal-support:
    runbooks: [reset-password]
server:
  secure_cookie: false      # plain http on loopback
"""

pytestmark = pytest.mark.timing


@dataclass
class Console:
    url: str
    env: dict[str, str]

    def runbook(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*RUNBOOK, *args], input=stdin, env=self.env, capture_output=True, text=True, timeout=60
        )


@pytest.fixture
def console(tmp_path: Path) -> Iterator[Console]:
    """`runbook server --port 0` with its own data folder and console.yaml; ana, an agent, can sign in."""
    config = tmp_path / "console.yaml"
    config.write_text(CONSOLE_YAML)
    env = {**os.environ, "RUNBOOK_DATA": str(tmp_path / "data"), "RUNBOOK_PATH": str(ROOT / "runbooks")}
    made = Console("", env).runbook(
        "users", "add", "ana", "--role", "agent", "--team", "portal-support", "--password-stdin",
        stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    proc = subprocess.Popen(
        [*RUNBOOK, "server", "--port", "0", "--config", str(config)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        url = read_url(proc)
        # the rest of its output is drained, so a chatty server never blocks on a full pipe
        threading.Thread(target=proc.stdout.read, daemon=True).start()  # type: ignore[union-attr]
        yield Console(url, env)
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def read_url(proc: subprocess.Popen[str], within: float = 30.0) -> str:
    """The URL the server prints once it listens (after a line or two about its checks pages).

    Lines are read by a thread: select() on the pipe would miss a line already in the reader's buffer (two
    lines printed together), and the server's later output is drained by the caller the same way."""
    assert proc.stdout is not None
    lines: queue.Queue[str] = queue.Queue()
    seen: list[str] = []

    def read() -> None:
        for line in proc.stdout:  # type: ignore[union-attr]
            lines.put(line)
            if "Console http" in line:
                return  # the caller drains the rest
        lines.put("")  # the server ended

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + within
    while (left := deadline - time.monotonic()) > 0:
        try:
            line = lines.get(timeout=left)
        except queue.Empty:
            break
        if not line:
            break
        seen.append(line)
        if found := re.search(r"Console (http://\S+)/ ", line):
            return found.group(1)
    raise AssertionError(f"runbook server printed no URL: {''.join(seen)!r}")


def sign_in(page: Any, console: Console, password: str = PASSWORD) -> Any:
    """Fill the sign-in form as a person does; the response of its POST."""
    page.get_by_label("Name").fill("ana")
    page.get_by_label("Password").fill(password)
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/login")) as sent:
        page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    return sent.value


def session_cookie(page: Any) -> str:
    return next(c["value"] for c in page.context.cookies() if c["name"] == "runbook_session")


@pytest.fixture
def page(browser: Any, console: Console) -> Iterator[Any]:
    with watched_page(browser, console.url) as opened:
        yield opened


def checked(page: Any, output_path: str, name: str) -> None:
    """No serious or critical axe-core violation on the page; its screenshot kept in the test's output."""
    Path(output_path).mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(Path(output_path) / f"{name}.png"), full_page=True)
    assert serious_violations(page) == [], name


def test_an_agent_signs_in_and_sees_their_team_s_runbooks(
    page: Any, console: Console, output_path: str
) -> None:
    page.goto("/")
    assert page.url.startswith(f"{console.url}/login")
    checked(page, output_path, "login")
    before = session_cookie(page)
    assert sign_in(page, console).status == 303
    assert session_cookie(page) != before  # the pre-login id is never the session's
    assert page.get_by_role("heading", name="Runbooks").is_visible()
    assert page.get_by_text("reset-password", exact=True).is_visible()
    assert page.get_by_text("resend-verify").count() == 0
    checked(page, output_path, "runbooks")
    page.goto("/api/docs")
    assert page.get_by_role("cell", name="/api/runbooks/{name}").is_visible()
    checked(page, output_path, "api-docs")


def test_the_search_works_without_javascript(browser: Any, console: Console) -> None:
    context = browser.new_context(base_url=console.url, java_script_enabled=False)
    page = context.new_page()
    page.goto("/login")
    sign_in(page, console)
    page.get_by_label("Search runbooks").fill("no such words")
    page.get_by_role("button", name="Search").click()
    assert page.get_by_text("No runbook you may run matches").is_visible()
    context.close()


def test_a_post_without_the_csrf_token_is_403(page: Any, console: Console) -> None:
    page.goto("/login")
    sign_in(page, console)
    assert page.request.post("/logout").status == 403  # the cookie alone, as a forged form would send it
    page.get_by_role("button", name="Sign out").click()  # the page's own form carries the token
    assert page.url.startswith(f"{console.url}/login")


def test_the_tenth_wrong_password_in_a_minute_is_429(browser: Any, console: Console) -> None:
    # Its own page: Chromium logs every 401 and 429 document as a console error, which here is the point.
    page = browser.new_context(base_url=console.url).new_page()
    page.goto("/login")
    statuses = [sign_in(page, console, password=f"wrong password {n}").status for n in range(10)]
    assert statuses == [401] * 9 + [429]
    assert page.get_by_role("alert").inner_text().startswith("Too many wrong passwords")
    assert sign_in(page, console).status == 429  # the right one waits too


def test_every_answer_has_the_security_headers(page: Any, console: Console) -> None:
    for path in ("/login", "/healthz", "/static/console.css"):
        headers = page.request.get(path).headers
        policy = headers["content-security-policy"]
        assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
        assert "'unsafe-inline'" not in policy
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"


def test_a_forged_host_is_400(console: Console) -> None:
    assert httpx.get(f"{console.url}/healthz").json() == {"ok": True}
    assert httpx.get(f"{console.url}/healthz", headers={"host": "console.evil.example"}).status_code == 400


def test_the_api_answers_a_token_and_refuses_none(console: Console) -> None:
    made = console.runbook("tokens", "create", "zendesk", "--role", "agent", "--team", "portal-support")
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip().splitlines()[-1]
    listed = httpx.get(f"{console.url}/api/runbooks", headers={"authorization": f"Bearer {token}"})
    assert listed.status_code == 200
    assert [r["name"] for r in listed.json()] == ["reset-password"]
    refused = httpx.get(f"{console.url}/api/runbooks")
    assert refused.status_code == 401 and "error" in refused.json()
