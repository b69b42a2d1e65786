"""Default step labels read as a support agent says them on the phone, for every kind of step."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import TypeAdapter

from automation.schema import ACTIONS, Step
from automation.step_labels import BRANCH_LABEL_MAX, describe_step

STEP: TypeAdapter[Any] = TypeAdapter(Step)


def label(step: dict[str, Any]) -> str:
    return describe_step(STEP.validate_python(step))


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        ({"goto": "/auth/login"}, "Open /auth/login"),
        ({"goto": "{{ reset_link }}"}, "Open the reset link"),
        ({"fill": {"label": "New Password", "exact": True}, "with": "x"}, "Fill New Password"),
        ({"fill": {"role": "textbox", "name": "Email"}, "with": "x"}, "Fill Email"),
        ({"fill": {"placeholder": "Search"}, "with": "x"}, "Fill Search"),
        ({"fill": {"css": "#email"}, "with": "x"}, 'Fill the element "#email"'),
        ({"click": {"role": "link", "name": "Need Help"}}, "Click the Need Help link"),
        ({"click": {"role": "button", "name": "Send Reset Link"}}, "Click the Send Reset Link button"),
        ({"click": {"role": "button"}}, "Click the button"),
        ({"click": {"text": "Forgot password?"}}, 'Click "Forgot password?"'),
        ({"click": {"test_id": "save"}}, 'Click the element with test id "save"'),
        ({"click": {"title": "Close"}}, 'Click the element titled "Close"'),
        ({"click": {"css": "li.row", "nth": 1}}, 'Click the element "li.row" (the 2nd one)'),
        ({"select": {"label": "Country"}, "option": "Canada"}, 'Choose "Canada" in Country'),
        ({"check": {"label": "I agree"}}, "Tick I agree"),
        ({"uncheck": {"role": "checkbox", "name": "Newsletter"}}, "Untick Newsletter"),
        ({"press": "Enter"}, "Press Enter"),
        ({"press": "Enter", "on": {"label": "Code"}}, "Press Enter in Code"),
        ({"screenshot": "after-save"}, "Take a screenshot (after-save)"),
        (
            {"expect": {"text": "Your password has been reset."}},
            'Check that the page shows "Your password has been reset."',
        ),
        (
            {"expect": {"visible": {"role": "heading", "name": "My Account"}}},
            "Check that the My Account heading is shown",
        ),
        ({"expect": {"hidden": {"role": "alert"}}}, "Check that the alert is gone"),
        ({"expect": {"url": "/account"}}, "Check that the page is /account"),
        ({"expect": {"value": "a@b.c", "of": {"label": "Email"}}}, 'Check that Email holds "a@b.c"'),
        (
            {"expect": {"contains": "Saved", "of": {"css": ".flash"}}},
            'Check that the element ".flash" says "Saved"',
        ),
        ({"wait": {"dialog": "Are you sure"}}, 'Wait until a dialog says "Are you sure"'),
        ({"wait": {"text": "Done"}}, 'Wait until the page shows "Done"'),
        ({"dialog": "accept"}, "Accept the dialog"),
        ({"dialog": "dismiss", "message": "Delete?"}, 'Dismiss the dialog that says "Delete?"'),
        ({"extract": {"css": "#order"}, "into": "order"}, 'Read the element "#order" into order'),
        (
            {"ask": "code", "prompt": "The code from the customer's email"},
            "The code from the customer's email",
        ),
        (
            {"say": "Verify the customer's email while they are on the phone."},
            "Verify the customer's email while they are on the phone.",
        ),
        ({"use": "reset-password"}, "Run the reset-password procedure"),
        (
            {"escalate": {"queue": "customer-portal-chat", "title": "t"}},
            "Open a ticket in the customer-portal-chat queue",
        ),
        ({"end": "password-reset"}, "Finish with outcome password-reset"),
        (
            {
                "branch": {
                    "when": [{"text": "Something went wrong", "end": "escalated"}, {"text": "we sent a link"}]
                }
            },
            'Decide: the page shows "Something went wrong" or the page shows "we sent a link"',
        ),
        (
            {"branch": {"when": [{"equals": {"can_log_in": "yes"}, "end": "fixed"}]}},
            "Decide: can log in is yes",
        ),
        (
            {"branch": {"when": [{"visible": {"role": "alert"}}], "else": {"end": "broken"}}},
            "Decide: the alert is shown or otherwise",
        ),
    ],
)
def test_default_label_reads_as_plain_english(step: dict[str, Any], expected: str) -> None:
    assert label(step) == expected


def test_every_step_kind_has_a_plain_english_default() -> None:
    from automation.step_labels import _NAMERS

    assert set(_NAMERS) == set(ACTIONS)


def test_a_branch_with_long_arms_is_named_without_them() -> None:
    arms = [{"text": f"A rather long message the page may show, number {n}"} for n in range(3)]
    named = label({"branch": {"when": arms}})
    assert named == "Decide what to do next (3 possibilities)" and len(named) <= BRANCH_LABEL_MAX


def test_a_fill_label_never_carries_its_value() -> None:
    named = label({"fill": {"label": "Password"}, "with": "Hunter-2-secret", "secret": True})
    assert named == "Fill Password" and "Hunter" not in named


def test_no_default_label_reads_as_code() -> None:
    """None of the code forms an agent saw before (role=..., label="...", a bare action name)."""
    steps = [
        {"click": {"role": "link", "name": "Need Help"}},
        {"fill": {"label": "New Password"}, "with": "x"},
        {"branch": {"when": [{"text": "x"}]}},
        {"use": "reset-password"},
        {"end": "password-reset"},
    ]
    for step in steps:
        named = label(step)
        assert "role=" not in named and 'label="' not in named and named[0].isupper(), named
