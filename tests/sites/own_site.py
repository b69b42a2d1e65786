"""A tiny web application nobody here wrote a runbook for: a user lookup, served on a free loopback port.

GET /            a form: "Username" field, "Look up" button
POST /lookup     "Found USER" for ada, "Enter the code we sent" for bob (a second factor), else "No account"
"""

from __future__ import annotations

import html
import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import parse_qs

from sites.servers import PageHandler

FORM = (
    "<!doctype html><title>Lookup</title><h1>User lookup</h1>"
    '<form method="post" action="/lookup"><label for="u">Username</label><input id="u" name="username">'
    "<button>Look up</button></form>"
)


class _Site(PageHandler):
    def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
        self._page(FORM)

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        user = parse_qs(self.rfile.read(length).decode()).get("username", [""])[0]
        if user == "ada":
            self._page(f"<p>Found {html.escape(user)}</p>")
        elif user == "bob":
            self._page('<p>Enter the code we sent</p><label for="c">Code</label><input id="c">')
        else:
            self._page("<p>No account</p>")


@contextmanager
def own_site() -> Iterator[str]:
    """The site's base URL while it runs."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Site)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


LOOKUP = """\
name: site-lookup
title: Look a user up on our own site
app: site
inputs:
  username: {help: The user to look up}
  code: {type: string, required: false, help: The code the site mails (asked only when the site wants one)}
outcomes:
  found: {status: resolved, summary: The user exists.}
  missing: {status: failed, summary: No such user.}
steps:
  - goto: /
  - fill: {label: Username}
    with: "{{ username }}"
  - click: {role: button, name: Look up}
  - branch:
      when:
        - text: Found
          end: found
        - text: Enter the code we sent
          steps:
            - ask: code
              prompt: The code the site mailed
          end: found
        - text: No account
          end: missing
cases:
  - name: ada-is-found
    inputs: {username: ada}
    expect: found
"""
