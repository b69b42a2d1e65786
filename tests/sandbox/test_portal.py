"""The emulated Customer Portal, route by route: every answer and message the KB article's paths depend on."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser

import httpx
import pytest

from automation.sandbox import SandboxServer
from automation.sandbox.passwords import hash_password

PASSWORD = "Sunshine-Portal-7q"
NEW_PASSWORD = "Brand-New-Pass-9z"
UNKNOWN_ERROR = "An unknown error has occurred. Please try again later."


class Page(HTMLParser):
    """What a user (or a Playwright locator) sees of a page: headings, labels, fields, buttons, links, and the
    text of the alert and status areas."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.headings: list[str] = []
        self.labels: dict[str, str] = {}
        self.fields: list[str] = []
        self.buttons: list[str] = []
        self.links: list[tuple[str, str]] = []
        self.roles: dict[str, str] = {}
        self._open: list[tuple[str, str, dict[str, str]]] = []  # (tag, text so far, attrs)
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "input" and values.get("type") != "hidden":
            self.fields.append(values.get("id", ""))
        elif tag in ("h1", "label", "button", "a", "div"):
            self._open.append((tag, "", values))

    def handle_data(self, data: str) -> None:
        self._open = [(tag, text + data, attrs) for tag, text, attrs in self._open]

    def handle_endtag(self, tag: str) -> None:
        if not self._open or self._open[-1][0] != tag:
            return
        _, raw, attrs = self._open.pop()
        text = " ".join(raw.split())
        if tag == "h1":
            self.headings.append(text)
        elif tag == "label":
            self.labels[attrs.get("for", "")] = text
        elif tag == "button":
            self.buttons.append(text)
        elif tag == "a":
            self.links.append((text, attrs.get("href", "")))
        elif "role" in attrs:
            self.roles[attrs["role"]] = text

    @property
    def alert(self) -> str:
        return self.roles.get("alert", "")

    @property
    def status(self) -> str:
        return self.roles.get("status", "")

    def href(self, text: str) -> str:
        return next(href for name, href in self.links if name == text)


@pytest.fixture
def portal(sandbox: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.urls["portal"]) as client:
        yield client


def log_in(portal: httpx.Client, email: str, password: str = PASSWORD) -> httpx.Response:
    return portal.post("/auth/login", data={"email": email, "password": password})


def mail(portal: httpx.Client, to: str) -> list[dict[str, object]]:
    return portal.get("/_sandbox/mail", params={"to": to}).json()


def latest_code(portal: httpx.Client, to: str) -> str:
    match = re.search(r"Your verification code is (\d{6})", str(mail(portal, to)[0]["text"]))
    assert match, "no verification code in the newest e-mail"
    return match.group(1)


def reset_link(portal: httpx.Client, to: str) -> str:
    links = mail(portal, to)[0]["links"]
    assert isinstance(links, list)
    return str(links[0])


def add_account(sandbox: SandboxServer, email: str, password: str, verified: bool = True) -> None:
    assert sandbox.store is not None
    sandbox.store.run(
        "INSERT INTO portal_accounts (email, password_hash, verified) VALUES (?, ?, ?)",
        email,
        hash_password(password),
        int(verified),
    )


def age_rows(sandbox: SandboxServer, table: str, seconds: int) -> None:
    """Pretend every code or reset link in `table` was issued `seconds` earlier."""
    assert sandbox.store is not None
    sandbox.store.run(f"UPDATE {table} SET issued_at = issued_at - ?", seconds)


# -- pages ----------------------------------------------------------------------------------------------


def test_root_redirects_to_login(portal: httpx.Client) -> None:
    response = portal.get("/")
    assert response.is_redirect and response.headers["location"] == "/auth/login"


