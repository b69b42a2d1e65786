"""The emulated NetSuite, route by route: logins, the customer form's save rules from the KB article, and the
Customer Center's Change Email, with the exact texts a runbook waits for."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from html.parser import HTMLParser

import httpx
import pytest

from automation.sandbox import SandboxServer

ADMIN = ("admin@example.com", "Admin-Sandbox-9z")
JANE = ("jane.access@example.com", "Center-Pass-11a")
TEMP = "Temp-Pass-2024x"
NEW_EMAIL = "jane.new@example.com"
INVALID_LOGIN = "You have entered an invalid email address or password. Please try again."
NO_PASSWORD = (
    "{} login has no password. A notification email with a password URL must be sent or a new password must be "
    "entered manually."
)
VALIDATION_SENT = (
    "Validation email sent successfully. To complete the pending email change, you must click the link provided "
    "in the validation email sent to {}"
)
RECORD = "/app/common/entity/custjob.nl"
UNTICKED = "<unticked>"  # a checkbox the browser does not post
EDIT_JANE = RECORD + "?id=1001&e=T"


class Page(HTMLParser):
    """What a runbook's selectors see: every element with an id (tag, attributes, text), the banner in
    #div__alert and the message of the native alert the page raises on load."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.by_id: dict[str, tuple[str, dict[str, str], str]] = {}
        self.classes: dict[str, str] = {}
        self._open: list[tuple[str, dict[str, str], list[str]]] = []
        self.feed(html)

    _VOID = {"input", "br", "img", "meta", "link", "hr"}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v if v is not None else "" for k, v in attrs}
        if tag in self._VOID:
            if "id" in values:
                self.by_id[values["id"]] = (tag, values, "")
            return
        self._open.append((tag, values, []))

    def handle_data(self, data: str) -> None:
        for _, _, parts in self._open:
            parts.append(data)

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            open_tag, attrs, parts = self._open.pop()
            if "id" in attrs:
                self.by_id[attrs["id"]] = (open_tag, attrs, " ".join("".join(parts).split()))
            if "class" in attrs and "uir-alert-box" not in self.classes:
                for name in ("title", "descr", "uir-alert-box"):
                    if name in attrs["class"].split():
                        self.classes.setdefault(name, " ".join("".join(parts).split()))
                        if name == "uir-alert-box":
                            self.classes["kind"] = attrs["class"]
            if open_tag == tag:
                break

    def text(self, element_id: str) -> str:
        return self.by_id[element_id][2]

    def attrs(self, element_id: str) -> dict[str, str]:
        return self.by_id[element_id][1]

    def has(self, element_id: str) -> bool:
        return element_id in self.by_id

    @property
    def banner(self) -> tuple[str, str, str] | None:
        """(type, title, description) of the alert box, if the page has one."""
        if "uir-alert-box" not in self.classes:
            return None
        kind = next(
            k for k in ("confirmation", "information", "warning", "error") if k in self.classes["kind"]
        )
        return kind, self.classes["title"], self.classes["descr"]

    @property
    def dialog(self) -> str | None:
        return json.loads(self.text("ns_dialog")) if self.has("ns_dialog") else None


@pytest.fixture
def client(sandbox: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.urls["netsuite"]) as c:
        yield c


def log_in(client: httpx.Client, email: str, password: str) -> httpx.Response:
    return client.post("/app/login", data={"email": email, "password": password})


@pytest.fixture
def admin(client: httpx.Client) -> httpx.Client:
    assert log_in(client, *ADMIN).status_code == 303
    return client


def edit_form(**changes: str) -> dict[str, str]:
    """Jane's edit form as the browser posts it, with changes; a box set to UNTICKED is left out."""
    values = {
        "id": "1001", "selectedtab": "access", "entityid": "Jane Access", "isperson": "T", "firstname": "Jane",
        "lastname": "Access", "email": JANE[0], "phone": "555-0101", "giveaccess": "T", "accessrole": "14",
    }  # fmt: skip
    values.update(changes)
    return {k: v for k, v in values.items() if v != UNTICKED}


