"""Signing in to a console (or `checks web`) as its sign-in page does: the form's CSRF token, then the post.

Works with FastAPI's TestClient and with an httpx.Client on a real server alike."""

from __future__ import annotations

import re
from typing import Any

# The sign-in form carries the token in a hidden input; every signed-in page in a <meta> for its scripts.
_CSRF = re.compile(r'name="csrf[-_]token" (?:value|content)="([0-9a-f]+)"')


def csrf_of(html: str) -> str:
    """The CSRF token a page carries (its form's hidden input, or its <meta name="csrf-token">)."""
    found = _CSRF.search(html)
    assert found is not None, f"the page carries no CSRF token: {html[:300]}"
    return found.group(1)


def post_sign_in(client: Any, name: str, password: str, next_path: str = "/") -> Any:
    """Post the sign-in form as `name`; the server's answer (303 to `next_path` when it took it)."""
    token = csrf_of(client.get("/login").text)
    return client.post(
        "/login",
        data={"name": name, "password": password, "csrf_token": token, "next": next_path},
        follow_redirects=False,
    )


def sign_in(client: Any, name: str, password: str) -> None:
    """Sign `client` in as `name`; fails the test if the server refused."""
    answer = post_sign_in(client, name, password)
    assert answer.status_code == 303, f"{name} could not sign in: {answer.status_code} {answer.text[:300]}"
