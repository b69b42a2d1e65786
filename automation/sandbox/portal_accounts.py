"""The Customer Portal's accounts: its tables and seed fixture, the messages it shows, the rules it applies to
an address and a password (the login bug among them), and the codes, reset links and sessions it issues.

The screens that use them are in portal.py.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request

from automation.sandbox.passwords import password_matches, seed_hash
from automation.sandbox.store import Section, Store, register
from automation.sandbox.web import absolute, store_of

# NetSuite's sandbox runs on another port of the same host and browsers do not isolate cookies by port.
COOKIE = "portal_session"
CODE_TTL = 15 * 60
RESET_TTL = 24 * 3600

UNKNOWN_ERROR = "An unknown error has occurred. Please try again later."
INCORRECT = "Incorrect email or password."
NOT_FOUND = "We could not find an account for {email}."
SEARCH_FAILED = "Something went wrong searching for customer {email}"
ENTER_EMAIL = "Please enter your email address."
BAD_EMAIL = "Please enter a valid email address."
ENTER_PASSWORD = "Please enter your password."
MISMATCH = "Passwords do not match."
WEAK = "Password does not meet the requirements: {missing}"
EXISTS = "An account with this email already exists."
ALREADY_VERIFIED = "This email address has already been verified."
CODE_FORMAT = "Enter the 6-digit code from the email."
CODE_WRONG = "The verification code is incorrect."
RESET_INVALID = "This reset link is invalid or has expired."
RESET_SENT = "If an account exists for {email}, we sent a password reset link."
VERIFIED_NOTICE = "Your email has been verified. Please log in again."
RESET_NOTICE = "Your password has been reset. Please log in."

# The sandbox's rendering of "Customer Portal Password Requirements". Note what is *not* here: the portal never
# refuses a password for its last character; that is the login bug.
REQUIREMENTS: tuple[tuple[str, Callable[[str], bool]], ...] = (
    ("at least 8 characters", lambda p: len(p) >= 8),
    ("an uppercase letter", lambda p: any(c.isupper() for c in p)),
    ("a lowercase letter", lambda p: any(c.islower() for c in p)),
    ("a number", lambda p: any(c.isdigit() for c in p)),
    ("a symbol", lambda p: any(not c.isalnum() and not c.isspace() for c in p)),
)

_EMAIL = re.compile(r"[^@\s\x00-\x1f]+@[^@\s\x00-\x1f]+\.[^@\s\x00-\x1f]+")

_DDL = """
CREATE TABLE IF NOT EXISTS portal_accounts (
    email TEXT PRIMARY KEY,
    password_hash TEXT,                                -- NULL: in the customer system, never properly registered
    verified INTEGER NOT NULL DEFAULT 0,
    in_customer_system INTEGER NOT NULL DEFAULT 1      -- 0: the Salesforce/NetSuite search cannot find it
);
-- One live code per address: issuing a new one replaces (and so invalidates) the earlier one.
CREATE TABLE IF NOT EXISTS portal_codes (email TEXT PRIMARY KEY, code TEXT NOT NULL, issued_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS portal_reset_tokens (
    token TEXT PRIMARY KEY, email TEXT NOT NULL, issued_at REAL NOT NULL, used INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS portal_sessions (id TEXT PRIMARY KEY, email TEXT NOT NULL, created_at REAL NOT NULL);
"""


@dataclass(frozen=True)
class Account:
    email: str
    password_hash: str | None
    verified: bool
    in_customer_system: bool

    @property
    def registered(self) -> bool:
        """Half-registered addresses exist in the customer system but never got a password."""
        return self.password_hash is not None


# -- what the forms check ------------------------------------------------------------------------------


def missing_requirements(password: str) -> list[str]:
    return [text for text, met in REQUIREMENTS if not met(password)]


def password_error(password: str, confirm: str) -> str | None:
    """At most one message per password field, the first thing the user has to fix."""
    if not password:
        return ENTER_PASSWORD
    missing = missing_requirements(password)
    if missing:
        return WEAK.format(missing=", ".join(missing))
    return MISMATCH if password != confirm else None


def email_of(values: dict[str, str]) -> str:
    return values.get("email", "").strip().lower()


def email_error(email: str) -> str | None:
    if not email:
        return ENTER_EMAIL
    if len(email) > 254 or not _EMAIL.fullmatch(email):
        return BAD_EMAIL
    return None


# -- the seed fixture ----------------------------------------------------------------------------------

_SEED_KEYS = {"email", "password", "verified", "in_customer_system"}


def _seed(store: Store, data: dict[str, Any]) -> None:
    for entry in data.get("accounts") or []:
        if not isinstance(entry, dict) or "email" not in entry or set(entry) - _SEED_KEYS:
            raise ValueError(
                f"seed.yaml, portal.accounts: {entry!r} is not an account; each needs 'email' and may have "
                f"{sorted(_SEED_KEYS - {'email'})}. Fix the entry."
            )
        password = entry.get("password")
        store.run(
            "INSERT INTO portal_accounts (email, password_hash, verified, in_customer_system) VALUES (?, ?, ?, ?)",
            str(entry["email"]).strip().lower(),
            seed_hash(str(password)) if password is not None else None,
            int(bool(entry.get("verified", False))),
            int(bool(entry.get("in_customer_system", True))),
        )


SECTION = register(
    Section(
        name="portal",
        ddl=_DDL,
        tables=("portal_accounts", "portal_codes", "portal_reset_tokens", "portal_sessions"),
        seed=_seed,
    )
)


# -- state ---------------------------------------------------------------------------------------------


def find_account(store: Store, email: str) -> Account | None:
    row = store.one("SELECT * FROM portal_accounts WHERE email = ?", email)
    if row is None:
        return None
    return Account(row["email"], row["password_hash"], bool(row["verified"]), bool(row["in_customer_system"]))


def search(store: Store, email: str) -> Account | str:
    """The account, or the message the portal shows when it or the customer system does not know the address."""
    account = find_account(store, email)
    if account is None:
        return NOT_FOUND.format(email=email)
    if not account.in_customer_system:
        return SEARCH_FAILED.format(email=email)
    return account


def authenticate(store: Store, email: str, password: str) -> Account | str:
    """The account these credentials open, or the message the portal shows (the order is our guess)."""
    account = find_account(store, email)
    if account is None:
        return NOT_FOUND.format(email=email)
    if not account.registered:
        return UNKNOWN_ERROR  # half-registered: there is no password to check against
    if not password_matches(password, account.password_hash):
        return INCORRECT
    if not account.in_customer_system:
        return SEARCH_FAILED.format(email=email)
    if not account.verified:
        return UNKNOWN_ERROR
    if not password[-1].isalpha():
        return UNKNOWN_ERROR  # the bug the article works around: a trailing symbol or number breaks login
    return account


def issue_code(request: Request, email: str) -> None:
    """Replace the address's verification code with a new one and e-mail it."""
    code = f"{secrets.randbelow(10**6):06d}"
    store_of(request).run(
        "INSERT OR REPLACE INTO portal_codes (email, code, issued_at) VALUES (?, ?, ?)",
        email,
        code,
        time.time(),
    )
    link = absolute(request, "/auth/verifyCode", email=email)
    store_of(request).send_mail(
        app="portal",
        to=email,
        subject="Your verification code",
        text=f"Your verification code is {code}. It expires in 15 minutes.\n\nEnter it at {link}",
        links=[link],
    )


def issue_reset(request: Request, email: str) -> None:
    """E-mail a new password reset link to the address."""
    token = secrets.token_urlsafe(24)
    store_of(request).run(
        "INSERT INTO portal_reset_tokens (token, email, issued_at) VALUES (?, ?, ?)",
        token,
        email,
        time.time(),
    )
    link = absolute(request, "/auth/resetPassword", token=token)
    store_of(request).send_mail(
        app="portal",
        to=email,
        subject="Reset your password",
        text=f"Use this link to reset your password: {link}\n\nThe link expires in 24 hours.",
        links=[link],
    )


def reset_email(store: Store, token: str) -> str | None:
    """The address a reset token belongs to, while it is unused and not expired."""
    row = store.one("SELECT * FROM portal_reset_tokens WHERE token = ? AND used = 0", token)
    if row is None or time.time() - row["issued_at"] > RESET_TTL:
        return None
    return row["email"]


def signed_in(request: Request) -> str | None:
    """The address of this request's portal session, if it has one."""
    sid = request.cookies.get(COOKIE)
    row = store_of(request).one("SELECT email FROM portal_sessions WHERE id = ?", sid) if sid else None
    return row["email"] if row else None
