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

from automation.console.sessions import COOKIE, CSRF_FIELD, CSRF_HEADER, csrf_matches
from automation.httpsecurity import CACHED_PREFIX, CONTENT_SECURITY_POLICY, HEADERS, SecurityHeaders

# The headers are every server's (automation.httpsecurity): named here too for the console's own imports.
__all__ = ["CACHED_PREFIX", "CONTENT_SECURITY_POLICY", "HEADERS", "SecurityHeaders", "require_csrf"]
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


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
