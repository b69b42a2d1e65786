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
