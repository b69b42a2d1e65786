"""Each path of the KB article walked in real Chromium on the emulated Customer Portal, with the locators a
runbook would use (role, label, visible text)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from automation.sandbox import SandboxServer

pytestmark = pytest.mark.browser

PASSWORD = "Sunshine-Portal-7q"
NEW_PASSWORD = "Brand-New-Pass-9z"
UNKNOWN_ERROR = "An unknown error has occurred. Please try again later."


@pytest.fixture
def base(sandbox: SandboxServer) -> str:
    return sandbox.urls["portal"]


def newest_mail(page: Page, base: str, to: str) -> dict[str, object]:
    """The newest e-mail to `to`, read from the sandbox outbox as the runbook's `from_mail` does."""
    messages = page.request.get(f"{base}/_sandbox/mail", params={"to": to}).json()
    assert messages, f"no e-mail to {to}"
    return messages[0]


def code_from_mail(page: Page, base: str, to: str) -> str:
    match = re.search(r"Your verification code is (\d{6})", str(newest_mail(page, base, to)["text"]))
    assert match, "the newest e-mail carries no verification code"
    return match.group(1)


def log_in(page: Page, base: str, email: str, password: str) -> None:
    page.goto(f"{base}/auth/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log In").click()


def enter_code(page: Page, base: str, email: str) -> None:
    expect(page.get_by_role("heading", name="Verify Your Email")).to_be_visible()
    expect(page.get_by_text(f"We sent a 6-digit code to {email}.")).to_be_visible()
    page.get_by_label("Verification code").fill(code_from_mail(page, base, email))
    page.get_by_role("button", name="Submit").click()


def resend_code(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/auth/resendVerifyCode")
    page.get_by_label("Email").fill(email)
    page.get_by_role("button", name="Submit").click()


def expect_signed_in(page: Page, email: str) -> None:
    expect(page.get_by_role("heading", name="My Account")).to_be_visible()
    expect(page.get_by_text(f"Signed in as {email}")).to_be_visible()


def test_agent_verifies_an_unverified_customer_with_the_mailed_code(page: Page, base: str) -> None:
    log_in(page, base, "unverified@example.com", PASSWORD)
    expect(page.get_by_role("alert")).to_have_text(UNKNOWN_ERROR)
    resend_code(page, base, "unverified@example.com")
    expect(page).to_have_url(re.compile(r"/auth/verifyCode\?email=unverified@example\.com$"))
    enter_code(page, base, "unverified@example.com")
    expect(page.get_by_role("status")).to_have_text("Your email has been verified. Please log in again.")
    log_in(page, base, "unverified@example.com", PASSWORD)
    expect_signed_in(page, "unverified@example.com")


@pytest.mark.parametrize("link", ["confirm your email address", "request another verification code"])
def test_customer_reaches_resend_page_from_need_help(page: Page, base: str, link: str) -> None:
    page.goto(f"{base}/auth/login")
    page.get_by_role("link", name="Need Help").click()
    page.get_by_role("link", name=link, exact=True).click()
    expect(page.get_by_role("heading", name="Resend Verification Code")).to_be_visible()


def test_already_verified_address_gets_the_notification(page: Page, base: str) -> None:
    resend_code(page, base, "verified@example.com")
    expect(page.get_by_role("status")).to_have_text("This email address has already been verified.")
    expect(page).to_have_url(re.compile(r"/auth/resendVerifyCode$"))


def test_password_ending_in_a_symbol_is_fixed_by_a_reset_through_need_help(page: Page, base: str) -> None:
    log_in(page, base, "symbol-end@example.com", "Sunshine-Portal-7!")
    expect(page.get_by_role("alert")).to_have_text(UNKNOWN_ERROR)
    page.get_by_role("link", name="Need Help").click()
    page.get_by_role("link", name="Reset password").click()
    page.get_by_label("Email").fill("symbol-end@example.com")
    page.get_by_role("button", name="Send Reset Link").click()
    expect(page.get_by_role("status")).to_contain_text("we sent a password reset link")
    message = newest_mail(page, base, "symbol-end@example.com")
    assert message["subject"] == "Reset your password"
    links = message["links"]
    assert isinstance(links, list) and links, "the reset e-mail carries no link"
    page.goto(str(links[0]))
    page.get_by_label("New Password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Confirm New Password", exact=True).fill(NEW_PASSWORD)
    page.get_by_role("button", name="Reset Password").click()
    expect(page.get_by_role("status")).to_have_text("Your password has been reset. Please log in.")
    log_in(page, base, "symbol-end@example.com", NEW_PASSWORD)
    expect_signed_in(page, "symbol-end@example.com")


def create_account(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/auth/login")
    page.get_by_role("link", name="Create Account").click()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Confirm Password", exact=True).fill(NEW_PASSWORD)
    page.get_by_role("button", name="Create Account").click()


def test_create_account_probe_for_a_registered_address_shows_it_exists(page: Page, base: str) -> None:
    create_account(page, base, "verified@example.com")
    expect(page.get_by_role("alert")).to_have_text("An account with this email already exists.")


def test_create_account_probe_for_a_half_registered_address_proceeds_to_verification(
    page: Page, base: str
) -> None:
    log_in(page, base, "half-registered@example.com", NEW_PASSWORD)
    expect(page.get_by_role("alert")).to_have_text(UNKNOWN_ERROR)
    create_account(page, base, "half-registered@example.com")
    enter_code(page, base, "half-registered@example.com")
    log_in(page, base, "half-registered@example.com", NEW_PASSWORD)
    expect_signed_in(page, "half-registered@example.com")


def test_customer_missing_from_the_customer_system_gets_the_search_error(page: Page, base: str) -> None:
    resend_code(page, base, "not-in-salesforce@example.com")
    expect(page.get_by_role("alert")).to_have_text(
        "Something went wrong searching for customer not-in-salesforce@example.com"
    )


def test_log_out_returns_to_the_login_page(page: Page, base: str) -> None:
    log_in(page, base, "monitor@example.com", "Monitor-Check-5x")
    page.get_by_role("button", name="Log Out").click()
    expect(page.get_by_role("heading", name="Log In")).to_be_visible()