def save(client: httpx.Client, **changes: str) -> httpx.Response:
    return client.post(EDIT_JANE, data=edit_form(**changes))


def mails(sandbox: SandboxServer, to: str) -> list[dict[str, object]]:
    assert sandbox.store is not None
    return sandbox.store.mail(to)


def customer(sandbox: SandboxServer, customer_id: int = 1001) -> dict[str, object]:
    assert sandbox.store is not None
    row = sandbox.store.one("SELECT * FROM ns_customers WHERE id = ?", customer_id)
    assert row is not None
    return dict(row)


@pytest.fixture
def fresh(sandbox: SandboxServer) -> Iterator[Callable[[], httpx.Client]]:
    """Makes clients with a cookie jar of their own: another browser, another person."""
    made: list[httpx.Client] = []

    def make() -> httpx.Client:
        made.append(httpx.Client(base_url=sandbox.urls["netsuite"]))
        return made[-1]

    yield make
    for client in made:
        client.close()


# -- log in ---------------------------------------------------------------------------------------------


def test_login_page_has_labelled_email_password_and_log_in_button(client: httpx.Client) -> None:
    html = client.get("/app/login").text
    page = Page(html)
    assert page.by_id["email"][0] == "input" and page.attrs("password")["type"] == "password"
    assert (
        '<label for="email">Email address</label>' in html
        and '<label for="password">Password</label>' in html
    )
    assert page.attrs("login-submit")["value"] == "Log In"
    assert "SANDBOX" in html


def test_real_login_path_serves_the_same_form(client: httpx.Client) -> None:
    page = Page(client.get("/pages/customerlogin.jsp").text)
    assert page.has("email") and page.has("login-submit")
    assert (
        client.post(
            "/pages/customerlogin.jsp", data=dict(zip(("email", "password"), ADMIN, strict=True))
        ).status_code
        == 303
    )


def test_administrator_lands_on_the_customer_list(client: httpx.Client) -> None:
    response = log_in(client, *ADMIN)
    assert response.headers["location"] == "/app/common/entity/custjoblist.nl"
    assert "NS_SESSION" in response.cookies
    page = Page(client.get("/app/common/entity/custjoblist.nl").text)
    assert page.text("ns-role") == "Administrator"
    assert "Jane Access" in page.text("row1001") and "noah@example.com" in page.text("row1002")


def test_customer_center_user_lands_on_customer_center_home(client: httpx.Client) -> None:
    response = log_in(client, *JANE)
    assert response.headers["location"] == "/app/center/card.nl?sc=-29"
    page = Page(client.get("/app/center/card.nl?sc=-29").text)
    assert page.text("ns-role") == "Customer Center"
    assert page.text("ns-login-email") == JANE[0]


@pytest.mark.parametrize(
    "email,password",
    [
        (JANE[0], "wrong-password"),
        ("nobody@example.com", "Center-Pass-11a"),
        ("noah@example.com", "anything"),
        ("", ""),
    ],
)
def test_wrong_credentials_show_the_invalid_login_message(
    client: httpx.Client, email: str, password: str
) -> None:
    page = Page(log_in(client, email, password).text)
    assert page.banner == ("error", "Error", INVALID_LOGIN)
    assert "NS_SESSION" not in client.cookies


def test_fifth_failed_login_locks_the_user_even_with_the_right_password(client: httpx.Client) -> None:
    for _ in range(4):
        assert Page(log_in(client, JANE[0], "wrong").text).banner == ("error", "Error", INVALID_LOGIN)
    fifth = Page(log_in(client, JANE[0], "wrong").text).banner
    assert fifth is not None and "locked" in fifth[2] and "30 minutes" in fifth[2]
    right = log_in(client, *JANE)
    assert right.status_code == 200 and "locked" in (Page(right.text).banner or ("", "", ""))[2]


