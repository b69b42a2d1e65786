"""The console's pages, rendered on the server (Jinja2, no script): sign-in, sign-out and the runbook list.

Sign-in binds its form to an anonymous id in the cookie (for the CSRF token), checks the throttle, then
the password, and on success gives the browser a NEW session id: the anonymous one is never promoted.
Single sign-on (console.yaml `sso:`, automation.console.sso) binds its state to that same anonymous id and
ends the same way: a new session. With `local_login: false` the password form is gone and POST /login refuses.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from automation.console import sso
from automation.console.accounts import User, verify_password
from automation.console.config import SsoSpec
from automation.console.context import Console, actor_of, console_of
from automation.console.security import require_csrf
from automation.console.sessions import (
    COOKIE,
    csrf_token,
    end_session,
    new_session_id,
    start_session,
)

ANONYMOUS = re.compile(r"[A-Za-z0-9_-]{43}")  # the shape of new_session_id()
TEMPLATES = Path(__file__).parent / "templates"
templates = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))

router = APIRouter(dependencies=[Depends(require_csrf)], include_in_schema=False)


def render(request: Request, template: str, status_code: int = 200, /, **context: Any) -> HTMLResponse:
    """A template, given the CSRF token of the browser's cookie for its forms."""
    session_id = context.pop("session_id", None) or request.cookies.get(COOKIE)
    html = templates.get_template(template).render(
        csrf=csrf_token(session_id) if session_id else "",
        actor=getattr(request.state, "actor", None),
        **context,
    )
    return HTMLResponse(html, status_code=status_code)


def set_cookie(response: Response, console: Console, session_id: str) -> None:
    response.set_cookie(
        COOKIE,
        session_id,
        httponly=True,
        secure=console.config.server.secure_cookie,
        samesite="lax",
        path="/",
    )


def safe_next(target: str | None) -> str:
    """Where to go after sign-in: a path on this site only (never //host or a full URL elsewhere)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    return target


def anonymous_id(held: str | None) -> str:
    """The id a sign-in form is bound to: the browser's own when it has a well-formed one (so two tabs, or a
    stray request for /favicon.ico, do not spoil each other's form), else a new one. Never promoted: sign-in
    makes a new id."""
    return held if held and ANONYMOUS.fullmatch(held) else new_session_id()


def login_options(console: Console, next_path: str) -> dict[str, Any]:
    """What the sign-in page offers: the provider's button (with where to go after) and the password form."""
    spec = console.config.sso
    return {
        "sso_name": spec.name if spec is not None else None,
        "sso_url": f"/login/sso?next={quote(next_path, safe='')}",
        "local_login": spec is None or spec.local_login,
    }


def login_form(request: Request, console: Console, status_code: int = 200, /, **context: Any) -> HTMLResponse:
    """The sign-in page, bound to the browser's anonymous id (set again in its cookie)."""
    anonymous = anonymous_id(request.cookies.get(COOKIE))
    next_path = safe_next(context.pop("next", "/"))
    response = render(
        request,
        "login.html",
        status_code,
        session_id=anonymous,
        next=next_path,
        **{"name": "", **context, **login_options(console, next_path)},
    )
    set_cookie(response, console, anonymous)
    return response


@router.get("/login")
def login_page(request: Request, next: str = "/") -> Response:
    """The sign-in form, bound to an anonymous id; a signed-in user goes straight on."""
    if getattr(request.state, "actor", None) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return login_form(request, console_of(request), next=next)


