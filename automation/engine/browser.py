"""The browser pool: one Playwright driver per thread, its browsers reused across runs, a fresh context per run.

Opening a context is about a fifth of a short run, and nearly all of it is Playwright's own: new_page() starts
a renderer (bench/bench_engine.py prints raw Playwright's own context open beside the engine's). A server that
runs one run after another (the console's executor) prepares the next run's context while it is idle:
`prepare()` opens a fresh context and its page, and the next run of that browser takes it (`take_spare()`),
starts its trace on it and goes. A spare is used once, never shared between runs, and holds nothing of any run.
"""

from __future__ import annotations

import tempfile
import threading
from pathlib import Path
from typing import Any

from automation.chromium import launch_options

VIEWPORT = {"width": 1280, "height": 900}  # every run's page, so that pictures of one page compare


class BrowserPool:
    """One Playwright driver and its browsers, reused across runs; a fresh context per run.

    Playwright's sync API belongs to the thread that started it: use one pool per thread (`pool()` gives each
    thread its own). A browser that died (killed, crashed) is launched again by the next `browser()` call."""

    def __init__(self) -> None:
        self._playwright: Any = None
        self._browsers: dict[tuple[bool, str], Any] = {}
        self._traces: tempfile.TemporaryDirectory[str] | None = None
        self._spare: tuple[Any, Any, Any] | None = None  # (browser, context, page), opened ahead of a run

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

    def prepare(self, *, headless: bool = True, executable_path: str | None = None) -> None:
        """Launch the browser if need be and open a fresh context and page for the next run (idle time only:
        it takes as long as a run's own context open). Never raises: a run opens its own if this failed."""
        if self._spare is not None:
            return
        try:
            browser = self.browser(headless=headless, executable_path=executable_path)
            context = browser.new_context(viewport=VIEWPORT)
            self._spare = (browser, context, context.new_page())
        except Exception:  # noqa: BLE001 - a browser that cannot start is reported by the run that needs it
            self._spare = None

    def take_spare(self, browser: Any) -> tuple[Any, Any] | None:
        """The context and page prepared for a run on `browser`, once; None if there is none (or it died)."""
        spare = self._spare
        if spare is None or spare[0] is not browser:  # prepared for another browser: left for its runs
            return None
        self._spare = None
        _, context, page = spare
        if browser.is_connected() and not page.is_closed():
            return context, page
        _close_quietly(context)
        return None

    def close(self) -> None:
        """Close the browsers and the driver; the pool can be used again afterwards (it starts afresh)."""
        self._spare = None  # closed with its browser
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


def _close_quietly(closable: Any) -> None:
    try:
        closable.close()
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