def test_lock_ends_after_30_minutes(client: httpx.Client, sandbox: SandboxServer) -> None:
    for _ in range(5):
        log_in(client, JANE[0], "wrong")
    assert sandbox.store is not None
    sandbox.store.run("UPDATE ns_login_failures SET locked_until = ?", time.time() - 1)  # 30 minutes later
    assert log_in(client, *JANE).status_code == 303


def test_successful_login_resets_the_failure_count(
    fresh: Callable[[], httpx.Client], client: httpx.Client, sandbox: SandboxServer
) -> None:
    for _ in range(4):
        log_in(client, JANE[0], "wrong")
    assert log_in(client, *JANE).status_code == 303
    other = fresh()
    for _ in range(4):
        log_in(other, JANE[0], "wrong")
    assert log_in(other, *JANE).status_code == 303


def test_signed_out_user_is_sent_to_login_and_back_to_the_record(client: httpx.Client) -> None:
    response = client.get(EDIT_JANE)
    assert response.status_code == 302 and response.headers["location"].startswith("/app/login?redirect=")
    html = client.get(response.headers["location"]).text
    assert 'name="redirect" value="/app/common/entity/custjob.nl?id=1001&amp;e=T"' in html
    done = client.post("/app/login", data={"email": ADMIN[0], "password": ADMIN[1], "redirect": EDIT_JANE})
    assert done.headers["location"] == EDIT_JANE


def test_login_ignores_a_redirect_to_another_site(client: httpx.Client) -> None:
    done = client.post(
        "/app/login", data={"email": ADMIN[0], "password": ADMIN[1], "redirect": "//evil.example"}
    )
    assert done.headers["location"] == "/app/common/entity/custjoblist.nl"


def test_log_out_ends_the_session(admin: httpx.Client) -> None:
    assert admin.get("/pages/nllogoutnoback.jsp").headers["location"] == "/app/login"
    assert admin.get("/app/common/entity/custjoblist.nl").status_code == 302


def test_customer_center_user_cannot_open_customer_records(client: httpx.Client) -> None:
    log_in(client, *JANE)
    response = client.get(RECORD + "?id=1001")
    assert response.status_code == 403
    assert Page(response.text).banner == ("error", "Error", "You do not have privileges to view this page.")


# -- the customer record ---------------------------------------------------------------------------------


def test_view_shows_the_fields_and_an_edit_button_but_no_inputs(admin: httpx.Client) -> None:
    page = Page(admin.get(RECORD + "?id=1001").text)
    assert page.attrs("edit")["value"] == "Edit"
    assert page.text("email_fs") == JANE[0] and not page.has("email")
    assert page.text("entityid_fs") == "Jane Access"
    assert page.attrs("giveaccess_fs")["class"] == "checkbox_ck"
    assert page.text("accessrole_fs") == "Customer Center"
    assert not page.has("btn_multibutton_submitter")


def test_edit_form_has_netsuite_field_ids_and_labels(admin: httpx.Client) -> None:
    page = Page(admin.get(EDIT_JANE).text)
    assert page.by_id["main_form"][0] == "form"
    assert page.attrs("btn_multibutton_submitter")["value"] == "Save"
    assert page.attrs("secondarysubmitter")["value"] == "Save"
    expected = {
        "entityid": "Customer ID", "companyname": "Company Name", "firstname": "First Name",
        "lastname": "Last Name", "email": "Email", "phone": "Phone", "giveaccess": "Give Access",
        "accessrole": "Role", "sendemail": "Send New Access Notification Email",
        "fillpassword": "Manually Assign or Change Password", "password": "Password",
        "password2": "Confirm Password", "strength": "Password Strength",
    }  # fmt: skip
    assert {field: page.text(f"{field}_fs_lbl") for field in expected} == expected
    assert page.attrs("email")["value"] == JANE[0]
    assert page.attrs("giveaccess_fs_inp")["type"] == "checkbox" and "checked" in page.attrs(
        "giveaccess_fs_inp"
    )
    assert page.attrs("sendemail_fs")["class"] == "checkbox_unck"
    assert page.text("accessrole") == "Customer Center"
    assert page.text("accesstxt") == "Access" and "hidden" in page.attrs("access_div")
    assert page.by_id["strength"][0] == "span"


