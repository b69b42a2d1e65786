"""The sandbox's control routes take only JSON with the sandbox's own token: a page on another site (a form
it posts, a fetch it sends) cannot reset or reconfigure a sandbox, nor can a request without the token."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from pytest_httpserver import HTTPServer

from automation.environments import SANDBOX_TOKEN_HEADER
from automation.sandbox import SandboxServer
from automation.sandbox.app import TOKEN_HEADER


def a_mail_in_the_outbox(sandbox: SandboxServer) -> None:
    """State a reset would wipe: if it is still there, the reset did not happen."""
    assert sandbox.store is not None
    sandbox.store.send_mail(app="portal", to="kept@example.com", subject="still here", text="t")


def outbox(sandbox: SandboxServer) -> list[str]:
    return [m["subject"] for m in httpx.get(sandbox.urls["portal"] + "/_sandbox/mail", timeout=10).json()]


def test_a_form_post_to_reset_is_refused_415_and_nothing_is_reset(sandbox: SandboxServer) -> None:
    a_mail_in_the_outbox(sandbox)
    reset, origin = sandbox.urls["portal"] + "/_sandbox/reset", {"Origin": "https://attacker.example"}
    form = httpx.post(reset, data={"holder": "x"}, headers=origin, timeout=10)
    plain = httpx.post(reset, content=b"{}", headers={**origin, "Content-Type": "text/plain"}, timeout=10)
    # even with the token: the control routes take JSON only
    multipart = httpx.post(
        reset, files={"f": b"x"}, headers={**origin, **sandbox.control_headers}, timeout=10
    )
    for answer in (form, plain, multipart):
        assert answer.status_code == 415, answer.text
        assert "JSON only" in answer.json()["detail"]
    assert outbox(sandbox) == ["still here"]


def test_json_without_the_token_or_with_another_is_refused_403(sandbox: SandboxServer) -> None:
    a_mail_in_the_outbox(sandbox)
    base = sandbox.urls["netsuite"]
    for headers in ({}, {TOKEN_HEADER: "not-the-token"}):
        for method, route, body in (
            ("POST", "reset", {}),
            ("POST", "release", {"lease": "x"}),
            ("POST", "settings", {"netsuite_refusal": "banner"}),
            ("POST", "faults", {"route": "/app/*", "status": 500}),
            ("DELETE", "faults", None),
        ):
            answer = httpx.request(method, f"{base}/_sandbox/{route}", json=body, headers=headers, timeout=10)
            assert answer.status_code == 403, (method, route, answer.text)
            assert TOKEN_HEADER in answer.json()["detail"]
    assert outbox(sandbox) == ["still here"]
    assert httpx.get(base + "/_sandbox/settings", timeout=10).json().get("netsuite_refusal") != "banner"
    assert httpx.get(base + "/_sandbox/faults", timeout=10).json() == []


def test_json_with_the_token_is_taken(sandbox: SandboxServer) -> None:
    a_mail_in_the_outbox(sandbox)
    answer = httpx.post(
        sandbox.urls["portal"] + "/_sandbox/reset", json={}, headers=sandbox.control_headers, timeout=10
    )
    assert answer.json() == {"ok": True} and outbox(sandbox) == []


def test_each_sandbox_has_a_token_of_its_own_and_the_engine_sends_it_by_that_name(
    sandbox: SandboxServer,
) -> None:
    with SandboxServer() as other:
        assert other.token != sandbox.token and len(other.token) >= 40
        refused = httpx.post(
            other.urls["portal"] + "/_sandbox/reset", json={}, headers=sandbox.control_headers, timeout=10
        )
        assert refused.status_code == 403
    assert SANDBOX_TOKEN_HEADER == TOKEN_HEADER  # the runner names the header without importing the sandbox


@pytest.mark.browser
def test_a_page_on_another_site_cannot_reset_the_sandbox_in_chromium(
    sandbox: SandboxServer, page: Any, httpserver: HTTPServer
) -> None:
    """The attack as a browser makes it: a page elsewhere posts a form to the sandbox and sends it a fetch
    (no-cors: a page may send one anywhere, though it cannot read the answer)."""
    reset = sandbox.urls["portal"] + "/_sandbox/reset"
    httpserver.expect_request("/").respond_with_data(
        f"""<!doctype html><title>elsewhere</title><body>
        <form method="post" action="{reset}"><input name="holder" value="attacker"></form>
        <script>
          fetch("{reset}", {{method: "POST", mode: "no-cors",
                             headers: {{"Content-Type": "application/json"}}, body: "{{}}"}})
            .then(() => document.title = "fetched", () => document.title = "fetch failed");
        </script>""",
        content_type="text/html",
    )
    a_mail_in_the_outbox(sandbox)
    page.goto(httpserver.url_for("/"))
    page.wait_for_function("document.title !== 'elsewhere'")
    with page.expect_navigation():
        page.evaluate("document.forms[0].submit()")
    assert "JSON only" in page.locator("body").inner_text()
    assert outbox(sandbox) == ["still here"]
