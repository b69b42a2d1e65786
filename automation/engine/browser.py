"""Which Chromium we launch and how: Debian's, found at /usr/bin/chromium unless configured otherwise.

Playwright's own browser download cannot work on our machines, and Playwright does not check the browser's
version, so the package pins playwright to the line known to drive Debian's Chromium.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

DEFAULT_CHROMIUM = "/usr/bin/chromium"

# Root on a closed network: no sandbox, no GPU, and none of the background traffic that would be refused.
LAUNCH_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def chromium_path() -> str:
    """RUNBOOK_CHROMIUM if set, else /usr/bin/chromium, else whatever `chromium` is on PATH."""
    configured = os.environ.get("RUNBOOK_CHROMIUM")
    if configured:
        return configured
    if Path(DEFAULT_CHROMIUM).exists():
        return DEFAULT_CHROMIUM
    return shutil.which("chromium") or shutil.which("chromium-browser") or DEFAULT_CHROMIUM


def launch_options(*, headless: bool = True, executable_path: str | None = None) -> dict[str, Any]:
    """Keyword arguments for `playwright.chromium.launch()`."""
    return {
        "executable_path": executable_path or chromium_path(),
        "headless": headless,
        "args": list(LAUNCH_ARGS),
    }


class BrowserPool:
    """One Playwright driver and one browser per process, reused across runs; a fresh context per run."""

    def __init__(self) -> None:
        self._playwright: Any = None
        self._browsers: dict[tuple[bool, str], Any] = {}

    def browser(self, *, headless: bool = True, executable_path: str | None = None) -> Any:
        """A launched browser. Raises TargetUnreachableError if Chromium cannot start."""
        from .pw import start_playwright, translate

        options = launch_options(headless=headless, executable_path=executable_path)
        key = (headless, options["executable_path"])
        browser = self._browsers.get(key)
        if browser is not None and browser.is_connected():
            return browser
        if not Path(options["executable_path"]).exists():
            from ..errors import TargetUnreachableError

            raise TargetUnreachableError(
                f"No Chromium at {options['executable_path']}. Install it (apt-get install -y chromium) "
                "or point RUNBOOK_CHROMIUM / --chromium at one."
            )
        if self._playwright is None:
            self._playwright = start_playwright()
        with translate(what="starting Chromium"):
            browser = self._playwright.chromium.launch(**options)
        self._browsers[key] = browser
        return browser

    def close(self) -> None:
        for browser in self._browsers.values():
            try:
                browser.close()
            except Exception:  # noqa: BLE001 - closing at exit: nothing left to report to
                pass
        self._browsers.clear()
        if self._playwright is not None:
            self._playwright.stop()
            self._playwright = None


_POOL: BrowserPool | None = None


def pool() -> BrowserPool:
    """The process's browser pool, closed at exit."""
    global _POOL
    if _POOL is None:
        import atexit

        _POOL = BrowserPool()
        atexit.register(_POOL.close)
    return _POOL