@pytest.mark.parametrize(
    ("path", "heading", "labels", "button"),
    [
        ("/auth/login", "Log In", ["Email", "Password"], "Log In"),
        ("/auth/resendVerifyCode", "Resend Verification Code", ["Email"], "Submit"),
        (
            "/auth/verifyCode?email=unverified@example.com",
            "Verify Your Email",
            ["Verification code"],
            "Submit",
        ),
        ("/auth/register", "Create Account", ["Email", "Password", "Confirm Password"], "Create Account"),
        ("/auth/forgotPassword", "Reset password", ["Email"], "Send Reset Link"),
    ],
)
def test_form_page_has_heading_labelled_fields_and_button(
    portal: httpx.Client, path: str, heading: str, labels: list[str], button: str
) -> None:
    page = Page(portal.get(path).text)
    assert page.headings == [heading]
    assert [page.labels.get(field) for field in page.fields] == labels
    assert page.buttons == [button]


def test_every_page_carries_the_sandbox_banner(portal: httpx.Client) -> None:
    assert "SANDBOX" in portal.get("/auth/login").text


def test_login_page_links_to_need_help_and_create_account(portal: httpx.Client) -> None:
    page = Page(portal.get("/auth/login").text)
    assert page.href("Need Help") == "/auth/needHelp"
    assert page.href("Create Account") == "/auth/register"


def test_need_help_links_to_reset_password_and_both_verification_links(portal: httpx.Client) -> None:
    page = Page(portal.get("/auth/needHelp").text)
    assert page.href("Reset password") == "/auth/forgotPassword"
    assert page.href("confirm your email address") == "/auth/resendVerifyCode"
    assert page.href("request another verification code") == "/auth/resendVerifyCode"


REQUIREMENTS = ["At least 8 characters", "An uppercase letter", "A lowercase letter", "A number", "A symbol"]


def listed_requirements(html: str) -> list[str]:
    return re.findall(r"<li>(.*?)</li>", html)


def test_create_account_page_lists_the_password_requirements(portal: httpx.Client) -> None:
    assert listed_requirements(portal.get("/auth/register").text) == REQUIREMENTS


def test_reset_page_lists_the_password_requirements(portal: httpx.Client) -> None:
    forgot(portal, "symbol-end@example.com")
    assert listed_requirements(portal.get(reset_link(portal, "symbol-end@example.com")).text) == REQUIREMENTS


# -- log in ---------------------------------------------------------------------------------------------


def test_login_with_verified_account_opens_my_account(portal: httpx.Client) -> None:
    response = log_in(portal, "verified@example.com")
    assert response.status_code == 303 and response.headers["location"] == "/account"
    page = Page(portal.get("/account").text)
    assert page.headings == ["My Account"]
    assert "Signed in as verified@example.com" in portal.get("/account").text
    assert page.buttons == ["Log Out"]


def test_login_sets_a_portal_specific_session_cookie(portal: httpx.Client) -> None:
    response = log_in(portal, "monitor@example.com", "Monitor-Check-5x")
    assert "portal_session" in response.cookies


def test_login_accepts_the_address_in_any_case(portal: httpx.Client) -> None:
    assert log_in(portal, "  Verified@Example.COM ").headers["location"] == "/account"


def test_login_with_password_ending_in_a_symbol_gives_unknown_error(portal: httpx.Client) -> None:
    assert Page(log_in(portal, "symbol-end@example.com", "Sunshine-Portal-7!").text).alert == UNKNOWN_ERROR


def test_login_with_password_ending_in_a_number_gives_unknown_error(
    portal: httpx.Client, sandbox: SandboxServer
) -> None:
    add_account(sandbox, "number-end@example.com", "Sunshine-Portal-q7")
    assert Page(log_in(portal, "number-end@example.com", "Sunshine-Portal-q7").text).alert == UNKNOWN_ERROR


def test_login_before_email_is_verified_gives_unknown_error(portal: httpx.Client) -> None:
    assert Page(log_in(portal, "unverified@example.com").text).alert == UNKNOWN_ERROR


def test_login_with_half_registered_address_gives_unknown_error(portal: httpx.Client) -> None:
    assert Page(log_in(portal, "half-registered@example.com").text).alert == UNKNOWN_ERROR


def test_login_for_customer_missing_from_customer_system_names_the_address(portal: httpx.Client) -> None:
    page = Page(log_in(portal, "Not-In-Salesforce@Example.com").text)
    assert page.alert == "Something went wrong searching for customer not-in-salesforce@example.com"


