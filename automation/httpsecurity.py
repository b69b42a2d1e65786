"""The headers every server we run sends, and the Host names and addresses it answers on: the console, the
checks' status servers and the sandbox all use this module (it imports nothing of the runner, so the sandbox,
which is kept apart from it, may too).

`SecurityHeaders` is ASGI middleware, meant to be the outermost layer so that even a refused Host or a 404 gets
the headers: a Content-Security-Policy that forbids framing (and, by default, inline script and style), nosniff,
no Referer, and no caching of anything but static files. `LOOPBACK_HOSTS` are the Host headers a server bound to
loopback answers (Starlette's TrustedHostMiddleware takes them): a page on another site that rebinds its own name
to 127.0.0.1 (DNS rebinding) sends its own name as Host and gets 400.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
# Pages that imitate third-party sites (the sandbox's portal and NetSuite) carry inline script and style, as
# those sites do: allowed there, framing still not.
INLINE_PAGES_POLICY = CONTENT_SECURITY_POLICY.replace(
    "script-src 'self'", "script-src 'self' 'unsafe-inline'"
).replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
HEADERS: Mapping[str, str] = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",  # for browsers that predate frame-ancestors
    "cross-origin-opener-policy": "same-origin",
}
CACHED_PREFIX = "/static/"  # stylesheets may be cached; pages and JSON name people, runs and checks
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")


def is_loopback(address: str) -> bool:
    """True for an address only this machine can reach: 127.0.0.0/8, ::1 or `localhost`."""
    if address.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(address.strip("[]")).is_loopback
    except ValueError:
        return False


class SecurityHeaders:
    """ASGI middleware: the security headers on every HTTP response (those a route set itself are kept).

    `policy`: the Content-Security-Policy, for an app whose pages carry inline script or style (the sandbox
    imitates third-party sites that do); it should keep `frame-ancestors 'none'`."""

    def __init__(self, app: ASGIApp, policy: str = CONTENT_SECURITY_POLICY) -> None:
        self.app = app
        self.headers = {**HEADERS, "content-security-policy": policy}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = dict(self.headers)
        if not scope["path"].startswith(CACHED_PREFIX):
            extra["cache-control"] = "no-store"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.decode("latin-1").lower() for name, _ in headers}
                headers += [(k.encode(), v.encode()) for k, v in extra.items() if k not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
