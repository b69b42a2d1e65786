"""The sandbox's headers and Host check, on the real served sandbox: every answer carries the security headers
(framing refused, nosniff, no Referer), a Host name other than loopback's is 400 (DNS rebinding from a web page),
and in real Chromium its pages still run their inline script while a page elsewhere cannot frame them."""

from __future__ import annotations

import http.client
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from automation.sandbox import SandboxServer

PAGES = {"portal": ("/auth/login", "/_sandbox/health", "/no-such-page"), "netsuite": ("/app/login",)}


def test_every_answer_carries_the_security_headers(sandbox: SandboxServer) -> None:
    for app, paths in PAGES.items():
        for path in paths:
            answer = httpx.get(sandbox.urls[app] + path, timeout=10)
            where = f"{app} {path} ({answer.status_code})"
            assert "frame-ancestors 'none'" in answer.headers["content-security-policy"], where
            assert answer.headers["x-frame-options"] == "DENY", where
            assert answer.headers["x-content-type-options"] == "nosniff", where
            assert answer.headers["referrer-policy"] == "no-referrer", where


def ask_with_host(url: str, host: str) -> int:
    """The status of GET / sent with this Host header as is (http.client does not rewrite it)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        conn.request("GET", "/_sandbox/health", headers={"Host": host})
        return conn.getresponse().status
    finally:
        conn.close()


def test_a_host_name_other_than_loopback_is_400(sandbox: SandboxServer) -> None:
    for app in ("portal", "netsuite"):
        port = urlsplit(sandbox.urls[app]).port
        assert ask_with_host(sandbox.urls[app], "attacker.example") == 400, app
        assert ask_with_host(sandbox.urls[app], f"attacker.example:{port}") == 400, app
        assert ask_with_host(sandbox.urls[app], f"localhost:{port}") == 200, app
        assert ask_with_host(sandbox.urls[app], f"127.0.0.1:{port}") == 200, app


@pytest.mark.browser
def test_chromium_runs_the_pages_and_refuses_to_frame_them(sandbox: SandboxServer, page: Any) -> None:
    refused: list[str] = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto(sandbox.urls["netsuite"] + "/app/login")
    page.get_by_role("button").first.wait_for()
    assert refused == []  # its inline script and style are allowed

    # set_content returns at the load event, which waits for the frame: loaded or refused by then.
    page.set_content(f'<iframe title="portal" src="{sandbox.urls["portal"]}/auth/login"></iframe>')
    framed = page.frames[-1]
    assert framed is not page.main_frame
    assert framed.locator("input[type=password]").count() == 0, framed.url  # the login form is not shown