def test_edit_form_has_no_require_password_change_box(admin: httpx.Client) -> None:
    assert "Require Password Change" not in admin.get(EDIT_JANE).text


@pytest.mark.parametrize("record_id", ["9999", "abc", "", "1" * 40])
def test_unknown_record_says_it_does_not_exist(admin: httpx.Client, record_id: str) -> None:
    response = admin.get(RECORD, params={"id": record_id, "e": "T"})
    assert response.status_code == 404
    assert Page(response.text).banner == ("error", "Error", "That record does not exist.")
    assert admin.post(RECORD, params={"id": record_id}, data={"email": "x"}).status_code == 404


def test_changing_email_with_access_and_no_password_option_is_refused_by_alert(
    admin: httpx.Client, sandbox: SandboxServer
) -> None:
    response = save(admin, email=NEW_EMAIL)
    page = Page(response.text)
    assert response.status_code == 200
    assert page.dialog == NO_PASSWORD.format(NEW_EMAIL)
    assert page.banner is None
    assert customer(sandbox)["email"] == JANE[0]


def test_refused_form_keeps_the_edits_and_the_access_subtab(admin: httpx.Client) -> None:
    page = Page(save(admin, email=NEW_EMAIL, phone="555-9999").text)
    assert page.attrs("email")["value"] == NEW_EMAIL and page.attrs("phone")["value"] == "555-9999"
    assert "hidden" not in page.attrs("access_div")
    assert page.attrs("btn_multibutton_submitter")["value"] == "Save"


def test_refusal_is_an_error_banner_when_the_setting_says_banner(
    admin: httpx.Client, sandbox: SandboxServer
) -> None:
    admin.post(
        "/_sandbox/settings", json={"netsuite_refusal": "banner"}, headers=sandbox.control_headers
    ).raise_for_status()
    page = Page(save(admin, email=NEW_EMAIL).text)
    assert page.banner == ("error", "Error", NO_PASSWORD.format(NEW_EMAIL))
    assert page.dialog is None
    assert customer(sandbox)["email"] == JANE[0]


def test_giving_new_access_without_a_password_option_is_refused(
    admin: httpx.Client, sandbox: SandboxServer
) -> None:
    noah = {"id": "1002", "entityid": "Noah Noaccess", "firstname": "Noah", "lastname": "Noaccess",
            "email": "noah@example.com", "giveaccess": "T", "accessrole": "14"}  # fmt: skip
    page = Page(admin.post(RECORD + "?id=1002&e=T", data=noah).text)
    assert page.dialog == NO_PASSWORD.format("noah@example.com")
    assert customer(sandbox, 1002)["giveaccess"] == 0


def test_email_typed_in_capitals_is_quoted_as_typed(admin: httpx.Client) -> None:
    assert Page(save(admin, email="Jane.NEW@example.com").text).dialog == NO_PASSWORD.format(
        "Jane.NEW@example.com"
    )


def test_missing_required_fields_are_listed_in_an_alert(admin: httpx.Client) -> None:
    page = Page(save(admin, entityid="", lastname="", email="").text)
    assert page.dialog == "Please enter value(s) for: Customer ID, Last Name, Email"


def test_company_needs_a_company_name(admin: httpx.Client) -> None:
    assert Page(save(admin, isperson="F").text).dialog == "Please enter value(s) for: Company Name"


def test_manual_password_box_without_passwords_asks_for_them(admin: httpx.Client) -> None:
    page = Page(save(admin, fillpassword="T").text)
    assert page.dialog == "Please enter value(s) for: Password, Confirm Password"


def test_password_and_confirmation_that_differ_are_refused(
    admin: httpx.Client, sandbox: SandboxServer
) -> None:
    page = Page(save(admin, email=NEW_EMAIL, password=TEMP, password2=TEMP + "x", sendemail="T").text)
    assert page.dialog is not None and "do not match" in page.dialog
    assert customer(sandbox)["email"] == JANE[0] and mails(sandbox, NEW_EMAIL) == []