def test_login_with_wrong_password_is_incorrect(portal: httpx.Client) -> None:
    assert Page(log_in(portal, "verified@example.com", "Wrong-Password-1a").text).alert == (
        "Incorrect email or password."
    )


def test_login_with_unknown_address_is_not_found(portal: httpx.Client) -> None:
    page = Page(log_in(portal, "nobody@example.com").text)
    assert page.alert == "We could not find an account for nobody@example.com."


@pytest.mark.parametrize(
    ("email", "password", "message"),
    [
        ("", PASSWORD, "Please enter your email address."),
        ("verified@example.com", "", "Please enter your password."),
        ("not-an-address", PASSWORD, "Please enter a valid email address."),
    ],
)
def test_login_form_validates_its_fields(
    portal: httpx.Client, email: str, password: str, message: str
) -> None:
    response = log_in(portal, email, password)
    assert response.status_code == 200 and Page(response.text).alert == message


def test_login_keeps_the_typed_address_after_an_error(portal: httpx.Client) -> None:
    assert 'value="verified@example.com"' in log_in(portal, "verified@example.com", "x").text


def test_login_page_after_verification_asks_to_log_in_again(portal: httpx.Client) -> None:
    page = Page(portal.get("/auth/login", params={"verified": "1"}).text)
    assert page.status == "Your email has been verified. Please log in again."


def test_account_page_without_signing_in_goes_to_login(portal: httpx.Client) -> None:
    response = portal.get("/account")
    assert response.is_redirect and response.headers["location"] == "/auth/login"


def test_log_out_ends_the_session(portal: httpx.Client) -> None:
    log_in(portal, "verified@example.com")
    response = portal.post("/auth/logout")
    assert response.headers["location"] == "/auth/login"
    assert portal.get("/account").headers["location"] == "/auth/login"


# -- resend and verify the code --------------------------------------------------------------------------


def resend(portal: httpx.Client, email: str) -> httpx.Response:
    return portal.post("/auth/resendVerifyCode", data={"email": email})


def verify(portal: httpx.Client, email: str, code: str) -> httpx.Response:
    return portal.post("/auth/verifyCode", data={"email": email, "code": code})


def test_resend_for_verified_address_says_already_verified(portal: httpx.Client) -> None:
    response = resend(portal, "verified@example.com")
    assert response.status_code == 200
    assert Page(response.text).status == "This email address has already been verified."


def test_resend_for_unverified_address_opens_the_code_page(portal: httpx.Client) -> None:
    response = resend(portal, "unverified@example.com")
    assert response.status_code == 303
    assert response.headers["location"] == "/auth/verifyCode?email=unverified@example.com"


def test_resend_for_unverified_address_mails_a_six_digit_code(portal: httpx.Client) -> None:
    resend(portal, "unverified@example.com")
    [message] = mail(portal, "unverified@example.com")
    assert message["subject"] == "Your verification code"
    assert re.search(r"Your verification code is \d{6}\b", str(message["text"]))


def test_resend_for_half_registered_address_mails_a_code(portal: httpx.Client) -> None:
    response = resend(portal, "half-registered@example.com")
    assert response.headers["location"] == "/auth/verifyCode?email=half-registered@example.com"
    assert latest_code(portal, "half-registered@example.com")


def test_resend_for_customer_missing_from_customer_system_names_the_address(portal: httpx.Client) -> None:
    page = Page(resend(portal, "not-in-salesforce@example.com").text)
    assert page.alert == "Something went wrong searching for customer not-in-salesforce@example.com"


def test_resend_for_unknown_address_is_not_found(portal: httpx.Client) -> None:
    page = Page(resend(portal, "Nobody@Example.com").text)
    assert page.alert == "We could not find an account for nobody@example.com."


@pytest.mark.parametrize(
    ("email", "message"),
    [("", "Please enter your email address."), ("a@b", "Please enter a valid email address.")],
)
def test_resend_form_validates_the_address(portal: httpx.Client, email: str, message: str) -> None:
    assert Page(resend(portal, email).text).alert == message


