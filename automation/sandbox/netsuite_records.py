"""The administrator's side: the customer list and the customer record (view, edit, save).

Save follows the KB article. Giving access, or changing the email of a customer who has access, creates a new
Customer Center login; NetSuite will not save it unless Send New Access Notification Email or Manually Assign
or Change Password is set, and says "EMAIL login has no password. ..." (an alert, or with the setting
netsuite_refusal=banner an error banner). The other refusals are native alerts, as in NetSuite. In the sandbox
every check runs on the server: the form comes back with the user's edits and the alert fires once it loads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from automation.sandbox.netsuite_common import (
    LIST_PATH,
    LOGIN_PATH,
    RECORD_PATH,
    ROLES,
    SET_PASSWORD_PATH,
    Banner,
    User,
    checked,
    company,
    flash,
    issue_link,
    login_taken,
    message_page,
    page,
    password_problem,
    require,
    strength,
    valid_email,
)
from automation.sandbox.passwords import hash_password
from automation.sandbox.store import Store
from automation.sandbox.web import absolute, form, path, see_other, store_of

router = APIRouter()

NO_PASSWORD = (
    "{email} login has no password. A notification email with a password URL must be sent or a new password "
    "must be entered manually."
)
REQUIRED = "Please enter value(s) for: {fields}"
LOGIN_IN_USE = (
    "The email address {email} is already used to log in by another user. Enter a different email address."
)
SAVED = "Record has been saved."
NOT_FOUND = "That record does not exist."
TABS = ("relationships", "address", "access")


@dataclass(frozen=True)
class CustomerForm:
    """The customer form's values, as stored or as the user entered them."""

    entityid: str = ""
    isperson: bool = True
    companyname: str = ""
    firstname: str = ""
    lastname: str = ""
    email: str = ""
    phone: str = ""
    altemail: str = ""
    giveaccess: bool = False
    accessrole: str = ""
    sendemail: bool = False
    fillpassword: bool = False
    password: str = ""
    password2: str = ""

    @classmethod
    def from_row(cls, row: Any) -> CustomerForm:
        texts = (
            "entityid",
            "companyname",
            "firstname",
            "lastname",
            "email",
            "phone",
            "altemail",
            "accessrole",
        )
        return cls(
            **{k: row[k] for k in texts}, isperson=bool(row["isperson"]), giveaccess=bool(row["giveaccess"])
        )

    @classmethod
    def from_post(cls, values: dict[str, str]) -> CustomerForm:
        texts = ("entityid", "companyname", "firstname", "lastname", "email", "phone", "altemail")
        return cls(
            **{k: values.get(k, "").strip() for k in texts},
            isperson=values.get("isperson", "T") != "F",
            giveaccess=checked(values, "giveaccess"),
            accessrole=values.get("accessrole", "").strip(),
            sendemail=checked(values, "sendemail"),
            fillpassword=checked(values, "fillpassword"),
            password=values.get("password", ""),
            password2=values.get("password2", ""),
        )

    @property
    def manual_password(self) -> bool:
        # The article's option 1 fills Password and Confirm Password without mentioning the checkbox, so typing
        # a password counts as manually assigning one (the page's script also ticks the box).
        return self.fillpassword or bool(self.password or self.password2)


@dataclass(frozen=True)
class Refusal:
    message: str
    as_banner: bool = False


# -- reading -------------------------------------------------------------------------------------------


def _customer(store: Store, raw_id: str | None) -> Any:
    if not raw_id or not raw_id.strip().isdigit() or len(raw_id.strip()) > 12:
        return None
    return store.one("SELECT * FROM ns_customers WHERE id = ?", int(raw_id))


def _record_url(customer_id: int, edit: bool = False) -> str:
    return path(RECORD_PATH, id=str(customer_id), **({"e": "T"} if edit else {}))


def _record_page(
    request: Request,
    user: User,
    row: Any,
    values: CustomerForm,
    *,
    edit: bool,
    tab: str = "relationships",
    **extra: Any,
) -> HTMLResponse:
    return page(
        request,
        "ns_custjob.html",
        f"Customer {row['entityid']}",
        user=user,
        customer_id=row["id"],
        f=values,
        edit=edit,
        tab=tab if tab in TABS else "relationships",
        roles=ROLES,
        role_name=ROLES.get(values.accessrole, values.accessrole),
        strength=strength(values.password),
        view_url=_record_url(row["id"]),
        action=_record_url(row["id"], edit=True),
        **extra,
    )


@router.get(LIST_PATH, response_model=None)
def customer_list(request: Request) -> Response:
    user = require(request, "admin")
    if not isinstance(user, User):
        return user
    rows = store_of(request).all("SELECT * FROM ns_customers ORDER BY entityid")
    customers = [
        {"row": r, "view": _record_url(r["id"]), "edit": _record_url(r["id"], edit=True)} for r in rows
    ]
    return page(request, "ns_custjoblist.html", "Customers", user=user, customers=customers)


@router.get(RECORD_PATH, response_model=None)
def record(request: Request, id: str = "", e: str = "") -> Response:
    user = require(request, "admin")
    if not isinstance(user, User):
        return user
    row = _customer(store_of(request), id)
    if row is None:
        return message_page(request, "Error", Banner.error(NOT_FOUND), user=user, status_code=404)
    return _record_page(request, user, row, CustomerForm.from_row(row), edit=e.upper() == "T")


# -- checking a save ---------------------------------------------------------------------------------------