def test_weak_password_is_refused(admin: httpx.Client) -> None:
    page = Page(save(admin, email=NEW_EMAIL, password="short", password2="short", sendemail="T").text)
    assert page.dialog is not None and "too weak" in page.dialog and "10 characters" in page.dialog


def test_invalid_email_is_refused(admin: httpx.Client) -> None:
    page = Page(save(admin, email="not an email", sendemail="T").text)
    assert page.dialog == "Invalid email address: not an email. Please enter a valid email address."


def test_email_of_another_login_is_refused(admin: httpx.Client) -> None:
    page = Page(save(admin, email=ADMIN[0], sendemail="T").text)
    assert page.dialog is not None and "already used to log in" in page.dialog


def test_saving_an_unchanged_record_with_access_needs_no_password_option(
    fresh: Callable[[], httpx.Client], admin: httpx.Client, sandbox: SandboxServer
) -> None:
    response = save(admin, phone="555-7777")
    assert response.status_code == 303 and response.headers["location"] == RECORD + "?id=1001"
    assert customer(sandbox)["phone"] == "555-7777"
    assert log_in(fresh(), *JANE).status_code == 303


def test_option_1_saves_and_returns_to_the_view_with_a_confirmation(
    admin: httpx.Client, sandbox: SandboxServer
) -> None:
    response = save(admin, email=NEW_EMAIL, password=TEMP, password2=TEMP, sendemail="T")
    assert response.status_code == 303 and response.headers["location"] == RECORD + "?id=1001"
    page = Page(admin.get(response.headers["location"]).text)
    assert page.banner == ("confirmation", "Confirmation", "Record has been saved.")
    assert page.text("email_fs") == NEW_EMAIL
    assert Page(admin.get(RECORD + "?id=1001").text).banner is None  # shown once


def test_option_1_mails_a_new_access_notification_without_the_password(
    admin: httpx.Client, sandbox: SandboxServer
) -> None:
    save(admin, email=NEW_EMAIL, password=TEMP, password2=TEMP, sendemail="T")
    (mail,) = mails(sandbox, NEW_EMAIL)
    assert "Customer Center" in str(mail["subject"])
    assert TEMP not in str(mail["text"]) and "not included in this email" in str(mail["text"])
    assert mails(sandbox, JANE[0]) == []


def test_option_1_customer_logs_in_with_the_new_email_and_temporary_password(
    fresh: Callable[[], httpx.Client], admin: httpx.Client, sandbox: SandboxServer
) -> None:
    save(admin, email=NEW_EMAIL, password=TEMP, password2=TEMP, sendemail="T")
    assert log_in(fresh(), NEW_EMAIL, TEMP).headers["location"] == "/app/center/card.nl?sc=-29"
    assert Page(log_in(fresh(), *JANE).text).banner == ("error", "Error", INVALID_LOGIN)


def test_manual_password_alone_saves_without_sending_mail(
    fresh: Callable[[], httpx.Client], admin: httpx.Client, sandbox: SandboxServer
) -> None:
    assert save(admin, email=NEW_EMAIL, fillpassword="T", password=TEMP, password2=TEMP).status_code == 303
    assert mails(sandbox, NEW_EMAIL) == []
    assert log_in(fresh(), NEW_EMAIL, TEMP).status_code == 303


def test_option_1_signs_out_the_customer_from_the_old_login(
    fresh: Callable[[], httpx.Client], admin: httpx.Client, sandbox: SandboxServer
) -> None:
    jane = fresh()
    log_in(jane, *JANE)
    save(admin, email=NEW_EMAIL, password=TEMP, password2=TEMP, sendemail="T")
    assert jane.get("/app/center/card.nl?sc=-29").status_code == 302


