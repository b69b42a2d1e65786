"""What both emulated apps share: templates with the SANDBOX banner, access to the store, and the request
helpers (the posted fields, local URLs, redirects)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException

from automation.sandbox.store import Store

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))


def store_of(request: Request) -> Store:
    return request.app.state.store


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render a template; every page extends base.html, which carries the SANDBOX banner."""
    return TEMPLATES.TemplateResponse(request, name, context, status_code=status_code)


async def form(request: Request) -> dict[str, str]:
    """The posted text fields. A body that cannot be parsed counts as empty fields, so the user gets the
    form's own messages rather than an error page."""
    try:
        data = await request.form()
    except (HTTPException, ValueError, AssertionError):
        return {}
    return {key: value for key, value in data.items() if isinstance(value, str)}


def path(base: str, **query: str) -> str:
    """`base` with `query` added to its query string."""
    if not query:
        return base
    joiner = "&" if "?" in base else "?"
    # Keep "@" readable: runbooks and people match the URL /auth/verifyCode?email=someone@example.com.
    return base + joiner + urlencode(query, safe="@")


def absolute(request: Request, base: str, **query: str) -> str:
    """The full URL of a local path on the app this request reached (for links in e-mails)."""
    return str(request.base_url).rstrip("/") + path(base, **query)


def see_other(target: str, **query: str) -> RedirectResponse:
    """The 303 that follows a POST, so that reloading the next page does not post the form again."""
    return RedirectResponse(path(target, **query), status_code=303)
