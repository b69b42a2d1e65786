"""A tiny site that mails a sign-in code during the run, as real sites do, served on a free loopback port.

GET  /             a form: "Email" field, "Send me a code" button
POST /send         mails a fresh 6-digit code to that address (through `deliver`), then shows the code form
POST /verify       "Verified" if the code is the one mailed to that address, else "Wrong code"

The mail goes out the way the test chooses: `deliver(to, raw_bytes)` (SMTP with smtplib, IMAP APPEND...).
"""

from __future__ import annotations

import html
import http.server
import secrets
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from urllib.parse import parse_qs

from sites.servers import PageHandler

FORM = (
    "<!doctype html><title>Sign in</title><h1>Sign in by code</h1>"
    '<form method="post" action="/send"><label for="e">Email</label><input id="e" name="email">'
    "<button>Send me a code</button></form>"
)
CODE_FORM = (
    "<!doctype html><title>Enter the code</title><p>We sent a code to {email}.</p>"
    '<form method="post" action="/verify"><input type="hidden" name="email" value="{email}">'
    '<label for="c">Code</label><input id="c" name="code"><button>Verify</button></form>'
)

Deliver = Callable[[str, bytes], None]


@dataclass
class CodeSite:
    url: str
    sent: dict[str, str] = field(default_factory=dict)  # address -> the last code mailed to it


def code_mail(to: str, code: str) -> bytes:
    """The mail a real site sends: a text part and an HTML part, both quoted-printable."""
    mail = EmailMessage()
    mail["From"] = "Example Shop <no-reply@shop.example.test>"
    mail["To"] = to
    mail["Subject"] = "Your sign-in code"
    mail.set_content(
        f"Hello,\n\nYour sign-in code is {code}.\nIt expires in 10 minutes.\n", cte="quoted-printable"
    )
    mail.add_alternative(
        f"<html><body><p>Hello,</p><p>Your sign-in code is <b>{code}</b>.</p></body></html>",
        subtype="html",
        cte="quoted-printable",
    )
    return mail.as_bytes()


def _handler(site: CodeSite, deliver: Deliver) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(PageHandler):
        def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
            self._page(FORM)

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            email = form.get("email", "").strip().lower()
            if self.path == "/send":
                code = f"{secrets.randbelow(900000) + 100000}"
                site.sent[email] = code
                deliver(email, code_mail(email, code))
                self._page(CODE_FORM.format(email=html.escape(email)))
            elif form.get("code", "").strip() == site.sent.get(email):
                self._page("<p>Verified</p>")
            else:
                self._page("<p>Wrong code</p>")

    return Handler


@contextmanager
def code_site(deliver: Deliver) -> Iterator[CodeSite]:
    """The site while it runs; it mails its codes through `deliver`."""
    site = CodeSite(url="")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(site, deliver))
    site.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()