def test_notification_without_password_mails_a_24_hour_setup_link(
    fresh: Callable[[], httpx.Client], admin: httpx.Client, sandbox: SandboxServer
) -> None:
    assert save(admin, email=NEW_EMAIL, sendemail="T").status_code == 303
    (mail,) = mails(sandbox, NEW_EMAIL)
    assert "24 hours" in str(mail["text"])
    links = [str(link) for link in mail["links"]]  # type: ignore[attr-defined]
    assert any("/app/login/setpassword.nl?token=" in link for link in links)
    assert Page(log_in(fresh(), NEW_EMAIL, JANE[1]).text).banner == ("error", "Error", INVALID_LOGIN)


def _setup_link(sandbox: SandboxServer, to: str) -> str:
    (mail,) = mails(sandbox, to)
    return next(str(link) for link in mail["links"] if "setpassword" in str(link))  # type: ignore[attr-defined]


def test_setup_link_sets_the_password_and_the_customer_can_log_in(
    fresh: Callable[[], httpx.Client], admin: httpx.Client, sandbox: SandboxServer
) -> None:
    save(admin, email=NEW_EMAIL, sendemail="T")
    link = _setup_link(sandbox, NEW_EMAIL)
    token = link.split("token=")[1]
    page = Page(httpx.get(link).text)
    assert page.text("ns-login-email") == NEW_EMAIL and page.has("password") and page.has("password2")
    done = httpx.post(link.split("?")[0], data={"token": token, "password": TEMP, "password2": TEMP})
    assert done.headers["location"] == "/app/login?passwordset=T"
    assert log_in(fresh(), NEW_EMAIL, TEMP).status_code == 303


def test_setup_link_refuses_mismatched_passwords(admin: httpx.Client, sandbox: SandboxServer) -> None:
    save(admin, email=NEW_EMAIL, sendemail="T")
    link = _setup_link(sandbox, NEW_EMAIL)
    page = Page(
        httpx.post(
            link.split("?")[0], data={"token": link.split("token=")[1], "password": TEMP, "password2": "x"}
        ).text
    )
    assert page.banner is not None and "do not match" in page.banner[2]


def test_used_setup_link_is_refused(admin: httpx.Client, sandbox: SandboxServer) -> None:
    save(admin, email=NEW_EMAIL, sendemail="T")
    link = _setup_link(sandbox, NEW_EMAIL)
    httpx.post(
        link.split("?")[0], data={"token": link.split("token=")[1], "password": TEMP, "password2": TEMP}
    )
    response = httpx.get(link)
    assert (
        response.status_code == 404 and "already been used" in (Page(response.text).banner or ("", "", ""))[2]
    )


def test_option_3_removes_access_and_the_old_login_stops_working(
    fresh: Callable[[], httpx.Client], admin: httpx.Client, sandbox: SandboxServer
) -> None:
    response = save(admin, giveaccess=UNTICKED, email=NEW_EMAIL)
    assert response.status_code == 303
    assert Page(admin.get(RECORD + "?id=1001").text).attrs("giveaccess_fs")["class"] == "checkbox_unck"
    assert customer(sandbox)["email"] == NEW_EMAIL
    assert Page(log_in(fresh(), *JANE).text).banner == ("error", "Error", INVALID_LOGIN)
    assert Page(log_in(fresh(), NEW_EMAIL, JANE[1]).text).banner == ("error", "Error", INVALID_LOGIN)
    assert mails(sandbox, NEW_EMAIL) == []


def test_unparseable_save_body_gives_the_required_fields_alert(admin: httpx.Client) -> None:
    response = admin.post(
        EDIT_JANE, content=b"\xff\xfe--garbage", headers={"content-type": "multipart/form-data; boundary=x"}
    )
    assert response.status_code == 200
    assert (Page(response.text).dialog or "").startswith("Please enter value(s) for: Customer ID")


# -- the Customer Center ---------------------------------------------------------------------------------


@pytest.fixture
def jane(client: httpx.Client) -> httpx.Client:
    assert log_in(client, *JANE).status_code == 303
    return client


def change_email(client: httpx.Client, **values: str) -> httpx.Response:
    data = {"currentpassword": JANE[1], "newemail": NEW_EMAIL, "newemail2": NEW_EMAIL, "justthisaccount": "T"}
    data.update(values)
    return client.post("/app/center/changeemail.nl", data=data)


