"""What every emulated NetSuite screen shares: password rules, sessions, one-time links, banners and rendering.

The screens themselves live in netsuite_auth.py (log in and out, password set-up), netsuite_records.py (the
administrator's customer list and form) and netsuite_center.py (the Customer Center role). netsuite.py holds
the tables and the seed fixture, and joins the three routers.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from dataclasses import asdict, dataclass
from typing import Any, Literal

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse

from automation.sandbox.store import Store
from automation.sandbox.web import path, render, store_of

# The portal runs on another port of the same host and browsers do not isolate cookies by port.
COOKIE = "NS_SESSION"

LOGIN_PATH = "/app/login"
LOGIN_ALIAS = "/pages/customerlogin.jsp"  # the real product's login page
LOGOUT_PATH = "/pages/nllogoutnoback.jsp"
LIST_PATH = "/app/common/entity/custjoblist.nl"
RECORD_PATH = "/app/common/entity/custjob.nl"
CENTER_HOME = "/app/center/card.nl?sc=-29"
CHANGE_EMAIL_PATH = "/app/center/changeemail.nl"
CHANGE_PASSWORD_PATH = "/app/center/changepwd.nl"
VALIDATE_EMAIL_PATH = "/app/center/validateemail.nl"
SET_PASSWORD_PATH = "/app/login/setpassword.nl"

CUSTOMER_CENTER_ROLE = "14"  # the internal id of NetSuite's standard Customer Center role
ROLES = {CUSTOMER_CENTER_ROLE: "Customer Center"}

LINK_TTL = 24 * 3600  # password set-up link (confirmed: 24 h); email validation link (guess: the same)

INVALID_EMAIL = "Please enter a valid email address."
PASSWORD_MISMATCH = (
    "Password and Confirm Password do not match. Please enter the same password in both fields."
)
PASSWORD_WEAK = (
    "The password is too weak. Use at least 10 characters and at least three of: uppercase letters, "
    "lowercase letters, numbers, symbols."
)

_EMAIL = re.compile(r"[^@\s\x00-\x1f\"<>,;]+@[^@\s\x00-\x1f\"<>,;]+\.[^@\s\x00-\x1f\"<>,;]+")


# -- password rules ----------------------------------------------------------------------------------


def _classes(password: str) -> int:
    kinds = (str.isupper, str.islower, str.isdigit, lambda c: not c.isalnum() and not c.isspace())
    return sum(any(kind(c) for c in password) for kind in kinds)


def password_problem(password: str, confirm: str) -> str | None:
    """The message of the alert NetSuite would show for this Password / Confirm Password pair, if any."""
    if password != confirm:
        return PASSWORD_MISMATCH
    if len(password) < 10 or _classes(password) < 3:
        return PASSWORD_WEAK
    return None


def strength(password: str) -> str:
    """What the read-only Password Strength field shows (the same rule runs in the page's script)."""
    if not password:
        return ""
    if len(password) < 10 or _classes(password) < 3:
        return "Weak"
    return "Strong" if len(password) >= 14 and _classes(password) == 4 else "Medium"


def valid_email(email: str) -> bool:
    return len(email) <= 254 and bool(_EMAIL.fullmatch(email))


# -- banners and rendering --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Banner:
    """NetSuite's `#div__alert .uir-alert-box`: a type class, a `.title` and a `.descr`."""

    kind: Literal["confirmation", "information", "warning", "error"]
    title: str
    descr: str

    @classmethod
    def confirmation(cls, descr: str) -> Banner:
        return cls("confirmation", "Confirmation", descr)

    @classmethod
    def error(cls, descr: str) -> Banner:
        return cls("error", "Error", descr)


@dataclass(frozen=True)
class User:
    """Who is signed in: an administrator (employee) or a customer in the Customer Center role."""

    session_id: str
    kind: Literal["admin", "center"]
    user_id: int
    name: str
    email: str

    @property
    def role(self) -> str:
        return "Administrator" if self.kind == "admin" else "Customer Center"


def page(
    request: Request,
    template: str,
    title: str,
    *,
    user: User | None = None,
    banner: Banner | None = None,
    dialog: str | None = None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A NetSuite page. `dialog` becomes a native alert() once the page has loaded, which is how the real
    product's client-side checks look to a user (and to Playwright's `dialog` event)."""
    if banner is None and user is not None:
        banner = pop_flash(store_of(request), user)
    return render(
        request,
        template,
        status_code=status_code,
        title=title,
        user=user,
        banner=banner,
        dialog=dialog,
        company=company(store_of(request)),
        logout_path=LOGOUT_PATH,
        **context,
    )


def message_page(
    request: Request,
    title: str,
    banner: Banner,
    *,
    user: User | None = None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A page that only says something (a refusal, a completed validation)."""
    return page(
        request, "ns_message.html", title, user=user, banner=banner, status_code=status_code, **context
    )


def company(store: Store) -> str:
    row = store.one("SELECT name FROM ns_company LIMIT 1")
    return row["name"] if row else "Sandbox Company"


# -- requests -------------------------------------------------------------------------------------------


def checked(values: dict[str, str], name: str) -> bool:
    """A posted checkbox: browsers send "T" (our value) when ticked and nothing when not."""
    return values.get(name, "").upper() in ("T", "ON", "TRUE", "1")


def safe_target(target: str | None) -> str | None:
    """A local path to return to after logging in; anything else (another host) is ignored."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


# -- sessions ------------------------------------------------------------------------------------------


def start_session(store: Store, kind: str, user_id: int) -> str:
    sid = secrets.token_urlsafe(32)
    store.run(
        "INSERT INTO ns_sessions (id, kind, user_id, created_at) VALUES (?, ?, ?, ?)",
        sid,
        kind,
        user_id,
        time.time(),
    )
    return sid


def signed_in(request: Request) -> User | None:
    """The user of this request's NS_SESSION cookie. A customer whose access was removed is signed out."""
    sid = request.cookies.get(COOKIE)
    if not sid:
        return None
    store = store_of(request)
    row = store.one("SELECT * FROM ns_sessions WHERE id = ?", sid)
    if row is None:
        return None
    if row["kind"] == "admin":
        who = store.one("SELECT name, email FROM ns_employees WHERE id = ?", row["user_id"])
    else:
        who = store.one(
            "SELECT entityid AS name, email FROM ns_customers WHERE id = ? AND giveaccess = 1", row["user_id"]
        )
    if who is None:
        return None
    return User(sid, row["kind"], row["user_id"], who["name"], who["email"])


def require(request: Request, kind: str) -> User | HTMLResponse | RedirectResponse:
    """The signed-in user of this kind; otherwise the login page (not signed in) or a refusal (wrong role)."""
    user = signed_in(request)
    if user is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(path(LOGIN_PATH, redirect=target), status_code=302)
    if user.kind != kind:
        return message_page(
            request,
            "Error",
            Banner.error("You do not have privileges to view this page."),
            user=user,
            status_code=403,
        )
    return user


def flash(store: Store, user: User, banner: Banner) -> None:
    """A banner for the next page this user sees, so that a save can redirect to the clean view URL."""
    store.run("UPDATE ns_sessions SET flash = ? WHERE id = ?", json.dumps(asdict(banner)), user.session_id)


def pop_flash(store: Store, user: User) -> Banner | None:
    row = store.one("SELECT flash FROM ns_sessions WHERE id = ?", user.session_id)
    if row is None or not row["flash"]:
        return None
    store.run("UPDATE ns_sessions SET flash = NULL WHERE id = ?", user.session_id)
    return Banner(**json.loads(row["flash"]))


# -- one-time links (password set-up, email validation) ----------------------------------------------------


def issue_link(store: Store, kind: str, customer_id: int, email: str) -> str:
    """A new link token; it replaces every earlier link of the same kind for this customer."""
    token = secrets.token_urlsafe(24)
    with store.tx() as db:
        db.execute("UPDATE ns_tokens SET used = 1 WHERE kind = ? AND customer_id = ?", (kind, customer_id))
        db.execute(
            "INSERT INTO ns_tokens (token, kind, customer_id, email, issued_at) VALUES (?, ?, ?, ?, ?)",
            (token, kind, customer_id, email, time.time()),
        )
    return token


def live_link(store: Store, kind: str, token: str) -> Any:
    """The token's row while it is unused and younger than 24 hours, else None."""
    if not token:
        return None
    row = store.one("SELECT * FROM ns_tokens WHERE token = ? AND kind = ? AND used = 0", token, kind)
    if row is None or time.time() - row["issued_at"] > LINK_TTL:
        return None
    return row


def pending_email(store: Store, customer_id: int) -> str:
    """The Pending Email Change: the address of the customer's live validation link, if any."""
    row = store.one(
        "SELECT email FROM ns_tokens WHERE kind = 'email' AND customer_id = ? AND used = 0 AND issued_at > ? "
        "ORDER BY issued_at DESC LIMIT 1",
        customer_id,
        time.time() - LINK_TTL,
    )
    return row["email"] if row else ""


def login_taken(store: Store, email: str, customer_id: int | None = None) -> bool:
    """Whether another user already logs in with this address (an employee or another Customer Center user)."""
    email = email.strip().lower()
    if store.one("SELECT 1 FROM ns_employees WHERE email = ?", email):
        return True
    return (
        store.one(
            "SELECT 1 FROM ns_customers WHERE lower(email) = ? AND giveaccess = 1 AND id IS NOT ?",
            email,
            customer_id,
        )
        is not None
    )
