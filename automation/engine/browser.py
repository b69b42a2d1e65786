"""The browser pool: one Playwright driver per thread, its browsers reused across runs, a fresh context per run."""

from __future__ import annotations

import tempfile
import threading
from pathlib import Path
from typing import Any

from automation.chromium import launch_options


class BrowserPool:
    """One Playwright driver and its browsers, reused across runs; a fresh context per run.

    Playwright's sync API belongs to the thread that started it: use one pool per thread (`pool()` gives each
    thread its own). A browser that died (killed, crashed) is launched again by the next `browser()` call."""

    def __init__(self) -> None:
        self._playwright: Any = None
        self._browsers: dict[tuple[bool, str], Any] = {}
        self._traces: tempfile.TemporaryDirectory[str] | None = None

    @property
    def traces_dir(self) -> Path:
        """Where Playwright writes the running traces of this pool's browsers (private, removed on close).

        A trace is written here as it is recorded, so the part recorded before a browser crash survives it."""
        if self._traces is None:
            self._traces = tempfile.TemporaryDirectory(prefix="runbook-live-traces-")
        return Path(self._traces.name)

    def browser(self, *, headless: bool = True, executable_path: str | None = None) -> Any:
        """A launched browser. Raises TargetUnreachableError if Chromium cannot start."""
        from automation.engine.pw import start_playwright, translate

        options = launch_options(headless=headless, executable_path=executable_path)
        key = (headless, options["executable_path"])
        browser = self._browsers.get(key)
        if browser is not None and browser.is_connected():
            return browser
        if browser is not None:  # killed or crashed: release what the driver still holds, then relaunch
            _close_quietly(browser)
            del self._browsers[key]
        if not Path(options["executable_path"]).exists():
            from automation.errors import TargetUnreachableError

            raise TargetUnreachableError(
                f"No Chromium at {options['executable_path']}. Install it (apt-get install -y chromium) "
                "or point RUNBOOK_CHROMIUM / --chromium at one."
            )
        if self._playwright is None:
            self._playwright = start_playwright()
        with translate(what="starting Chromium"):
            browser = self._playwright.chromium.launch(**options, traces_dir=str(self.traces_dir))
        self._browsers[key] = browser
        return browser

    def close(self) -> None:
        """Close the browsers and the driver; the pool can be used again afterwards (it starts afresh)."""
        for browser in self._browsers.values():
            _close_quietly(browser)
        self._browsers.clear()
        if self._playwright is not None:
            try:
                self._playwright.stop()
            except Exception:  # noqa: BLE001 - the driver may already be gone
                pass
            self._playwright = None
        if self._traces is not None:
            self._traces.cleanup()
            self._traces = None


def _close_quietly(browser: Any) -> None:
    try:
        browser.close()
    except Exception:  # noqa: BLE001 - closing at exit or after a crash: nothing left to report to
        pass


_POOL: BrowserPool | None = None
_THREAD = threading.local()


def pool() -> BrowserPool:
    """The calling thread's browser pool.

    On the main thread: the process's pool, closed at exit. On any other thread (a scheduler's worker): that
    thread's own pool, since the sync API cannot cross threads; close it with `close_pool()` before the
    thread ends."""
    global _POOL
    if threading.current_thread() is not threading.main_thread():
        found: BrowserPool | None = getattr(_THREAD, "pool", None)
        if found is None:
            found = _THREAD.pool = BrowserPool()
        return found
    if _POOL is None:
        import atexit

        _POOL = BrowserPool()
        atexit.register(_POOL.close)
    return _POOL


def close_pool() -> None:
    """Close the calling thread's pool (its browsers and driver); the next `pool()` starts a new one."""
    global _POOL
    if threading.current_thread() is not threading.main_thread():
        found: BrowserPool | None = getattr(_THREAD, "pool", None)
        if found is not None:
            found.close()
            del _THREAD.pool
        return
    if _POOL is not None:
        _POOL.close()