def test_home_has_a_settings_portlet_with_change_email(jane: httpx.Client) -> None:
    page = Page(jane.get("/app/center/card.nl?sc=-29").text)
    assert page.text("settings_portlet_title") == "Settings"
    assert page.text("changeemail") == "Change Email"
    assert page.attrs("changeemail")["href"] == "/app/center/changeemail.nl"


def test_change_email_page_has_the_fields_and_just_this_account_on(jane: httpx.Client) -> None:
    page = Page(jane.get("/app/center/changeemail.nl").text)
    labels = [
        page.text(f"{f}_fs_lbl") for f in ("currentpassword", "newemail", "newemail2", "justthisaccount")
    ]
    assert labels == ["Current Password", "New Email Address", "Confirm New Email", "Just This Account"]
    assert "checked" in page.attrs("justthisaccount_fs_inp")
    assert page.attrs("btn_multibutton_submitter")["value"] == "Save"
    assert page.text("pendingemail") == ""


def test_change_email_with_wrong_current_password_is_refused(
    jane: httpx.Client, sandbox: SandboxServer
) -> None:
    page = Page(change_email(jane, currentpassword="wrong").text)
    assert page.banner == (
        "error",
        "Error",
        "The current password you entered is incorrect. Please try again.",
    )
    assert mails(sandbox, NEW_EMAIL) == []


def test_change_email_with_different_confirmation_is_refused(jane: httpx.Client) -> None:
    page = Page(change_email(jane, newemail2="other@example.com").text)
    assert page.banner is not None and page.banner[0] == "error" and "do not match" in page.banner[2]
    assert page.attrs("newemail")["value"] == NEW_EMAIL


def test_change_email_with_empty_fields_alerts_them(jane: httpx.Client) -> None:
    page = Page(change_email(jane, currentpassword="", newemail2="").text)
    assert page.dialog == "Please enter value(s) for: Current Password, Confirm New Email"


def test_change_email_to_an_invalid_address_is_refused(jane: httpx.Client) -> None:
    page = Page(change_email(jane, newemail="bad@", newemail2="bad@").text)
    assert page.banner is not None and "valid email address" in page.banner[2]


def test_change_email_shows_the_green_confirmation_and_the_pending_change(jane: httpx.Client) -> None:
    response = change_email(jane)
    assert response.headers["location"] == "/app/center/changeemail.nl"
    page = Page(jane.get("/app/center/changeemail.nl").text)
    assert page.banner == ("confirmation", "Confirmation", VALIDATION_SENT.format(NEW_EMAIL))
    assert page.text("pendingemail") == NEW_EMAIL


def test_change_email_mails_a_notice_to_the_old_address_and_a_link_to_the_new(
    jane: httpx.Client, sandbox: SandboxServer
) -> None:
    change_email(jane)
    (notice,) = mails(sandbox, JANE[0])
    assert NEW_EMAIL in str(notice["text"]) and notice["links"] == []
    (validation,) = mails(sandbox, NEW_EMAIL)
    assert any("/app/center/validateemail.nl?token=" in str(link) for link in validation["links"])  # type: ignore[attr-defined]


def test_old_email_keeps_working_until_the_link_is_used(
    fresh: Callable[[], httpx.Client], jane: httpx.Client, sandbox: SandboxServer
) -> None:
    change_email(jane)
    assert log_in(fresh(), *JANE).status_code == 303
    assert log_in(fresh(), NEW_EMAIL, JANE[1]).status_code == 200


def _validation_link(sandbox: SandboxServer) -> str:
    (mail,) = mails(sandbox, NEW_EMAIL)
    return str(mail["links"][0])  # type: ignore[index]


