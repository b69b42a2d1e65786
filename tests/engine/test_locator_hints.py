"""A locator that matches nothing: the failure names the page's nearest names of that kind, in real Chromium."""

from __future__ import annotations

from collections.abc import Callable

from automation.result import RunResult

OUTCOMES = "outcomes: {done: {status: resolved}}\n"


def failed_step_error(result: RunResult) -> str:
    assert result.status == "failed", result
    step = next(s for s in result.steps if s.status == "failed")
    return step.error or ""


def test_a_wrong_label_suggests_the_pages_label(lab_run: Callable[..., RunResult]) -> None:
    result = lab_run(
        OUTCOMES + "steps:\n  - goto: /\n  - fill: {label: Nmae}\n    with: Ada\n    timeout: 1s\n"
    )
    error = failed_step_error(result)
    assert "did you mean 'Name'?" in error
    assert "'Agree'" in error and "'Colour'" in error  # the other fields' labels, not the buttons' names
    assert "'Greet'" not in error


def test_a_wrong_button_name_lists_the_buttons(lab_run: Callable[..., RunResult]) -> None:
    result = lab_run(
        OUTCOMES + "steps:\n  - goto: /\n  - click: {role: button, name: Gret}\n    timeout: 1s\n"
    )
    error = failed_step_error(result)
    assert "did you mean 'Greet'?" in error and "'Save'" in error and "'Delete'" in error
    assert "'Name'" not in error
