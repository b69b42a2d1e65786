"""The emulated NetSuite: the customer form of the KB article "login has no password ... must be entered
manually" and the Customer Center's Change Email, as plain server-rendered forms with NetSuite's field ids.

    GET  /                                     -> the login page, or the signed-in user's home
    /app/login (also /pages/customerlogin.jsp) Email address, Password, Log In; five failures lock 30 minutes
    GET  /pages/nllogoutnoback.jsp             log out
    GET  /app/common/entity/custjoblist.nl     Customers (administrator's landing page)
    GET  /app/common/entity/custjob.nl?id=N    customer record; &e=T edits; POST saves (-> view URL)
    /app/login/setpassword.nl?token=T          password set-up link of the New Access Notification e-mail
    GET  /app/center/card.nl?sc=-29            Customer Center home with the Settings portlet
    /app/center/changeemail.nl                 Change Email (validation link -> /app/center/validateemail.nl)
    /app/center/changepwd.nl                   Change Password

Which details come from Oracle's documentation or the article and which are our guesses is written down in
docs/sandbox-netsuite.md; the screens are built from shared/reference/netsuite-ui.md.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from automation.sandbox import netsuite_auth, netsuite_center, netsuite_records
from automation.sandbox.netsuite_common import CUSTOMER_CENTER_ROLE, ROLES
from automation.sandbox.passwords import seed_hash
from automation.sandbox.store import Section, Store, register

router = APIRouter()
router.include_router(netsuite_auth.router)
router.include_router(netsuite_records.router)
router.include_router(netsuite_center.router)

_DDL = """
CREATE TABLE IF NOT EXISTS ns_company (name TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS ns_employees (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    password_hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS ns_customers (
    id INTEGER PRIMARY KEY,                    -- the internal id of the record URL (?id=N)
    entityid TEXT NOT NULL,                    -- Customer ID
    isperson INTEGER NOT NULL DEFAULT 1,
    companyname TEXT NOT NULL DEFAULT '',
    firstname TEXT NOT NULL DEFAULT '',
    lastname TEXT NOT NULL DEFAULT '',
    email TEXT NOT NULL DEFAULT '',            -- also the Customer Center login
    phone TEXT NOT NULL DEFAULT '',
    altemail TEXT NOT NULL DEFAULT '',
    giveaccess INTEGER NOT NULL DEFAULT 0,
    accessrole TEXT NOT NULL DEFAULT '',
    password_hash TEXT                         -- NULL: no Customer Center password (yet)
);
CREATE TABLE IF NOT EXISTS ns_sessions (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, user_id INTEGER NOT NULL, created_at REAL NOT NULL, flash TEXT
);
-- Failed logins per address typed, known or not, so that the answer does not reveal which addresses exist.
CREATE TABLE IF NOT EXISTS ns_login_failures (email TEXT PRIMARY KEY, failures INTEGER NOT NULL, locked_until REAL);
-- One-time links: kind 'password' (set-up link of the access e-mail) or 'email' (Change Email validation).
CREATE TABLE IF NOT EXISTS ns_tokens (
    token TEXT PRIMARY KEY, kind TEXT NOT NULL, customer_id INTEGER NOT NULL, email TEXT NOT NULL,
    issued_at REAL NOT NULL, used INTEGER NOT NULL DEFAULT 0
);
"""

_EMPLOYEE_KEYS = {"email", "password", "name"}
_CUSTOMER_KEYS = {
    "id", "entityid", "isperson", "companyname", "firstname", "lastname", "email", "phone", "altemail",
    "giveaccess", "accessrole", "password",
}  # fmt: skip


def _checked_entries(
    data: dict[str, Any], key: str, allowed: set[str], needed: set[str]
) -> list[dict[str, Any]]:
    entries = data.get(key) or []
    for entry in entries:
        if not isinstance(entry, dict) or needed - set(entry) or set(entry) - allowed:
            raise ValueError(
                f"seed.yaml, netsuite.{key}: {entry!r} is not valid; each entry needs {sorted(needed)} and may "
                f"have {sorted(allowed - needed)}. Fix the entry."
            )
    return entries


def _role_value(label: Any) -> str:
    """Seed files name the role ("Customer Center"); the form posts its internal id."""
    if not label:
        return ""
    by_label = {name.lower(): value for value, name in ROLES.items()}
    return by_label.get(str(label).strip().lower(), str(label))


def _seed(store: Store, data: dict[str, Any]) -> None:
    store.run("INSERT INTO ns_company (name) VALUES (?)", str(data.get("company") or "Sandbox Company"))
    for entry in _checked_entries(data, "employees", _EMPLOYEE_KEYS, {"email", "password"}):
        store.run(
            "INSERT INTO ns_employees (email, name, password_hash) VALUES (?, ?, ?)",
            str(entry["email"]).strip().lower(),
            str(entry.get("name") or "Administrator"),
            seed_hash(str(entry["password"])),
        )
    for entry in _checked_entries(data, "customers", _CUSTOMER_KEYS, {"id", "entityid"}):
        access = bool(entry.get("giveaccess", False))
        password = entry.get("password")
        store.run(
            "INSERT INTO ns_customers (id, entityid, isperson, companyname, firstname, lastname, email, phone, "
            "altemail, giveaccess, accessrole, password_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            int(entry["id"]),
            str(entry["entityid"]),
            int(bool(entry.get("isperson", True))),
            *(str(entry.get(k) or "") for k in ("companyname", "firstname", "lastname")),
            str(entry.get("email") or "").strip().lower(),
            *(str(entry.get(k) or "") for k in ("phone", "altemail")),
            int(access),
            _role_value(entry.get("accessrole") or (CUSTOMER_CENTER_ROLE if access else "")),
            seed_hash(str(password)) if access and password is not None else None,
        )


SECTION = register(
    Section(
        name="netsuite",
        ddl=_DDL,
        tables=(
            "ns_company",
            "ns_employees",
            "ns_customers",
            "ns_sessions",
            "ns_login_failures",
            "ns_tokens",
        ),
        seed=_seed,
    )
)
