"""A local site that sends a value every way a page can: a form POST, a query string, a JSON fetch, a header, a
cookie, page text (as sent and in upper case), a pre-filled input, the title, the console and an alert.

The value reaches the page from the form field the runbook fills (POST /echo) or from the query string the
runbook opens (GET /query?s=...). Every echo page shows "Echoed" when its script has run, and "Fetched" when the
JSON round trip (body and X-Secret header) came back.
"""

from __future__ import annotations

import html
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

FORM = """<!doctype html><title>Send</title>
<form method="post" action="/echo">
  <label>Secret <input type="password" name="secret"></label>
  <button>Post</button>
</form>"""

# The value is put in the script as JSON with "<" escaped, so no value can end the script element.
ECHO = """<!doctype html><title>{title}</title>
<h1>{heading}</h1>
<p id="said">You sent: {text}</p>
<p id="loud"></p>
<label>Kept <input id="kept" value="{attr}"></label>
<button id="alert" onclick="alert('Secret: ' + S)">Alert</button>
<button id="fetch">Fetch</button>
<p id="answer"></p>
<script>
  const S = {json};
  document.getElementById("loud").textContent = S.toUpperCase();
  console.log("secret is", S);
  document.cookie = "seen=" + encodeURIComponent(S);
  document.getElementById("fetch").onclick = () =>
    fetch("/api", {{method: "POST", headers: {{"Content-Type": "application/json",
                   "X-Secret": encodeURIComponent(S)}}, body: JSON.stringify({{secret: S}})}})
      .then(r => r.json())
      .then(j => {{ document.getElementById("answer").textContent = "Fetched " + j.secret; }});
  document.querySelector("h1").textContent += " Echoed";
</script>"""


def echo_page(value: str, heading: str) -> str:
    return ECHO.format(
        title=html.escape(value),
        heading=heading,
        text=html.escape(value),
        attr=html.escape(value, quote=True),
        json=json.dumps(value).replace("<", "\\u003c"),
    )


class _Site(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # request lines hold the value
        pass

    def _send(self, body: str, content_type: str, cookie: str | None = None) -> None:
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", f"{content_type}; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        if cookie is not None:
            self.send_header("Set-Cookie", f"secret={quote(cookie, safe='')}; Path=/")
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/form":
            self._send(FORM, "text/html")
        elif url.path == "/query":
            value = parse_qs(url.query).get("s", [""])[0]
            self.server.received["query"] = value  # type: ignore[attr-defined]
            self._send(echo_page(value, "Query"), "text/html", cookie=value)
        else:
            self.send_error(404)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        if self.path == "/api":
            answer = {"secret": json.loads(body)["secret"], "header": self.headers.get("X-Secret", "")}
            self._send(json.dumps(answer), "application/json")
        else:
            value = parse_qs(body).get("secret", [""])[0]
            self.server.received["form"] = value  # type: ignore[attr-defined]
            self._send(echo_page(value, "Posted"), "text/html", cookie=value)


class Site:
    """The running site: its URL, and the value each echo page last received ("form", "query")."""

    def __init__(self, url: str, received: dict[str, str]) -> None:
        self.url, self.received = url, received


@contextmanager
def serve() -> Iterator[Site]:
    """The site on a free port of 127.0.0.1, for as long as the block runs."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Site)
    server.received = {}  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Site(f"http://127.0.0.1:{server.server_port}", server.received)  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
