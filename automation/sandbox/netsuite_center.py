"""The Customer Center role: its home page with the Settings portlet, Change Email and Change Password.

Change Email follows Oracle's help: the current password is required; a notice goes to the current address and a
validation link to the new one; the current address keeps working, and the Change Email page lists the new one
as the Pending Email Change, until the link is used. The green banner's wording comes from the KB article.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from automation.sandbox.netsuite_common import (
    CENTER_HOME,
    CHANGE_EMAIL_PATH,
    CHANGE_PASSWORD_PATH,
    LINK_TTL,
    LOGIN_PATH,
    VALIDATE_EMAIL_PATH,
    Banner,
    User,
    checked,
    company,
    flash,
    issue_link,
    live_link,
    login_taken,
    message_page,
    page,
    password_problem,
    pending_email,
    require,
    valid_email,
)
from automation.sandbox.passwords import hash_password, password_matches
from automation.sandbox.store import Store
from automation.sandbox.web import absolute, form, see_other, store_of

router = APIRouter()

REQUIRED = "Please enter value(s) for: {fields}"
VALIDATION_SENT = (
    "Validation email sent successfully. To complete the pending email change, you must click the link provided "
    "in the validation email sent to {email}"
)
WRONG_PASSWORD = "The current password you entered is incorrect. Please try again."
EMAILS_DIFFER = (
    "New Email Address and Confirm New Email do not match. Please enter the same address in both fields."
)
SAME_EMAIL = "The new email address is the same as your current email address."
EMAIL_IN_USE = "The email address {email} is already in use. Please choose a different email address."
BAD_EMAIL = "Invalid email address: {email}. Please enter a valid email address."
VALIDATED = "Your email address has been successfully validated. From now on, log in with {email}."
VALIDATION_INVALID = "This validation link is not valid: it has already been used, has expired or was replaced by a newer request."
PASSWORD_CHANGED = "Your password has been changed."


def _center_user(request: Request) -> User | Response:
    return require(request, "center")


def _customer(store: Store, user: User) -> Any:
    return store.one("SELECT * FROM ns_customers WHERE id = ?", user.user_id)


@router.get("/app/center/card.nl", response_model=None)
def home(request: Request) -> Response:
    user = _center_user(request)
    if not isinstance(user, User):
        return user
    return page(
        request,
        "ns_center_home.html",
        "Home",
        user=user,
        change_email=CHANGE_EMAIL_PATH,
        change_password=CHANGE_PASSWORD_PATH,
    )


# -- Change Email --------------------------------------------------------------------------------------


def _change_email_page(
    request: Request, user: User, *, banner: Banner | None = None, dialog: str | None = None, **values: Any
) -> HTMLResponse:
    values.setdefault("newemail", "")
    values.setdefault("newemail2", "")
    values.setdefault("justthisaccount", True)
    return page(
        request,
        "ns_changeemail.html",
        "Change Email",
        user=user,
        banner=banner,
        dialog=dialog,
        pending=pending_email(store_of(request), user.user_id),
        home=CENTER_HOME,
        **values,
    )


@router.get(CHANGE_EMAIL_PATH, response_model=None)
def change_email_form(request: Request) -> Response:
    user = _center_user(request)
    if not isinstance(user, User):
        return user
    return _change_email_page(request, user)


def _change_email_problem(
    store: Store, user: User, current: str, new: str, confirm: str
) -> tuple[str, bool] | None:
    """(message, as a native alert?) for the first thing wrong with the request, if any."""
    missing = [
        label
        for label, value in (
            ("Current Password", current),
            ("New Email Address", new),
            ("Confirm New Email", confirm),
        )
        if not value
    ]
    if missing:
        return REQUIRED.format(fields=", ".join(missing)), True
    if not password_matches(current, _customer(store, user)["password_hash"]):
        return WRONG_PASSWORD, False
    if new.lower() != confirm.lower():
        return EMAILS_DIFFER, False
    if not valid_email(new):
        return BAD_EMAIL.format(email=new), False
    if new.lower() == user.email.lower():
        return SAME_EMAIL, False
    if login_taken(store, new, user.user_id):
        return EMAIL_IN_USE.format(email=new), False
    return None


def _send_change_mails(request: Request, user: User, new: str, token: str) -> None:
    store = store_of(request)
    hours = LINK_TTL // 3600
    store.send_mail(
        app="netsuite",
        to=user.email,
        subject="Email address change requested",
        text=(
            f"We received a request to change the email address you use to log in to {company(store)} from "
            f"{user.email} to {new}.\n\nThe change is completed only when the link in the email sent to {new} is "
            f"used (within {hours} hours). Until then, keep logging in with {user.email}.\n\n"
            "If you did not make this request, contact your administrator."
        ),
    )
    link = absolute(request, VALIDATE_EMAIL_PATH, token=token)
    store.send_mail(
        app="netsuite",
        to=new,
        subject="Validate your new email address",
        text=(
            f"We received a request to change the email address you use to log in to {company(store)} from "
            f"{user.email} to {new}.\n\nTo complete the change, open this link within {hours} hours:\n{link}\n\n"
            "If you did not make this request, ignore this email."
        ),
        links=[link],
    )


@router.post(CHANGE_EMAIL_PATH, response_model=None)
async def change_email(request: Request) -> Response:
    user = _center_user(request)
    if not isinstance(user, User):
        return user
    values = await form(request)
    current = values.get("currentpassword", "")
    new, confirm = values.get("newemail", "").strip(), values.get("newemail2", "").strip()
    store = store_of(request)
    problem = _change_email_problem(store, user, current, new, confirm)
    if problem is not None:
        message, as_alert = problem
        return _change_email_page(
            request,
            user,
            banner=None if as_alert else Banner.error(message),
            dialog=message if as_alert else None,
            newemail=new,
            newemail2=confirm,
            justthisaccount=checked(values, "justthisaccount"),
        )
    token = issue_link(store, "email", user.user_id, new.lower())
    _send_change_mails(request, user, new.lower(), token)
    flash(store, user, Banner.confirmation(VALIDATION_SENT.format(email=new.lower())))
    return see_other(CHANGE_EMAIL_PATH)


@router.get(VALIDATE_EMAIL_PATH, response_class=HTMLResponse)
def validate_email(request: Request, token: str = "") -> HTMLResponse:
    """The validation link: no login needed in the sandbox (the real one may ask to log in with the old address)."""
    store = store_of(request)
    link = live_link(store, "email", token)
    if link is None or login_taken(store, link["email"], link["customer_id"]):
        return message_page(request, "Email Validation", Banner.error(VALIDATION_INVALID), status_code=404)
    with store.tx() as db:
        changed = db.execute(
            "UPDATE ns_customers SET email = ? WHERE id = ? AND giveaccess = 1",
            (link["email"], link["customer_id"]),
        ).rowcount
        db.execute("UPDATE ns_tokens SET used = 1 WHERE token = ?", (token,))
    if not changed:
        return message_page(request, "Email Validation", Banner.error(VALIDATION_INVALID), status_code=404)
    return message_page(
        request,
        "Email Validation",
        Banner.confirmation(VALIDATED.format(email=link["email"])),
        login=LOGIN_PATH,
    )


# -- Change Password -----------------------------------------------------------------------------------


def _change_password_page(
    request: Request, user: User, *, banner: Banner | None = None, dialog: str | None = None
) -> HTMLResponse:
    return page(
        request,
        "ns_changepwd.html",
        "Change Password",
        user=user,
        banner=banner,
        dialog=dialog,
        home=CENTER_HOME,
    )


@router.get(CHANGE_PASSWORD_PATH, response_model=None)
def change_password_form(request: Request) -> Response:
    user = _center_user(request)
    if not isinstance(user, User):
        return user
    return _change_password_page(request, user)


@router.post(CHANGE_PASSWORD_PATH, response_model=None)
async def change_password(request: Request) -> Response:
    user = _center_user(request)
    if not isinstance(user, User):
        return user
    values = await form(request)
    current, new, confirm = (values.get(k, "") for k in ("currentpassword", "password", "password2"))
    fields = (("Current Password", current), ("New Password", new), ("Confirm New Password", confirm))
    missing = [label for label, value in fields if not value]
    if missing:
        return _change_password_page(request, user, dialog=REQUIRED.format(fields=", ".join(missing)))
    store = store_of(request)
    if not password_matches(current, _customer(store, user)["password_hash"]):
        return _change_password_page(request, user, banner=Banner.error(WRONG_PASSWORD))
    problem = password_problem(new, confirm)
    if problem:
        return _change_password_page(request, user, dialog=problem)
    with store.tx() as db:
        db.execute(
            "UPDATE ns_customers SET password_hash = ? WHERE id = ?", (hash_password(new), user.user_id)
        )
        # Other signed-in sessions of this customer end with the old password; this one stays.
        db.execute(
            "DELETE FROM ns_sessions WHERE kind = 'center' AND user_id = ? AND id != ?",
            (user.user_id, user.session_id),
        )
    flash(store, user, Banner.confirmation(PASSWORD_CHANGED))
    return see_other(CHANGE_PASSWORD_PATH)