def test_verify_page_names_the_address_the_code_went_to(portal: httpx.Client) -> None:
    text = portal.get("/auth/verifyCode", params={"email": "unverified@example.com"}).text
    assert "We sent a 6-digit code to unverified@example.com." in text


def test_verify_page_without_an_address_goes_to_resend(portal: httpx.Client) -> None:
    assert portal.get("/auth/verifyCode").headers["location"] == "/auth/resendVerifyCode"


def test_right_code_returns_to_login_with_verified_message(portal: httpx.Client) -> None:
    resend(portal, "unverified@example.com")
    response = verify(portal, "unverified@example.com", latest_code(portal, "unverified@example.com"))
    assert response.status_code == 303 and response.headers["location"] == "/auth/login?verified=1"
    assert Page(portal.get(response.headers["location"]).text).status == (
        "Your email has been verified. Please log in again."
    )


def test_right_code_lets_the_customer_log_in(portal: httpx.Client) -> None:
    resend(portal, "unverified@example.com")
    verify(portal, "unverified@example.com", latest_code(portal, "unverified@example.com"))
    assert log_in(portal, "unverified@example.com").headers["location"] == "/account"


def test_wrong_code_is_incorrect(portal: httpx.Client) -> None:
    resend(portal, "unverified@example.com")
    wrong = "000000" if latest_code(portal, "unverified@example.com") != "000000" else "111111"
    assert (
        Page(verify(portal, "unverified@example.com", wrong).text).alert
        == "The verification code is incorrect."
    )


def test_new_code_makes_the_earlier_one_invalid(portal: httpx.Client) -> None:
    resend(portal, "unverified@example.com")
    first = latest_code(portal, "unverified@example.com")
    resend(portal, "unverified@example.com")
    while latest_code(portal, "unverified@example.com") == first:  # one chance in a million
        resend(portal, "unverified@example.com")
    assert (
        Page(verify(portal, "unverified@example.com", first).text).alert
        == "The verification code is incorrect."
    )


def test_code_cannot_be_used_twice(portal: httpx.Client) -> None:
    resend(portal, "unverified@example.com")
    code = latest_code(portal, "unverified@example.com")
    verify(portal, "unverified@example.com", code)
    assert (
        Page(verify(portal, "unverified@example.com", code).text).alert
        == "The verification code is incorrect."
    )


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", "12 456"])
def test_code_that_is_not_six_digits_is_refused(portal: httpx.Client, code: str) -> None:
    page = Page(verify(portal, "unverified@example.com", code).text)
    assert page.alert == "Enter the 6-digit code from the email."


def test_expired_code_offers_another(portal: httpx.Client, sandbox: SandboxServer) -> None:
    resend(portal, "unverified@example.com")
    age_rows(sandbox, "portal_codes", 16 * 60)
    page = Page(verify(portal, "unverified@example.com", latest_code(portal, "unverified@example.com")).text)
    assert page.alert == "This verification code has expired. Request another verification code."
    assert page.href("Request another verification code") == "/auth/resendVerifyCode"


def test_expired_code_does_not_verify(portal: httpx.Client, sandbox: SandboxServer) -> None:
    resend(portal, "unverified@example.com")
    age_rows(sandbox, "portal_codes", 16 * 60)
    verify(portal, "unverified@example.com", latest_code(portal, "unverified@example.com"))
    assert Page(log_in(portal, "unverified@example.com").text).alert == UNKNOWN_ERROR


# -- create account -------------------------------------------------------------------------------------


def create(
    portal: httpx.Client, email: str, password: str = NEW_PASSWORD, confirm: str | None = None
) -> httpx.Response:
    data = {
        "email": email,
        "password": password,
        "confirm_password": password if confirm is None else confirm,
    }
    return portal.post("/auth/register", data=data)


@pytest.mark.parametrize("email", ["verified@example.com", "unverified@example.com"])
def test_create_account_for_registered_address_says_it_exists(portal: httpx.Client, email: str) -> None:
    assert Page(create(portal, email).text).alert == "An account with this email already exists."


