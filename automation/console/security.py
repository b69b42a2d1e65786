"""What every response and every state-changing request of the console goes through: the security headers and
the CSRF check.

The headers (added by `SecurityHeaders`, the outermost layer, so that even a refused Host gets them): a
Content-Security-Policy that allows no inline script or style and no framing, nosniff, no Referer, and no
caching of anything but the stylesheet. CSRF (`require_csrf`, a dependency of every router): a POST, PUT,
PATCH or DELETE made with the session cookie must carry the session's token, as the form field `csrf_token`
or the `X-CSRF-Token` header, or it is refused with 403. A request made with an API token carries no cookie a
third-party page could ride on, so it needs none. A browser's own `Sec-Fetch-Site: cross-site` is refused
too, token or not (Fetch Metadata, as OWASP suggests beside the token).
"""

from __future__ import annotations

from fastapi import HTTPException, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from automation.console.sessions import COOKIE, CSRF_FIELD, CSRF_HEADER, csrf_matches

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
HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",  # for browsers that predate frame-ancestors
    "cross-origin-opener-policy": "same-origin",
}
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CACHED_PREFIX = "/static/"  # the stylesheet may be cached; pages and API answers name people and runs


class SecurityHeaders:
    """ASGI middleware: the security headers on every HTTP response (those a route set itself are kept)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = dict(HEADERS)
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


async def require_csrf(request: Request) -> None:
    """Refuse (403) a state-changing request made with the cookie but without the session's CSRF token."""
    if request.method in SAFE_METHODS:
        return
    actor = getattr(request.state, "actor", None)
    if actor is not None and actor.via == "token":
        return
    if request.headers.get("sec-fetch-site") == "cross-site":  # Fetch Metadata: a browser says so itself
        raise HTTPException(403, "a form on another site cannot change anything here")
    given = request.headers.get(CSRF_HEADER)
    if given is None and _is_form(request):
        given = (await request.form()).get(CSRF_FIELD)  # cached by Starlette: the route reads it again
    if not csrf_matches(request.cookies.get(COOKIE), given if isinstance(given, str) else None):
        raise HTTPException(
            403,
            "the form's security token is missing or out of date: reload the page and try again",
        )


def _is_form(request: Request) -> bool:
    kind = request.headers.get("content-type", "")
    return kind.startswith(("application/x-www-form-urlencoded", "multipart/form-data"))