def _missing(values: CustomerForm) -> list[str]:
    """Labels of empty required fields, in the order of the form."""
    names = [("Customer ID", values.entityid)]
    if values.isperson:
        names += [("First Name", values.firstname), ("Last Name", values.lastname)]
    else:
        names += [("Company Name", values.companyname)]
    if values.giveaccess:
        names += [("Email", values.email), ("Role", values.accessrole)]
        if values.fillpassword:
            names += [("Password", values.password), ("Confirm Password", values.password2)]
    return [label for label, value in names if not value]


def _is_new_login(row: Any, values: CustomerForm) -> bool:
    """Giving access, or changing the email while access is on: NetSuite treats both as new access."""
    email_changed = values.email.lower() != row["email"].lower()
    return values.giveaccess and (not row["giveaccess"] or email_changed)


def _refusal(store: Store, row: Any, values: CustomerForm) -> Refusal | None:
    missing = _missing(values)
    if missing:
        return Refusal(REQUIRED.format(fields=", ".join(missing)))
    if values.email and not valid_email(values.email):
        return Refusal(f"Invalid email address: {values.email}. Please enter a valid email address.")
    if values.giveaccess and values.accessrole not in ROLES:
        return Refusal(REQUIRED.format(fields="Role"))
    if values.giveaccess and values.manual_password:
        problem = password_problem(values.password, values.password2)
        if problem:
            return Refusal(problem)
    if _is_new_login(row, values) and not values.sendemail and not values.manual_password:
        return Refusal(
            NO_PASSWORD.format(email=values.email), as_banner=store.setting("netsuite_refusal") == "banner"
        )
    if values.giveaccess and login_taken(store, values.email, row["id"]):
        return Refusal(LOGIN_IN_USE.format(email=values.email))
    return None


# -- saving --------------------------------------------------------------------------------------------


def _write(store: Store, row: Any, values: CustomerForm) -> None:
    """Store the record; the Customer Center login follows Give Access, the email and the password fields."""
    new_login = _is_new_login(row, values)
    password_hash = row["password_hash"]
    if not values.giveaccess:
        password_hash = None  # access removed: the old login stops working
    elif values.manual_password:
        password_hash = hash_password(values.password)
    elif new_login:
        password_hash = None  # a new login has no password until the set-up link is used
    login_changed = password_hash != row["password_hash"] or new_login
    with store.tx() as db:
        db.execute(
            "UPDATE ns_customers SET entityid = ?, isperson = ?, companyname = ?, firstname = ?, lastname = ?, "
            "email = ?, phone = ?, altemail = ?, giveaccess = ?, accessrole = ?, password_hash = ? WHERE id = ?",
            (
                values.entityid, int(values.isperson), values.companyname, values.firstname, values.lastname,
                values.email.lower(), values.phone, values.altemail, int(values.giveaccess),
                values.accessrole if values.giveaccess else "", password_hash, row["id"],
            ),
        )  # fmt: skip
        if login_changed:
            # Sessions and outstanding links belonged to the old login.
            db.execute("DELETE FROM ns_sessions WHERE kind = 'center' AND user_id = ?", (row["id"],))
            db.execute("UPDATE ns_tokens SET used = 1 WHERE customer_id = ?", (row["id"],))


def _send_access_notification(request: Request, customer_id: int, values: CustomerForm) -> None:
    """The New Access Notification: never the password; a set-up link (24 h) unless one was assigned."""
    store = store_of(request)
    name = values.companyname if not values.isperson else f"{values.firstname} {values.lastname}".strip()
    email = values.email.lower()
    login_url = absolute(request, LOGIN_PATH)
    lines = [
        f"Hello {name or values.entityid},",
        "",
        f"You have been given access to the {company(store)} Customer Center.",
        f"Your login email address: {email}",
        f"Role: {ROLES.get(values.accessrole, 'Customer Center')}",
        "",
    ]
    links = []
    if values.manual_password:
        lines += [
            f"A password has been assigned to you. For your security it is not included in this email: please get "
            f"it from your contact at {company(store)}, and change it after you log in (Settings > Change Password).",
        ]
    else:
        token = issue_link(store, "password", customer_id, email)
        setup = absolute(request, SET_PASSWORD_PATH, token=token)
        lines += ["To create your password, open this link. It expires in 24 hours:", setup]
        links.append(setup)
    lines += ["", f"Then log in at {login_url}"]
    links.append(login_url)
    store.send_mail(
        app="netsuite",
        to=email,
        subject=f"New access to the {company(store)} Customer Center",
        text="\n".join(lines),
        links=links,
    )


@router.post(RECORD_PATH, response_model=None)
async def save(request: Request) -> Response:
    user = require(request, "admin")
    if not isinstance(user, User):
        return user
    posted = await form(request)
    store = store_of(request)
    row = _customer(store, posted.get("id") or request.query_params.get("id"))
    if row is None:
        return message_page(request, "Error", Banner.error(NOT_FOUND), user=user, status_code=404)
    values = CustomerForm.from_post(posted)
    tab = posted.get("selectedtab", "")
    refusal = _refusal(store, row, values)
    if refusal is not None:
        banner = Banner.error(refusal.message) if refusal.as_banner else None
        dialog = None if refusal.as_banner else refusal.message
        return _record_page(request, user, row, values, edit=True, tab=tab, banner=banner, dialog=dialog)
    _write(store, row, values)
    if values.giveaccess and values.sendemail:
        _send_access_notification(request, row["id"], values)
    flash(store, user, Banner.confirmation(SAVED))
    return see_other(_record_url(row["id"]))