def test_create_account_for_half_registered_address_proceeds_to_verification(portal: httpx.Client) -> None:
    response = create(portal, "half-registered@example.com")
    assert response.headers["location"] == "/auth/verifyCode?email=half-registered@example.com"
    assert latest_code(portal, "half-registered@example.com")


def test_half_registered_customer_can_log_in_after_create_account_and_verification(
    portal: httpx.Client,
) -> None:
    create(portal, "half-registered@example.com")
    verify(portal, "half-registered@example.com", latest_code(portal, "half-registered@example.com"))
    assert log_in(portal, "half-registered@example.com", NEW_PASSWORD).headers["location"] == "/account"


def test_create_account_for_new_address_proceeds_to_verification(portal: httpx.Client) -> None:
    response = create(portal, "newcomer@example.com")
    assert response.headers["location"] == "/auth/verifyCode?email=newcomer@example.com"
    assert mail(portal, "newcomer@example.com")[0]["subject"] == "Your verification code"


def test_create_account_lists_what_the_password_is_missing(portal: httpx.Client) -> None:
    page = Page(create(portal, "newcomer@example.com", "sunshine").text)
    assert page.alert == "Password does not meet the requirements: an uppercase letter, a number, a symbol"


def test_create_account_refuses_a_short_password(portal: httpx.Client) -> None:
    assert Page(create(portal, "newcomer@example.com", "Sun-7q").text).alert == (
        "Password does not meet the requirements: at least 8 characters"
    )


def test_create_account_refuses_mismatched_passwords(portal: httpx.Client) -> None:
    page = Page(create(portal, "newcomer@example.com", NEW_PASSWORD, NEW_PASSWORD + "x").text)
    assert page.alert == "Passwords do not match."


def test_create_account_accepts_a_trailing_symbol_that_later_breaks_login(portal: httpx.Client) -> None:
    create(portal, "newcomer@example.com", "Sunshine-Portal-7!")
    verify(portal, "newcomer@example.com", latest_code(portal, "newcomer@example.com"))
    assert Page(log_in(portal, "newcomer@example.com", "Sunshine-Portal-7!").text).alert == UNKNOWN_ERROR


# -- reset password -------------------------------------------------------------------------------------


def forgot(portal: httpx.Client, email: str) -> httpx.Response:
    return portal.post("/auth/forgotPassword", data={"email": email})


def reset(
    portal: httpx.Client, link: str, password: str = NEW_PASSWORD, confirm: str | None = None
) -> httpx.Response:
    token = httpx.URL(link).params["token"]
    data = {
        "token": token,
        "new_password": password,
        "confirm_new_password": password if confirm is None else confirm,
    }
    return portal.post("/auth/resetPassword", data=data)


def test_forgot_password_says_a_link_was_sent(portal: httpx.Client) -> None:
    page = Page(forgot(portal, "symbol-end@example.com").text)
    assert page.status == "If an account exists for symbol-end@example.com, we sent a password reset link."


def test_forgot_password_mails_a_reset_link(portal: httpx.Client, sandbox: SandboxServer) -> None:
    forgot(portal, "symbol-end@example.com")
    [message] = mail(portal, "symbol-end@example.com")
    assert message["subject"] == "Reset your password"
    assert reset_link(portal, "symbol-end@example.com").startswith(
        sandbox.urls["portal"] + "/auth/resetPassword?token="
    )


def test_forgot_password_for_unknown_address_sends_nothing(portal: httpx.Client) -> None:
    page = Page(forgot(portal, "nobody@example.com").text)
    assert page.status == "If an account exists for nobody@example.com, we sent a password reset link."
    assert mail(portal, "nobody@example.com") == []


def test_forgot_password_for_customer_missing_from_customer_system_names_the_address(
    portal: httpx.Client,
) -> None:
    page = Page(forgot(portal, "not-in-salesforce@example.com").text)
    assert page.alert == "Something went wrong searching for customer not-in-salesforce@example.com"


