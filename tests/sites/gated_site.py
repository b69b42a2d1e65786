"""The lab's pages, plus two that wait on the test instead of a clock, so a test never sleeps to line up with a run.

GET /hold          answered only when the test calls `release()` (or the site stops). Its arrival sets `held`:
                   the step that opened it is then, for certain, the one in flight.
GET /late.html     shows "ready now" once `ready()` (the test's condition) is true; it asks GET /ready every 50 ms.
anything else      the lab's files (tests/sites/lab).
"""

from __future__ import annotations

import functools
import http.server
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LAB = Path(__file__).with_name("lab")
HOLD_CAP_S = 600  # a hold nobody releases ends with the site; this only bounds a thread left behind
LATE = (
    "<!doctype html><html><head><title>Lab</title></head><body><h1>Lab</h1><p id='late'></p><script>"
    "async function ask() { const r = await fetch('/ready'); if ((await r.json()).ready) {"
    " document.getElementById('late').textContent = 'ready now' } else { setTimeout(ask, 50) } }"
    "ask()</script></body></html>"
)


@dataclass
class GatedSite:
    url: str
    held: threading.Event = field(default_factory=threading.Event)
    ready: Callable[[], bool] = lambda: False
    _released: threading.Event = field(default_factory=threading.Event)

    def release(self) -> None:
        """Answer every held request (and any later one) at once."""
        self._released.set()


class _Server(http.server.ThreadingHTTPServer):
    site: GatedSite


class _Handler(http.server.SimpleHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
        site, path = self.server.site, self.path.split("?")[0]
        if path == "/hold":
            site.held.set()
            site._released.wait(HOLD_CAP_S)
            self._answer("text/html", b"<!doctype html><title>Released</title><p>released</p>")
        elif path == "/ready":
            self._answer("application/json", json.dumps({"ready": bool(site.ready())}).encode())
        elif path == "/late.html":
            self._answer("text/html", LATE.encode())
        else:
            super().do_GET()

    def _answer(self, kind: str, body: bytes) -> None:
        try:
            self.send_response(200)
            self.send_header("Content-Type", f"{kind}; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the browser that asked is gone (killed, or its run stopped): nobody to answer

    def log_message(self, *args: Any) -> None:
        pass


@contextmanager
def gated_site() -> Iterator[GatedSite]:
    """The site while it runs; every held request is released when it stops."""
    server = _Server(("127.0.0.1", 0), functools.partial(_Handler, directory=str(LAB)))
    server.site = site = GatedSite(url=f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        site.release()
        server.shutdown()
        server.server_close()
