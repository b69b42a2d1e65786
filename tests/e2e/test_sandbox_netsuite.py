"""The KB article's paths walked in real Chromium on the emulated NetSuite, with the selectors a runbook for the
real product would use: #email, #accesstxt, #giveaccess_fs_inp, #btn_multibutton_submitter, native dialogs."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Dialog, Page, expect

from automation.sandbox import SandboxServer

pytestmark = pytest.mark.browser

ADMIN = ("admin@example.com", "Admin-Sandbox-9z")
JANE = ("jane.access@example.com", "Center-Pass-11a")
TEMP = "Temp-Pass-2024x"
NEW_EMAIL = "jane.new@example.com"
NO_PASSWORD = (
    f"{NEW_EMAIL} login has no password. A notification email with a password URL must be sent or a new password "
    "must be entered manually."
)
INVALID_LOGIN = "You have entered an invalid email address or password. Please try again."


@pytest.fixture
def base(sandbox: SandboxServer) -> str:
    return sandbox.urls["netsuite"]


def log_in(page: Page, base: str, email: str, password: str) -> None:
    page.goto(f"{base}/app/login")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log In").click()


def edit_jane(page: Page, base: str) -> None:
    log_in(page, base, *ADMIN)
    expect(page).to_have_url(f"{base}/app/common/entity/custjoblist.nl")
    page.goto(f"{base}/app/common/entity/custjob.nl?id=1001")
    page.locator("#edit").click()
    expect(page).to_have_url(re.compile(r"custjob\.nl\?id=1001&e=T$"))


def banner(page: Page, kind: str) -> tuple[str, str]:
    box = page.locator(f"#div__alert .uir-alert-box.{kind}")
    expect(box).to_be_visible()
    return box.locator(".title").inner_text(), box.locator(".descr").inner_text()


def newest_mail(page: Page, base: str, to: str) -> dict[str, object]:
    messages = page.request.get(f"{base}/_sandbox/mail", params={"to": to}).json()
    assert messages, f"no e-mail to {to}"
    return messages[0]


def save_expecting_alert(page: Page, button: str = "#btn_multibutton_submitter") -> str:
    """Click Save, read the native alert NetSuite answers with and accept it (OK), as a runbook's `dialog` does.

    The alert is accepted inside the handler, at once: the page (and the click waiting for its navigation) is
    frozen until someone answers it, so answering after click() returns can deadlock under load."""
    seen: list[tuple[str, str]] = []

    def answer(dialog: Dialog) -> None:
        seen.append((dialog.type, dialog.message))
        dialog.accept()

    page.once("dialog", answer)
    # The alert may come only when the re-rendered page loads, after click() returns: wait for it (a minute
    # is for a loaded machine; only a page that raises no alert waits that long and fails).
    with page.expect_event("dialog", timeout=60_000):
        page.locator(button).click()
    assert seen and seen[0][0] == "alert", "no alert appeared"
    return seen[0][1]


def stored_email(sandbox: SandboxServer) -> str:
    assert sandbox.store is not None
    row = sandbox.store.one("SELECT email FROM ns_customers WHERE id = 1001")
    assert row is not None
    return str(row["email"])


def test_access_fields_show_when_the_access_subtab_is_clicked(page: Page, base: str) -> None:
    edit_jane(page, base)
    expect(page.locator("#giveaccess_fs_inp")).to_be_hidden()
    page.locator("#accesstxt").click()
    expect(page.locator("#giveaccess_fs_inp")).to_be_checked()
    expect(page.locator("#giveaccess_fs")).to_have_class("checkbox_ck")
    expect(page.locator("#accessrole option:checked")).to_have_text("Customer Center")
    expect(page.get_by_text("Require Password Change")).to_have_count(0)


def test_changing_the_email_alone_is_refused_by_a_native_alert(
    page: Page, base: str, sandbox: SandboxServer
) -> None:
    edit_jane(page, base)
    page.locator("#email").fill(NEW_EMAIL)
    assert save_expecting_alert(page) == NO_PASSWORD
    expect(page).to_have_url(re.compile(r"custjob\.nl\?id=1001&e=T$"))
    expect(page.locator("#email")).to_have_value(NEW_EMAIL)
    assert stored_email(sandbox) == JANE[0]


def test_refusal_shows_as_an_error_banner_in_banner_mode(
    page: Page, base: str, sandbox: SandboxServer
) -> None:
    settings = page.request.post(
        f"{base}/_sandbox/settings", data={"netsuite_refusal": "banner"}, headers=sandbox.control_headers
    )
    assert settings.ok, settings.text()
    edit_jane(page, base)
    page.locator("#email").fill(NEW_EMAIL)
    page.locator("#btn_multibutton_submitter").click()
    assert banner(page, "error") == ("Error", NO_PASSWORD)
    expect(page.locator("#email")).to_have_value(NEW_EMAIL)
    expect(page.locator("#ns_dialog")).to_have_count(0)  # no native alert on this page
    assert stored_email(sandbox) == JANE[0]


def test_missing_customer_id_is_refused_by_an_alert(page: Page, base: str) -> None:
    edit_jane(page, base)
    page.locator("#entityid").fill("")
    assert save_expecting_alert(page, "#secondarysubmitter") == "Please enter value(s) for: Customer ID"
    expect(page.locator("#entityid")).to_have_value("")


def test_different_confirm_password_is_refused_by_an_alert(page: Page, base: str) -> None:
    edit_jane(page, base)
    page.locator("#accesstxt").click()
    page.locator("#password").fill(TEMP)
    page.locator("#password2").fill(TEMP + "x")
    assert "do not match" in save_expecting_alert(page)
    expect(page.locator("#access_div")).to_be_visible()  # the user is back where they were


def test_option_1_new_email_with_temporary_password_and_notification(
    page: Page, base: str, sandbox: SandboxServer
) -> None:
    edit_jane(page, base)
    page.locator("#email").fill(NEW_EMAIL)
    page.locator("#accesstxt").click()
    page.locator("#giveaccess_fs_inp").check()
    page.locator("#password").fill(TEMP)
    page.locator("#password2").fill(TEMP)
    expect(page.locator("#fillpassword_fs")).to_have_class("checkbox_ck")  # typing a password ticks it
    expect(page.locator("#strength")).to_have_text("Strong")
    page.get_by_label("Send New Access Notification Email").check()
    expect(page.locator("#sendemail_fs")).to_have_class("checkbox_ck")
    page.locator("#btn_multibutton_submitter").click()
    expect(page).to_have_url(f"{base}/app/common/entity/custjob.nl?id=1001")
    assert banner(page, "confirmation") == ("Confirmation", "Record has been saved.")
    expect(page.locator("#email_fs")).to_have_text(NEW_EMAIL)
    mail = newest_mail(page, base, NEW_EMAIL)
    assert TEMP not in str(mail["text"])
    page.locator("#ns-logout").click()
    log_in(page, base, NEW_EMAIL, TEMP)
    expect(page).to_have_url(f"{base}/app/center/card.nl?sc=-29")
    expect(page.locator("#ns-role")).to_have_text("Customer Center")


def test_notification_with_password_setup_link_lets_the_customer_choose_a_password(
    page: Page, base: str
) -> None:
    edit_jane(page, base)
    page.locator("#email").fill(NEW_EMAIL)
    page.locator("#accesstxt").click()
    page.locator("#sendemail_fs_inp").check()
    page.locator("#btn_multibutton_submitter").click()
    assert banner(page, "confirmation") == ("Confirmation", "Record has been saved.")
    links = [str(link) for link in newest_mail(page, base, NEW_EMAIL)["links"]]  # type: ignore[attr-defined]
    page.locator("#ns-logout").click()
    page.goto(next(link for link in links if "setpassword" in link))
    page.locator("#password").fill(TEMP)
    page.locator("#password2").fill(TEMP)
    page.get_by_role("button", name="Submit").click()
    assert banner(page, "confirmation") == ("Confirmation", "Your password has been set. You can now log in.")
    log_in(page, base, NEW_EMAIL, TEMP)
    expect(page).to_have_url(f"{base}/app/center/card.nl?sc=-29")


def test_option_2_customer_changes_email_through_the_validation_link(page: Page, base: str) -> None:
    log_in(page, base, *JANE)
    settings = page.locator("#settings_portlet")
    expect(settings.get_by_role("heading", name="Settings")).to_be_visible()
    settings.get_by_role("link", name="Change Email").click()
    page.get_by_label("Current Password").fill(JANE[1])
    page.get_by_label("New Email Address").fill(NEW_EMAIL)
    page.get_by_label("Confirm New Email").fill(NEW_EMAIL)
    expect(page.get_by_label("Just This Account")).to_be_checked()
    page.locator("#btn_multibutton_submitter").click()
    assert banner(page, "confirmation") == (
        "Confirmation",
        "Validation email sent successfully. To complete the pending email change, you must click the link "
        f"provided in the validation email sent to {NEW_EMAIL}",
    )
    expect(page.locator("#pendingemail")).to_have_text(NEW_EMAIL)
    notice = newest_mail(page, base, JANE[0])
    assert NEW_EMAIL in str(notice["text"])
    link = str(newest_mail(page, base, NEW_EMAIL)["links"][0])  # type: ignore[index]
    page.locator("#ns-logout").click()
    log_in(page, base, *JANE)  # the old address works until the link is used
    expect(page).to_have_url(f"{base}/app/center/card.nl?sc=-29")
    page.goto(link)
    title, descr = banner(page, "confirmation")
    assert title == "Confirmation" and "successfully validated" in descr
    page.goto(f"{base}/pages/nllogoutnoback.jsp")
    log_in(page, base, NEW_EMAIL, JANE[1])
    expect(page.locator("#ns-login-email")).to_have_text(NEW_EMAIL)


def test_option_3_removing_access_stops_the_old_login(page: Page, base: str, sandbox: SandboxServer) -> None:
    edit_jane(page, base)
    page.locator("#accesstxt").click()
    page.locator("#giveaccess_fs_inp").uncheck()
    expect(page.locator("#giveaccess_fs")).to_have_class("checkbox_unck")
    page.locator("#email").fill(NEW_EMAIL)
    page.locator("#btn_multibutton_submitter").click()
    expect(page).to_have_url(f"{base}/app/common/entity/custjob.nl?id=1001")
    assert banner(page, "confirmation") == ("Confirmation", "Record has been saved.")
    assert stored_email(sandbox) == NEW_EMAIL
    page.locator("#ns-logout").click()
    log_in(page, base, *JANE)
    assert banner(page, "error") == ("Error", INVALID_LOGIN)
