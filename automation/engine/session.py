"""Saved signed-in sessions (Playwright storage state): a person signs in once, 2FA included; runbooks reuse it."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from automation.engine.browser import pool
from automation.engine.pw import translate
from automation.environments import Target


def default_path(target: Target, app: str) -> Path:
    return (
        target.sessions.get(app)
        or Path.home() / ".config" / "runbook" / "sessions" / f"{target.name}-{app}.json"
    )


def save_session(
    target: Target,
    app: str,
    sign_in: Callable[[Any], None],
    *,
    dest: Path | None = None,
    browser: Any = None,
    headed: bool = True,
    chromium: str | None = None,
) -> Path:
    """Open the app, let `sign_in(page)` happen (a person at the window), save the session readable only by its
    owner. Raises ConfigError, TargetUnreachableError."""
    dest = dest or default_path(target, app)
    browser = browser or pool().browser(headless=not headed, executable_path=chromium)
    with translate(what=f"opening {app}"):
        context = browser.new_context()
        page = context.new_page()
        page.goto(target.base_url(app))
    try:
        sign_in(page)
        with translate(what="reading the signed-in session"):
            state = context.storage_state()
    finally:
        context.close()
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # cookies are credentials
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(state, out)
    os.chmod(dest, 0o600)
    return dest
