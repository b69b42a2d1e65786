"""What both emulated apps share: templates with the SANDBOX banner, and access to the store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from automation.sandbox.store import Store

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))


def store_of(request: Request) -> Store:
    return request.app.state.store


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render a template; every page extends base.html, which carries the SANDBOX banner."""
    return TEMPLATES.TemplateResponse(request, name, context, status_code=status_code)
