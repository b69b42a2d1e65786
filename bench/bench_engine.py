"""What the runbook engine costs next to raw Playwright doing the same flow (prints ratios, asserts nothing).

The flow is synthetic-login on the embedded sandbox: open the login page, fill email and password, log in, see
the account page. Raw Playwright does it with tracing on (screenshots + snapshots, as the engine records);
the engine does it from the YAML, with everything it adds: a screenshot per step, trace scrubbing, run.json,
the report, the audit log. Both use one browser, a fresh context per run.

    .venv/bin/python bench/bench_engine.py [N]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import Browser, expect

from automation.api import run
from automation.engine.browser import pool
from automation.environments import sandbox_target
from automation.sandbox import SandboxServer

EMAIL, PASSWORD = "monitor@example.com", "Monitor-Check-5x"  # the sandbox seed's monitoring account


def raw(browser: Browser, portal: str, trace: Path, *, tracing: bool) -> float:
    started = time.perf_counter()
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    if tracing:
        context.tracing.start(screenshots=True, snapshots=True)
    page = context.new_page()
    page.goto(f"{portal}/auth/login")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log In").click()
    expect(page.get_by_role("heading", name="My Account")).to_be_visible()
    if tracing:
        context.tracing.stop(path=trace)
    context.close()
    return time.perf_counter() - started


def engine(browser: Browser, server: SandboxServer, root: Path) -> float:
    started = time.perf_counter()
    result = run(
        "synthetic-login",
        target=sandbox_target(server),
        browser=browser,
        evidence_root=root / "traces",
        data_dir=root / "data",
        reset_sandbox=False,
    )
    assert result.outcome == "signed-in", result.error
    return time.perf_counter() - started


def main(n: int = 5) -> None:
    browser = pool().browser()
    with SandboxServer() as server, tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        portal = server.urls["portal"]
        raw(browser, portal, root / "warm.zip", tracing=True)
        engine(browser, server, root)  # warm-up: imports, first page load
        plain = [raw(browser, portal, root / "p.zip", tracing=False) for _ in range(n)]
        traced = [raw(browser, portal, root / f"t{i}.zip", tracing=True) for i in range(n)]
        ours = [engine(browser, server, root) for _ in range(n)]
    base, with_trace, mine = (statistics.median(x) for x in (plain, traced, ours))
    print(f"runs per variant: {n} (medians)")
    print(f"raw Playwright, no tracing      {base:6.3f} s   1.00x")
    print(f"raw Playwright, tracing         {with_trace:6.3f} s   {with_trace / base:4.2f}x")
    print(
        f"runbook engine (all evidence)   {mine:6.3f} s   {mine / base:4.2f}x  ({mine / with_trace:4.2f}x traced raw)"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
