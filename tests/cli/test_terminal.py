"""What the agent reads in the terminal: the live step lines and the run's closing lines."""

from __future__ import annotations

import io

import pytest

from automation.cli.terminal import ConsoleReporter, render_result
from automation.result import RunResult, StepRecord

SAME_PICTURE = "same screenshot as step 3 (the page did not change)"


def line_of(record: StepRecord) -> str:
    out = io.StringIO()
    ConsoleReporter(out).step_finished(record)
    return out.getvalue()


def a_result(**changes: object) -> RunResult:
    fields: dict[str, object] = {
        "run_id": "20260101-120000-admin-login-ab12",
        "runbook": "admin-login",
        "status": "passed",
        "outcome": "signed-in",
        "summary": "The login works.",
        "evidence_dir": "/srv/runbook/traces/20260101-120000-admin-login-ab12",
        "artifacts": {},
    }
    return RunResult(**{**fields, **changes})  # type: ignore[arg-type]


def test_a_branch_line_shows_the_arm_taken_but_not_the_picture_note() -> None:
    record = StepRecord(
        "4",
        "branch",
        "Was the reset link sent?",
        detail='took: the page shows "sent"',
        picture_note=SAME_PICTURE,
    )
    line = line_of(record)
    assert "Was the reset link sent?" in line and 'took: the page shows "sent"' in line
    assert "same screenshot" not in line


def test_a_click_with_only_a_picture_note_is_one_line() -> None:
    line = line_of(StepRecord("5", "click", "Click the Need Help link", picture_note=SAME_PICTURE))
    assert line.count("\n") == 1 and "same screenshot" not in line


def test_the_closing_lines_link_to_the_run_on_the_console(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNBOOK_PUBLIC_URL", "https://runbook.example.com/")
    text = render_result(a_result())
    assert (
        "  console:  https://runbook.example.com/runs/20260101-120000-admin-login-ab12" in text.splitlines()
    )


def test_without_a_public_url_the_closing_lines_have_no_console_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RUNBOOK_PUBLIC_URL", raising=False)
    assert "console:" not in render_result(a_result())


def test_a_wrong_public_url_is_named_in_the_closing_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNBOOK_PUBLIC_URL", "runbook.example.com")
    text = render_result(a_result())
    assert "console:  not linked: RUNBOOK_PUBLIC_URL='runbook.example.com' is not an http(s) address" in text
    assert "evidence:" in text
