"""How much scrubbing a trace costs next to the run that recorded it (the budget is under 10% of a run).

Runs a short real flow N times against the embedded sandbox (log in to the portal, see the account page)
with raw Playwright tracing (screenshots, snapshots, sources), then scrubs each trace.zip. Prints ratios;
asserts nothing.

    .venv/bin/python bench/bench_redaction.py [N]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import Browser, expect, sync_playwright

from automation.chromium import launch_options
from automation.redaction.redactor import Redactor, scrub_trace
from automation.redaction.scan import find_secrets
from automation.sandbox import SandboxServer

EMAIL = "verified@example.com"
PASSWORD = "Sunshine-Portal-7q"  # the sandbox seed's password (seed.yaml), never a real one


def run_once(browser: Browser, portal: str, trace: Path) -> float:
    """One traced login; returns its wall time in seconds, tracing.stop() included."""
    started = time.perf_counter()
    context = browser.new_context()
    context.tracing.start(screenshots=True, snapshots=True, sources=True)
    page = context.new_page()
    page.goto(f"{portal}/auth/login")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log In").click()
    expect(page.get_by_text(f"Signed in as {EMAIL}")).to_be_visible()
    context.tracing.stop(path=trace)
    context.close()
    return time.perf_counter() - started


def main(runs: int = 5) -> None:
    redactor = Redactor([PASSWORD])
    rows: list[tuple[float, float]] = []
    with SandboxServer() as sandbox, sync_playwright() as playwright, tempfile.TemporaryDirectory() as tmp:
        browser = playwright.chromium.launch(**launch_options())
        run_once(browser, sandbox.urls["portal"], Path(tmp, "warm-up.zip"))  # first-page costs are not ours
        print(f"{'run':>4} {'run s':>8} {'scrub s':>8} {'ratio':>7} {'KiB before':>11} {'KiB after':>10}")
        for index in range(1, runs + 1):
            trace = Path(tmp, f"trace-{index}.zip")
            run_s = run_once(browser, sandbox.urls["portal"], trace)
            before = trace.stat().st_size
            report = scrub_trace(trace, redactor)
            assert not find_secrets(trace, redactor.secrets), "a scrubbed trace still holds the password"
            rows.append((run_s, report.seconds))
            ratio = report.seconds / run_s
            print(
                f"{index:>4} {run_s:>8.3f} {report.seconds:>8.3f} {ratio:>7.1%} "
                f"{before / 1024:>11.1f} {trace.stat().st_size / 1024:>10.1f}"
            )
        browser.close()
    runs_s, scrubs_s = zip(*rows, strict=True)
    print(
        f"redaction / run: median {statistics.median(s / r for r, s in rows):.1%}, "
        f"total {sum(scrubs_s) / sum(runs_s):.1%} (budget: under 10%)"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
