"""The one place that imports Playwright's errors and maps them to ours (`raise ... from exc`)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from automation.errors import StepFailed, TargetUnreachableError

_UNREACHABLE = re.compile(
    r"net::ERR_(CONNECTION_REFUSED|CONNECTION_RESET|NAME_NOT_RESOLVED|ADDRESS_UNREACHABLE|"
    r"INTERNET_DISCONNECTED|CONNECTION_TIMED_OUT|CONNECTION_CLOSED|EMPTY_RESPONSE)"
)
_CLOSED = re.compile(
    r"Target (page, context or browser )?(has been )?closed|Browser has been closed|Target crashed|"
    r"Page crashed|Browser closed|Connection closed|browser has disconnected"
)
_TIMEOUT_MS = re.compile(r"Timeout (\d+)ms exceeded")
# Call-log lines showing that the action itself was done and Playwright was waiting for the page it started.
_AFTER_ACTION = (
    "click action done",
    "waiting for scheduled navigations to finish",
    "performing click action",
)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    if hasattr(exc, "message"):
        text = str(exc.message).strip() or text
    return text.splitlines()[0] if text else type(exc).__name__


@contextmanager
def translate(*, what: str, locator: str | None = None) -> Iterator[None]:
    """Run Playwright calls, turning their errors into StepFailed / TargetUnreachableError."""
    try:
        yield
    except PlaywrightTimeout as exc:
        raise StepFailed(f"{what}: {_timeout_cause(str(exc), locator)}") from exc
    except PlaywrightError as exc:
        message = _first_line(exc)
        if _UNREACHABLE.search(str(exc)):
            code = _UNREACHABLE.search(str(exc)).group(0)  # type: ignore[union-attr]
            raise TargetUnreachableError(f"{what}: the target does not answer ({code}). Is it up?") from exc
        if _CLOSED.search(str(exc)):
            raise TargetUnreachableError(f"{what}: the browser closed or crashed ({message})") from exc
        if "strict mode violation" in str(exc):
            count = re.search(r"resolved to (\d+) elements", str(exc))
            n = count.group(1) if count else "several"
            raise StepFailed(
                f"{what}: {locator or 'the locator'} matches {n} elements; make it more specific "
                "(add name/exact, or nth)"
            ) from exc
        if "Executable doesn't exist" in str(exc) or "Failed to launch" in str(exc):
            raise TargetUnreachableError(f"{what}: Chromium could not start ({message})") from exc
        raise StepFailed(f"{what}: {message}") from exc


def _timeout_cause(text: str, locator: str | None) -> str:
    """Name what the time went on, from Playwright's call log: the element, or the page it led to."""
    found = _TIMEOUT_MS.search(text)
    limit = f" within {int(found.group(1)) / 1000:g}s" if found else ""
    log = text.split("Call log:", 1)[1] if "Call log:" in text else ""
    if any(marker in log for marker in _AFTER_ACTION):
        return f"the page did not finish loading after the click{limit}"
    if "navigating to" in log or text.startswith(("Page.goto", "Frame.goto")):
        return f"the page did not finish loading{limit}"
    if locator:
        return f"{locator} did not appear or was not ready{limit}"
    return f"timed out{limit}"


def start_playwright() -> Any:
    """Start the sync driver in its own session, so that a terminal Ctrl-C reaches only us: the driver
    and Chromium stay up long enough for the run to save its trace and screenshots."""
    from playwright.sync_api import sync_playwright

    original = asyncio.create_subprocess_exec

    async def _own_session(*args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("start_new_session", True)
        return await original(*args, **kwargs)

    asyncio.create_subprocess_exec = _own_session  # type: ignore[assignment]
    try:
        return sync_playwright().start()
    finally:
        asyncio.create_subprocess_exec = original  # type: ignore[assignment]