@router.post("/login")
def login(
    request: Request,
    name: str = Form(""),
    password: str = Form(""),
    next: str = Form("/"),
) -> Response:
    """Check the throttle and the password; on success a new session and its cookie."""
    console = console_of(request)
    if console.config.sso is not None and not console.config.sso.local_login:
        return login_form(
            request,
            console,
            403,
            next=next,
            error=f"Signing in with a password is turned off here: use Sign in with {console.config.sso.name}.",
        )
    client = request.client.host if request.client else "unknown"
    keys = [f"name:{name.strip().casefold()[:64]}", f"client:{client}"]
    wait = console.throttle.refused(keys, time.monotonic())
    if wait:
        response = login_form(
            request,
            console,
            429,
            name=name,
            next=next,
            error=f"Too many wrong passwords: wait {wait} seconds, then try again.",
        )
        response.headers["retry-after"] = str(wait)
        return response
    user = verify_password(console.store, name.strip(), password)
    if user is None:
        console.throttle.failed(keys, time.monotonic())
        return login_form(
            request,
            console,
            401,
            name=name,
            next=next,
            error="The name or the password is wrong (or the account is disabled).",
        )
    console.throttle.forget(keys[0])
    return signed_in(request, console, user, next)


def signed_in(request: Request, console: Console, user: User, next_path: str) -> Response:
    """A NEW session for `user` (any session the browser had ends), and on to `next_path`."""
    end_session(console.store, request.cookies.get(COOKIE), now=console.clock())  # a session it replaces
    session_id = start_session(
        console.store, user, absolute=console.config.server.absolute, now=console.clock()
    )
    response = RedirectResponse(safe_next(next_path), status_code=303)
    set_cookie(response, console, session_id)
    return response


def sso_spec(console: Console) -> SsoSpec:
    """console.yaml's sso: section; without one there is no such page."""
    if console.config.sso is None:
        raise HTTPException(404, "There is no such page.")
    return console.config.sso


def sso_callback_url(request: Request, console: Console) -> str:
    return sso.redirect_uri(console.config.server.public_url, str(request.base_url))


def sso_refused(request: Request, console: Console, refusal: sso.SsoRefused) -> Response:
    """The sign-in page again, saying what to do; the log says why (neither names a code or a token)."""
    sso.refused_in_log(refusal)
    return login_form(request, console, refusal.status, error=refusal.message)


@router.get("/login/sso")
def sso_login(request: Request, next: str = "/") -> Response:
    """Off to the provider, the state bound to this browser's anonymous id (set in its cookie here too)."""
    console = console_of(request)
    spec = sso_spec(console)
    if getattr(request.state, "actor", None) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    browser = anonymous_id(request.cookies.get(COOKIE))
    try:
        with httpx.Client() as http:
            target = sso.start(
                console.store,
                spec,
                http,
                browser_id=browser,
                next_path=safe_next(next),
                callback=sso_callback_url(request, console),
                now=console.clock(),
            )
    except sso.SsoRefused as refusal:
        return sso_refused(request, console, refusal)
    response = RedirectResponse(target, status_code=303)
    set_cookie(response, console, browser)
    return response


@router.get(sso.CALLBACK_PATH)
def sso_callback(request: Request) -> Response:
    """The provider's answer: checked to the end by sso.finish, then a new session as a password opens."""
    console = console_of(request)
    spec = sso_spec(console)
    held = request.cookies.get(COOKIE)
    try:
        with httpx.Client() as http:
            user, target = sso.finish(
                console.store,
                spec,
                http,
                params=dict(request.query_params),
                teams=console.config.teams,
                browser_id=held if held and ANONYMOUS.fullmatch(held) else None,
                callback=sso_callback_url(request, console),
                environ=os.environ,
                now=console.clock(),
            )
    except sso.SsoRefused as refusal:
        return sso_refused(request, console, refusal)
    return signed_in(request, console, user, target)


@router.post("/logout")
def logout(request: Request) -> Response:
    """End the session at the server (the cookie alone would not): its id opens nothing any more."""
    console = console_of(request)
    end_session(console.store, request.cookies.get(COOKIE), now=console.clock())
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("/")
def runbook_list(request: Request, q: str = "") -> Response:
    """The runbooks the agent's team may run, searched by the words of `q`."""
    console = console_of(request)
    actor = actor_of(request)
    found = console.runbooks_for(actor, q)
    return render(request, "runbooks.html", runbooks=[r.model for r in found], q=q)
