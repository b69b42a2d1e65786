"""The console's app in process (Starlette's test client): the door, CSRF, the Host check, tokens, teams."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from support.signing_in import csrf_of, post_sign_in

from automation.catalog import Catalog
from automation.console.accounts import add_user
from automation.console.config import ConsoleConfig, ServerSpec
from automation.console.context import Console
from automation.console.permissions import Team
from automation.console.server import create_app
from automation.console.sessions import COOKIE
from automation.console.store import ConsoleStore
from automation.console.tokens import create_token, revoke_token

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "a long enough passphrase"
TEAMS = {"portal-support": Team("portal-support", frozenset({"reset-password"}))}


@pytest.fixture
def client(store: ConsoleStore) -> Iterator[TestClient]:
    add_user(store, "ana", "agent", PASSWORD, team="portal-support")
    config = ConsoleConfig(teams=TEAMS, server=ServerSpec(secure_cookie=False))
    console = Console(store=store, config=config, catalog=Catalog([ROOT / "runbooks"]))
    with TestClient(create_app(console), base_url="http://127.0.0.1") as opened:
        yield opened


def sign_in(client: TestClient, password: str = PASSWORD) -> object:
    return post_sign_in(client, "ana", password)


def test_only_healthz_and_the_login_page_answer_without_a_session(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"ok": True}
    assert client.get("/login").status_code == 200
    page = client.get("/?q=reset", follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"] == "/login?next=%2F%3Fq%3Dreset"
    for path in ("/api/runbooks", "/api/runbooks/reset-password", "/api/docs", "/api/openapi.json", "/api/x"):
        answer = client.get(path)
        assert answer.status_code == 401, path
        assert "error" in answer.json()
    assert client.get("/nowhere", follow_redirects=False).status_code == 303


def test_sign_in_gives_a_new_session_id(client: TestClient) -> None:
    client.get("/login")
    before = client.cookies[COOKIE]
    answer = sign_in(client)
    assert answer.status_code == 303
    assert "HttpOnly" in answer.headers["set-cookie"] and "SameSite=lax" in answer.headers["set-cookie"]
    assert client.cookies[COOKIE] != before
    assert "Reset the customer" in client.get("/").text


def test_a_post_without_the_csrf_token_is_refused(client: TestClient) -> None:
    client.get("/login")
    answer = client.post("/login", data={"name": "ana", "password": PASSWORD})
    assert answer.status_code == 403
    sign_in(client)
    assert client.post("/logout", follow_redirects=False).status_code == 403
    assert client.post("/logout", data={"csrf_token": "0" * 64}).status_code == 403
    assert client.get("/", follow_redirects=False).status_code == 200  # still signed in


def test_sign_out_ends_the_session_at_the_server(client: TestClient) -> None:
    sign_in(client)
    session = client.cookies[COOKIE]
    token = csrf_of(client.get("/").text)
    assert client.post("/logout", data={"csrf_token": token}, follow_redirects=False).status_code == 303
    client.cookies.set(COOKIE, session)  # the old cookie, replayed
    assert client.get("/", follow_redirects=False).status_code == 303


def test_a_forged_host_is_refused(client: TestClient) -> None:
    answer = client.get("/healthz", headers={"host": "evil.example"})
    assert answer.status_code == 400
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]


def test_every_answer_carries_the_security_headers(client: TestClient) -> None:
    for answer in (client.get("/healthz"), client.get("/login"), client.get("/api/runbooks")):
        policy = answer.headers["content-security-policy"]
        assert "default-src 'self'" in policy and "'unsafe-inline'" not in policy
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["referrer-policy"] == "no-referrer"


def test_a_token_opens_the_api_but_not_the_pages(client: TestClient, store: ConsoleStore) -> None:
    made = create_token(store, "zendesk", role="agent", team="portal-support")
    bearer = {"authorization": f"Bearer {made.token}"}
    assert [r["name"] for r in client.get("/api/runbooks", headers=bearer).json()] == ["reset-password"]
    assert client.get("/", headers=bearer, follow_redirects=False).status_code == 303
    assert client.get("/api/runbooks", headers={"authorization": "Bearer rbt_wrong"}).status_code == 401
    revoke_token(store, made.info.id)
    assert client.get("/api/runbooks", headers=bearer).status_code == 401


def test_a_runbook_the_team_may_not_run_is_403(client: TestClient, store: ConsoleStore) -> None:
    bearer = {"authorization": f"Bearer {create_token(store, 'ana').token}"}
    assert client.get("/api/runbooks/resend-verify", headers=bearer).status_code == 403
    assert client.get("/api/runbooks/no-such", headers=bearer).status_code == 404
    assert "resend-verify" not in client.get("/api/runbooks?q=verify", headers=bearer).text


def test_a_runbook_s_inputs_are_what_a_helpdesk_needs_for_a_form(
    client: TestClient, store: ConsoleStore
) -> None:
    bearer = {"authorization": f"Bearer {create_token(store, 'ana').token}"}
    body = client.get("/api/runbooks/reset-password", headers=bearer).json()
    inputs = {i["name"]: i for i in body["inputs"]}
    assert inputs["email"]["type"] == "email" and inputs["email"]["required"] is True
    assert set(inputs["email"]) >= {"type", "pattern", "choices", "help", "default", "required", "secret"}
    assert any(i["secret"] for i in inputs.values())


def test_the_search_box_works_without_javascript(client: TestClient) -> None:
    sign_in(client)
    assert "reset-password" in client.get("/?q=password").text
    assert "reset-password" not in client.get("/?q=nothing-like-this").text


def test_a_sign_in_never_goes_to_another_site(client: TestClient) -> None:
    token = csrf_of(client.get("/login").text)
    answer = client.post(
        "/login",
        data={"name": "ana", "password": PASSWORD, "csrf_token": token, "next": "//evil.example/"},
        follow_redirects=False,
    )
    assert answer.headers["location"] == "/"


def test_the_openapi_schema_is_published_behind_login(client: TestClient) -> None:
    sign_in(client)
    schema = client.get("/api/openapi.json").json()
    assert {"/api/runbooks", "/api/runbooks/{name}", "/api/runs", "/api/runs/{run_id}/events"} <= set(
        schema["paths"]
    )
    assert "/api/runbooks/{name}" in client.get("/api/docs").text


INLINE = re.compile(r"<script(?![^>]*\bsrc=)|\son[a-z]+\s*=|\sstyle\s*=|javascript:", re.I)


def test_no_page_carries_inline_script_or_style(client: TestClient) -> None:
    pages = [client.get("/login").text]
    sign_in(client)
    pages += [client.get(path).text for path in ("/", "/?q=reset", "/api/docs", "/nowhere")]
    for html in pages:
        assert INLINE.search(html) is None, INLINE.search(html)


def test_every_state_changing_route_checks_the_csrf_token(client: TestClient) -> None:
    from fastapi.routing import APIRoute

    from automation.console.security import require_csrf

    def unsafe(routes: list) -> list[str]:
        return [r.path for r in routes if isinstance(r, APIRoute) and r.methods - {"GET", "HEAD"}]

    # the app's own routes (not through a router) change nothing
    assert unsafe(client.app.routes) == []
    routers = {
        id(r.original_router): r.original_router for r in client.app.routes if hasattr(r, "original_router")
    }
    changing = [router for router in routers.values() if unsafe(router.routes)]
    assert len(changing) >= 3, "the sign-in, the runs API and the run pages change state"
    for router in changing:
        assert require_csrf in [d.dependency for d in router.dependencies], unsafe(router.routes)


def test_signing_in_again_ends_the_session_it_replaces(client: TestClient) -> None:
    sign_in(client)
    first = client.cookies[COOKIE]
    token = csrf_of(client.get("/").text)
    client.post(
        "/login",
        data={"name": "ana", "password": PASSWORD, "csrf_token": token, "next": "/"},
        follow_redirects=False,
    )
    assert client.cookies[COOKIE] != first
    client.cookies.set(COOKIE, first)
    assert client.get("/", follow_redirects=False).status_code == 303


def test_the_idle_and_absolute_timeouts_send_the_agent_back_to_sign_in(store: ConsoleStore) -> None:
    from datetime import UTC, datetime, timedelta

    add_user(store, "ana", "agent", PASSWORD, team="portal-support")
    now = [datetime(2026, 12, 1, 9, 0, tzinfo=UTC)]
    server = ServerSpec(secure_cookie=False, session_idle="30m", session_absolute="1h")
    console = Console(
        store=store,
        config=ConsoleConfig(teams=TEAMS, server=server),
        catalog=Catalog([ROOT / "runbooks"]),
        clock=lambda: now[0],
    )
    with TestClient(create_app(console), base_url="http://127.0.0.1") as client:

        def after(minutes: int) -> int:
            now[0] += timedelta(minutes=minutes)
            return client.get("/", follow_redirects=False).status_code

        sign_in(client)
        assert [after(29), after(29)] == [200, 200]  # each request restarts the idle clock
        assert after(31) == 303  # idle too long
        sign_in(client)
        assert [after(25), after(25), after(25)] == [200, 200, 303]  # an hour after sign-in, however busy


def test_a_cross_site_post_is_refused_even_with_the_token(client: TestClient) -> None:
    sign_in(client)
    token = csrf_of(client.get("/").text)
    answer = client.post("/logout", data={"csrf_token": token}, headers={"sec-fetch-site": "cross-site"})
    assert answer.status_code == 403
    assert client.get("/", follow_redirects=False).status_code == 200  # not signed out


def test_an_invalid_api_request_is_422_in_json(client: TestClient, store: ConsoleStore) -> None:
    bearer = {"authorization": f"Bearer {create_token(store, 'ana').token}"}
    answer = client.get("/api/runbooks", params={"q": "a" * 300}, headers=bearer)
    assert answer.status_code == 422
    assert answer.json()["error"].startswith("the request is not valid: query.q")
