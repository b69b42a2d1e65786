"""The cost of the evidence on a page the size of a real NetSuite customer form (issue 23): a lab page of
1,500 fields and more than 3 MB of markup, served on loopback and opened in Chromium.

Per round, alternating (run_bench.alternate):
- `raw`: Playwright's own page.screenshot() (the bar: a picture with no reading and no masks);
- `engine`: the engine's picture of a step (shots.take: the page read, the masks worked out for a secret typed
  into one field and painted, the picture, the masks removed and the page's change count read again);
- `read`: the page read alone after a step changed it (lens.read: the text, every field's value, and the look
  that tells an unchanged page);
- `read_unchanged`: the same read of a page that did not change since (its text is not sent again).
Each timed part but `read_unchanged` follows a step: a value typed into a field (untimed), so the page has
something new to lay out and show, as it has after a real step.
Printed, and kept in bench/results.json under "large_page"; nothing asserted.

    .venv/bin/python bench/bench_large_page.py       BENCH_QUICK=1: fewer rounds
"""

from __future__ import annotations

import functools
import http.server
import tempfile
import threading
import time
from pathlib import Path

from playwright.sync_api import sync_playwright
from run_bench import QUICK, alternate, compare, summary, write_results

from automation.chromium import launch_options
from automation.engine.lens import Lens, read_page
from automation.engine.shots import take
from automation.redaction.redactor import Redactor

FIELDS = 1500
SECRET = "Zq7#mVr2pLx-large"
ROUNDS = 5 if QUICK else 15


def lab_page() -> str:
    """A customer form like NetSuite's: many subtabs of labelled fields, long help texts, one password field."""
    help_text = "This field records a detail of the customer's account used by billing and support. " * 24
    rows = []
    for number in range(FIELDS):
        kind = "password" if number == 7 else "text"
        rows.append(
            f'<div class="row"><label for="f{number}">Field {number} of the customer record</label>'
            f'<input id="f{number}" name="f{number}" type="{kind}" value="value {number}">'
            f'<p class="help">{help_text}</p></div>'
        )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Customer</title></head><body>"
        "<main><h1>Customer: Large Example Ltd</h1><form>" + "".join(rows) + "</form></main></body></html>"
    )


def serve(folder: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *args: None  # type: ignore[method-assign]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/customer.html"


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-large-page-") as scratch:
        folder = Path(scratch)
        markup = lab_page()
        (folder / "customer.html").write_text(markup, encoding="utf-8")
        print(f"lab page: {FIELDS} fields, {len(markup.encode()) / 1e6:.1f} MB of markup", flush=True)
        server, url = serve(folder)
        try:
            figures = measure(url, folder)
        finally:
            server.shutdown()
    figures["markup_mb"] = round(len(markup.encode()) / 1e6, 2)
    write_results({"large_page": figures})


def measure(url: str, folder: Path) -> dict[str, object]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(**launch_options())
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(url)
        page.fill("#f7", SECRET)  # a secret typed into a field: the engine's masks must cover it
        lens, redactor = Lens(page), Redactor({SECRET})
        count = iter(range(1_000_000))

        def step() -> None:
            """What a step does to the page before its picture: here a new value typed into a field (untimed)."""
            page.evaluate(
                "n => { const e = document.querySelector('#f12'); e.value = 'typed ' + n;"
                " e.dispatchEvent(new Event('input', {bubbles: true})); }",
                next(count),
            )

        def timed(action, *, after_step: bool = True) -> float:  # type: ignore[no-untyped-def]
            if after_step:
                step()
            started = time.perf_counter()
            action()
            return time.perf_counter() - started

        variants = {
            "raw": lambda: timed(lambda: page.screenshot(path=str(folder / "raw.png"))),
            "engine": lambda: timed(lambda: take(lens, folder / "engine.png", redactor)),
            "read": lambda: timed(lambda: read_page(lens)),
            "read_unchanged": lambda: timed(lambda: read_page(lens), after_step=False),
        }
        times = alternate(variants, ROUNDS, "large page")
        browser.close()
    figures: dict[str, object] = {name: summary(values) for name, values in times.items()}
    figures["engine_vs_raw"] = compare(times["engine"], times["raw"])
    figures["read_vs_raw"] = compare(times["read"], times["raw"])
    for name in variants:
        print(f"  {name:<15} median {summary(times[name])['median'] * 1000:7.1f} ms")
    print(f"  engine / raw: {figures['engine_vs_raw']['ratio']:.2f}x; one page read after a step / raw picture: "
          f"{figures['read_vs_raw']['ratio']:.2f}x")  # fmt: skip
    return figures


if __name__ == "__main__":
    main()
