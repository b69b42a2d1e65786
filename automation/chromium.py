"""Which Chromium we launch and how: Debian's, found at /usr/bin/chromium unless configured otherwise.

Playwright's own browser download cannot work on our machines, and Playwright does not check the browser's
version, so the package pins playwright to the line known to drive Debian's Chromium. The engine's pool, the
trace viewer and the QA plugin all launch it with these options.
"""

from __future__ import annotations

from typing import Any

from automation.paths import chromium_path

# Root on a closed network: no sandbox, no GPU, and none of the background traffic that would be refused.
LAUNCH_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)

__all__ = ["LAUNCH_ARGS", "chromium_path", "launch_options"]


def launch_options(*, headless: bool = True, executable_path: str | None = None) -> dict[str, Any]:
    """Keyword arguments for `playwright.chromium.launch()`."""
    return {
        "executable_path": executable_path or chromium_path(),
        "headless": headless,
        "args": list(LAUNCH_ARGS),
    }
