"""Logging in and out of the emulated NetSuite, and the password set-up link of the access e-mail.

Real logins add a two-factor page and a role chooser; the sandbox has neither (docs/sandbox-netsuite.md).
"""

from __future__ import annotations

import time

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from automation.sandbox.netsuite_common import (
    CENTER_HOME,
    COOKIE,
    LIST_PATH,
    LOGIN_ALIAS,
    LOGIN_PATH,
    LOGOUT_PATH,
    SET_PASSWORD_PATH,
    Banner,
    live_link,
    page,
    password_problem,
    safe_target,
    signed_in,
    start_session,
)
from automation.sandbox.passwords import hash_password, password_matches
from automation.sandbox.store import Store
from automation.sandbox.web import form, path, see_other, store_of

router = APIRouter()

INVALID_LOGIN = "You have entered an invalid email address or password. Please try again."
LOCKED = (
    "Your account has been locked because of too many failed login attempts. Please try again in 30 minutes, "
    "or contact your account administrator."
)
MAX_FAILURES = 5
LOCK_SECONDS = 30 * 60
PASSWORD_SET = "Your password has been set. You can now log in."
LINK_INVALID = (
    "This password link is not valid: it has already been used, has expired or was replaced by a newer one."
)


def _home_of(kind: str) -> str:
    return LIST_PATH if kind == "admin" else CENTER_HOME


@router.get("/")
def root(request: Request) -> RedirectResponse:
    user = signed_in(request)
    return RedirectResponse(_home_of(user.kind) if user else LOGIN_PATH, status_code=302)


# -- log in --------------------------------------------------------------------------------------------


def _login_page(
    request: Request, email: str = "", redirect: str = "", banner: Banner | None = None
) -> HTMLResponse:
    if banner is None and request.query_params.get("passwordset") == "T":
        # The flag only chooses a message: forging it reveals nothing.
        banner = Banner.confirmation(PASSWORD_SET)
    return page(
        request, "ns_login.html", "Log In", banner=banner, email=email, redirect=safe_target(redirect) or ""
    )


@router.get(LOGIN_PATH, response_class=HTMLResponse)
@router.get(LOGIN_ALIAS, response_class=HTMLResponse)
def login_form(request: Request, redirect: str = "") -> HTMLResponse:
    return _login_page(request, redirect=redirect)


def _locked(store: Store, email: str) -> bool:
    row = store.one("SELECT locked_until FROM ns_login_failures WHERE email = ?", email)
    return bool(row and row["locked_until"] and row["locked_until"] > time.time())


def _record_failure(store: Store, email: str) -> bool:
    """Count a failed login; True when it is the one that locks the address."""
    with store.tx() as db:
        row = db.execute(
            "SELECT failures, locked_until FROM ns_login_failures WHERE email = ?", (email,)
        ).fetchone()
        # A lock that has run out starts the count again.
        failures = 1 if row is None or row["locked_until"] else row["failures"] + 1
        locked_until = time.time() + LOCK_SECONDS if failures >= MAX_FAILURES else None
        db.execute(
            "INSERT OR REPLACE INTO ns_login_failures (email, failures, locked_until) VALUES (?, ?, ?)",
            (email, failures, locked_until),
        )
    return locked_until is not None


def _authenticate(store: Store, email: str, password: str) -> tuple[str, int] | None:
    """(kind, id) of the user these credentials open: an employee, or a customer with Customer Center access."""
    employee = store.one("SELECT id, password_hash FROM ns_employees WHERE email = ?", email)
    if employee is not None and password_matches(password, employee["password_hash"]):
        return "admin", employee["id"]
    customer = store.one(
        "SELECT id, password_hash FROM ns_customers WHERE lower(email) = ? AND giveaccess = 1", email
    )
    if customer is not None and password_matches(password, customer["password_hash"]):
        return "center", customer["id"]
    return None


@router.post(LOGIN_PATH, response_model=None)
@router.post(LOGIN_ALIAS, response_model=None)
async def login(request: Request) -> Response:
    values = await form(request)
    email, password = values.get("email", "").strip().lower(), values.get("password", "")
    redirect = values.get("redirect", "")
    store = store_of(request)
    if not email or not password:
        return _login_page(request, email, redirect, Banner.error(INVALID_LOGIN))
    if _locked(store, email):
        return _login_page(request, email, redirect, Banner.error(LOCKED))
    who = _authenticate(store, email, password)
    if who is None:
        message = LOCKED if _record_failure(store, email) else INVALID_LOGIN
        return _login_page(request, email, redirect, Banner.error(message))
    store.run("DELETE FROM ns_login_failures WHERE email = ?", email)
    kind, user_id = who
    response = see_other(safe_target(redirect) or _home_of(kind))
    response.set_cookie(COOKIE, start_session(store, kind, user_id), httponly=True, samesite="lax")
    return response


@router.get(LOGOUT_PATH)
def logout(request: Request) -> RedirectResponse:
    sid = request.cookies.get(COOKIE)
    if sid:
        store_of(request).run("DELETE FROM ns_sessions WHERE id = ?", sid)
    response = RedirectResponse(LOGIN_PATH, status_code=302)
    response.delete_cookie(COOKIE)
    return response


# -- the password set-up link of the New Access Notification e-mail ------------------------------------------


def _set_password_page(request: Request, token: str, banner: Banner | None = None) -> HTMLResponse:
    link = live_link(store_of(request), "password", token)
    if link is None:
        return page(
            request, "ns_message.html", "Set Password", banner=Banner.error(LINK_INVALID), status_code=404
        )
    return page(
        request, "ns_setpassword.html", "Set Password", banner=banner, token=token, email=link["email"]
    )


@router.get(SET_PASSWORD_PATH, response_class=HTMLResponse)
def set_password_form(request: Request, token: str = "") -> HTMLResponse:
    return _set_password_page(request, token)


@router.post(SET_PASSWORD_PATH, response_model=None)
async def set_password(request: Request) -> Response:
    values = await form(request)
    token = values.get("token", "")
    store = store_of(request)
    link = live_link(store, "password", token)
    if link is None:
        return _set_password_page(request, token)
    problem = password_problem(values.get("password", ""), values.get("password2", ""))
    if problem:
        return _set_password_page(request, token, Banner.error(problem))
    with store.tx() as db:
        changed = db.execute(
            "UPDATE ns_customers SET password_hash = ? WHERE id = ? AND giveaccess = 1 AND lower(email) = ?",
            (hash_password(values["password"]), link["customer_id"], link["email"]),
        ).rowcount
        db.execute("UPDATE ns_tokens SET used = 1 WHERE token = ?", (token,))
    if not changed:  # the login changed or lost access since the link was sent
        return _set_password_page(request, "")
    store.run("DELETE FROM ns_login_failures WHERE email = ?", link["email"])
    return see_other(path(LOGIN_PATH, passwordset="T"))