def test_validation_link_completes_the_change(
    fresh: Callable[[], httpx.Client], jane: httpx.Client, sandbox: SandboxServer
) -> None:
    change_email(jane)
    page = Page(httpx.get(_validation_link(sandbox)).text)
    assert page.banner is not None and page.banner[:2] == ("confirmation", "Confirmation")
    assert "successfully validated" in page.banner[2] and NEW_EMAIL in page.banner[2]
    assert log_in(fresh(), NEW_EMAIL, JANE[1]).status_code == 303
    assert log_in(fresh(), *JANE).status_code == 200
    assert Page(jane.get("/app/center/changeemail.nl").text).text("pendingemail") == ""


def test_used_or_unknown_validation_link_is_refused(jane: httpx.Client, sandbox: SandboxServer) -> None:
    change_email(jane)
    link = _validation_link(sandbox)
    httpx.get(link)
    for url in (link, link.split("?")[0] + "?token=nonsense", link.split("?")[0]):
        response = httpx.get(url)
        assert response.status_code == 404
        assert "not valid" in (Page(response.text).banner or ("", "", ""))[2]


def test_a_newer_change_request_replaces_the_earlier_link(jane: httpx.Client, sandbox: SandboxServer) -> None:
    change_email(jane)
    first = _validation_link(sandbox)
    change_email(jane, newemail="third@example.com", newemail2="third@example.com")
    assert httpx.get(first).status_code == 404
    assert Page(jane.get("/app/center/changeemail.nl").text).text("pendingemail") == "third@example.com"


def test_change_password_replaces_the_password(
    fresh: Callable[[], httpx.Client], jane: httpx.Client, sandbox: SandboxServer
) -> None:
    response = jane.post(
        "/app/center/changepwd.nl", data={"currentpassword": JANE[1], "password": TEMP, "password2": TEMP}
    )
    assert response.headers["location"] == "/app/center/changepwd.nl"
    assert Page(jane.get("/app/center/changepwd.nl").text).banner == (
        "confirmation", "Confirmation", "Your password has been changed.",
    )  # fmt: skip
    assert log_in(fresh(), JANE[0], TEMP).status_code == 303


def test_change_password_with_wrong_current_password_is_refused(jane: httpx.Client) -> None:
    page = Page(
        jane.post(
            "/app/center/changepwd.nl", data={"currentpassword": "x", "password": TEMP, "password2": TEMP}
        ).text
    )
    assert page.banner == (
        "error",
        "Error",
        "The current password you entered is incorrect. Please try again.",
    )


def test_administrator_cannot_open_the_customer_center(admin: httpx.Client) -> None:
    assert admin.get("/app/center/changeemail.nl").status_code == 403


def test_admin_changing_the_email_cancels_a_pending_change(
    fresh: Callable[[], httpx.Client], jane: httpx.Client, sandbox: SandboxServer
) -> None:
    change_email(jane)
    link = _validation_link(sandbox)
    admin = fresh()
    log_in(admin, *ADMIN)
    save(admin, email="jane.other@example.com", password=TEMP, password2=TEMP)
    assert httpx.get(link).status_code == 404
    assert customer(sandbox)["email"] == "jane.other@example.com"


@pytest.mark.parametrize(
    "who,route",
    [
        ("admin", EDIT_JANE),
        ("admin", "/app/login"),
        ("jane", "/app/center/changeemail.nl"),
        ("jane", "/app/center/changepwd.nl"),
        ("jane", "/app/login/setpassword.nl"),
    ],
)
@pytest.mark.parametrize(
    "body,content_type",
    [
        (b"\xff\xfe\x00=\xff", "application/x-www-form-urlencoded"),
        (b"--x\r\nbroken", "multipart/form-data; boundary=x"),
        (b'{"email": 1}', "application/json"),
    ],
)
def test_unparseable_bodies_never_give_a_server_error(
    fresh: Callable[[], httpx.Client],
    sandbox: SandboxServer,
    who: str,
    route: str,
    body: bytes,
    content_type: str,
) -> None:
    client = fresh()
    log_in(client, *(ADMIN if who == "admin" else JANE))
    response = client.post(route, content=body, headers={"content-type": content_type})
    assert response.status_code < 500
    assert "Traceback" not in response.text
