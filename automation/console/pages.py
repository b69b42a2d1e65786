"""The console's pages, rendered on the server (Jinja2, no script): sign-in, sign-out and the runbook list.

Sign-in binds its form to an anonymous id in the cookie (for the CSRF token), checks the throttle, then
the password, and on success gives the browser a NEW session id: the anonymous one is never promoted.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from automation.console.accounts import verify_password
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


@router.get("/login")
def login_page(request: Request, next: str = "/") -> Response:
    """The sign-in form, bound to an anonymous id; a signed-in user goes straight on."""
    if getattr(request.state, "actor", None) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    anonymous = anonymous_id(request.cookies.get(COOKIE))
    response = render(request, "login.html", session_id=anonymous, next=safe_next(next), name="")
    set_cookie(response, console_of(request), anonymous)
    return response


@router.post("/login")
def login(
    request: Request,
    name: str = Form(""),
    password: str = Form(""),
    next: str = Form("/"),
) -> Response:
    """Check the throttle and the password; on success a new session and its cookie."""
    console = console_of(request)
    client = request.client.host if request.client else "unknown"
    keys = [f"name:{name.strip().casefold()[:64]}", f"client:{client}"]
    wait = console.throttle.refused(keys, time.monotonic())
    if wait:
        response = render(
            request,
            "login.html",
            429,
            name=name,
            next=safe_next(next),
            error=f"Too many wrong passwords: wait {wait} seconds, then try again.",
        )
        response.headers["retry-after"] = str(wait)
        return response
    user = verify_password(console.store, name.strip(), password)
    if user is None:
        console.throttle.failed(keys, time.monotonic())
        return render(
            request,
            "login.html",
            401,
            name=name,
            next=safe_next(next),
            error="The name or the password is wrong (or the account is disabled).",
        )
    console.throttle.forget(keys[0])
    end_session(console.store, request.cookies.get(COOKIE), now=console.clock())  # a session it replaces
    session_id = start_session(
        console.store, user, absolute=console.config.server.absolute, now=console.clock()
    )
    response = RedirectResponse(safe_next(next), status_code=303)
    set_cookie(response, console, session_id)
    return response


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