def test_reset_page_has_labelled_password_fields(portal: httpx.Client) -> None:
    forgot(portal, "symbol-end@example.com")
    page = Page(portal.get(reset_link(portal, "symbol-end@example.com")).text)
    assert [page.labels.get(field) for field in page.fields] == ["New Password", "Confirm New Password"]
    assert page.buttons == ["Reset Password"]


def test_reset_returns_to_login_with_reset_message(portal: httpx.Client) -> None:
    forgot(portal, "symbol-end@example.com")
    response = reset(portal, reset_link(portal, "symbol-end@example.com"))
    assert response.status_code == 303 and response.headers["location"] == "/auth/login?reset=1"
    assert (
        Page(portal.get("/auth/login?reset=1").text).status == "Your password has been reset. Please log in."
    )


def test_reset_to_a_password_ending_in_a_letter_fixes_login(portal: httpx.Client) -> None:
    forgot(portal, "symbol-end@example.com")
    reset(portal, reset_link(portal, "symbol-end@example.com"))
    assert log_in(portal, "symbol-end@example.com", NEW_PASSWORD).headers["location"] == "/account"


def test_reset_link_works_only_once(portal: httpx.Client) -> None:
    forgot(portal, "symbol-end@example.com")
    link = reset_link(portal, "symbol-end@example.com")
    reset(portal, link)
    assert (
        Page(reset(portal, link, "Another-Pass-8w").text).alert
        == "This reset link is invalid or has expired."
    )


def test_unknown_reset_link_is_invalid(portal: httpx.Client) -> None:
    page = Page(portal.get("/auth/resetPassword", params={"token": "made-up"}).text)
    assert page.alert == "This reset link is invalid or has expired."
    assert page.fields == []


def test_reset_link_expires_after_a_day(portal: httpx.Client, sandbox: SandboxServer) -> None:
    forgot(portal, "symbol-end@example.com")
    age_rows(sandbox, "portal_reset_tokens", 24 * 3600 + 60)
    page = Page(portal.get(reset_link(portal, "symbol-end@example.com")).text)
    assert page.alert == "This reset link is invalid or has expired."


def test_reset_enforces_the_requirements(portal: httpx.Client) -> None:
    forgot(portal, "symbol-end@example.com")
    page = Page(reset(portal, reset_link(portal, "symbol-end@example.com"), "SUNSHINE-PORTAL").text)
    assert page.alert == "Password does not meet the requirements: a lowercase letter, a number"


def test_reset_refuses_mismatched_passwords(portal: httpx.Client) -> None:
    forgot(portal, "symbol-end@example.com")
    page = Page(
        reset(portal, reset_link(portal, "symbol-end@example.com"), NEW_PASSWORD, "Other-Pass-8w").text
    )
    assert page.alert == "Passwords do not match."


# -- robustness -----------------------------------------------------------------------------------------

FORMS = [
    "/auth/login",
    "/auth/resendVerifyCode",
    "/auth/verifyCode",
    "/auth/register",
    "/auth/forgotPassword",
    "/auth/resetPassword",
]
BODIES = {
    "no body": (b"", "application/x-www-form-urlencoded"),
    "broken multipart": (b"--x\r\nnonsense", "multipart/form-data; boundary=x"),
    "json": (b'{"email": "verified@example.com"}', "application/json"),
    "bad utf-8": (b"email=%ff%fe&password=%c3&code=%00%00", "application/x-www-form-urlencoded"),
    "repeated fields": (b"email=a&email=b&password=&password=x", "application/x-www-form-urlencoded"),
    "huge value": (b"email=" + b"a" * 200_000 + b"@example.com", "application/x-www-form-urlencoded"),
}


@pytest.mark.parametrize("path", FORMS)
@pytest.mark.parametrize("body", list(BODIES))
def test_bad_form_input_gets_a_page_not_a_server_error(portal: httpx.Client, path: str, body: str) -> None:
    content, content_type = BODIES[body]
    response = portal.post(path, content=content, headers={"content-type": content_type})
    assert response.status_code < 500
    assert "Traceback" not in response.text
