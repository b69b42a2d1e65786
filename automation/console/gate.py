"""The one door: every request but /healthz, the login page and the stylesheet needs a session or, on the
machine-readable paths, an API token. Without one, a page request is sent to /login and a machine request gets
401 in JSON.

The gate is ASGI middleware, so a route added later is closed until it is listed in PUBLIC: the safe default.
The one rule for tokens (`takes_token`): a token opens the machine-readable paths only, the JSON API
(/api/...), the checks' JSON (/checks/api/...) and /metrics, so that helpdesks, scripts and Prometheus need no
session; never a page (a leaked helpdesk token must not become a console session). What the token's role may
then do there is permissions.allowed's to say, as for a session.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from automation.console.context import Console
from automation.console.permissions import Actor
from automation.console.sessions import COOKIE, find_session
from automation.console.tokens import verify_token

# The SSO routes check their own state: the provider sends the browser back before it has a session.
PUBLIC = frozenset({"/healthz", "/login", "/login/sso", "/login/sso/callback"})
PUBLIC_PREFIXES = ("/static/",)
API_PREFIX = "/api/"
TOKEN_PREFIXES = (API_PREFIX, "/checks/api/")
TOKEN_PATHS = frozenset({"/api", "/metrics"})


def is_public(path: str) -> bool:
    return path in PUBLIC or path.startswith(PUBLIC_PREFIXES)


def is_api(path: str) -> bool:
    return path.startswith(API_PREFIX) or path == API_PREFIX.rstrip("/")


def takes_token(path: str) -> bool:
    """A machine-readable path: an API token is accepted there, and a refusal is JSON, never the login page."""
    return path in TOKEN_PATHS or path.startswith(TOKEN_PREFIXES)


def bearer(request: Request) -> str | None:
    """The token of `Authorization: Bearer <token>`; "" for an Authorization header of another kind."""
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def identify(console: Console, request: Request) -> Actor | None:
    """Who sends this request: the token's actor on a machine-readable path when one is sent, else the
    session's user."""
    now = console.clock()
    if takes_token(request.url.path):
        token = bearer(request)
        if token is not None:  # a wrong token is refused even beside a good cookie
            return verify_token(console.store, token, now=now) if token else None
    user = find_session(console.store, request.cookies.get(COOKIE), idle=console.config.server.idle, now=now)
    return user.actor("session") if user is not None else None


def refusal(request: Request) -> Response:
    """401 in JSON on a machine-readable path; for a page, the login page, coming back here after sign-in."""
    if takes_token(request.url.path):
        return JSONResponse(
            {"error": "sign in, or send an API token as 'Authorization: Bearer <token>'"},
            status_code=401,
            headers={"www-authenticate": "Bearer"},
        )
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


class Gate:
    """ASGI middleware: sets request.state.actor, and answers for the routes when there is none."""

    def __init__(self, app: ASGIApp, console: Console) -> None:
        self.app = app
        self.console = console

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        actor = await run_in_threadpool(identify, self.console, request)
        scope.setdefault("state", {})["actor"] = actor
        if actor is None and not is_public(scope["path"]):
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 4401})
                return
            await refusal(request)(scope, receive, send)
            return
        await self.app(scope, receive, send)
