"""Screenshots never show a secret: a field the page pre-filled with one is masked, and so is a field typed one
into whatever the page makes of its value; a screenshot taken before a value turned out to be secret is withheld
(and its step says so); a value too short to mask is refused. Taking them leaves no action in the trace.

"Masked" is read back from the pictures (tests/support/pictures.py): every place the page showed the secret is
covered by the mask colour, OCR reads the secret on an unmasked picture of the same page, and not on the kept
picture."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from support.pictures import PictureSpy, check_pictures

from automation.engine.shots import WITHHELD
from automation.evidence.viewer import actions
from automation.redaction.scan import find_secrets
from automation.result import RunResult

TOKEN = "Pre-Filled-Token-6620"
CODE = "48213957"  # what secrets.html shows as the one-time code
OUTCOMES = "outcomes:\n  done: {status: resolved}\n"


def assert_pictures_hide(result: RunResult, spy: PictureSpy, *secrets: str, places: int) -> None:
    """Every picture of the run hides `secrets` from a reader, and the page showed them in `places` places."""
    report = check_pictures(Path(result.evidence_dir), spy, secrets)
    assert not report.problems, report.problems
    assert report.places == places and report.controls > 0 and report.read == report.pictures, report


def test_a_field_pre_filled_with_a_secret_is_masked(
    lab_run: Callable[..., RunResult], picture_spy: PictureSpy
) -> None:
    result = lab_run(
        OUTCOMES + "inputs:\n  token: {type: secret}\nsteps:\n  - goto: '/secrets.html#{{ token }}'\n",
        inputs={"token": TOKEN},
    )

    assert result.status == "passed", result.error
    assert (Path(result.evidence_dir) / (result.steps[0].screenshot or "")).is_file()
    assert_pictures_hide(result, picture_spy, TOKEN, places=1)


def test_a_screenshot_taken_before_a_value_turned_secret_is_withheld(
    lab_run: Callable[..., RunResult], picture_spy: PictureSpy
) -> None:
    result = lab_run(
        OUTCOMES + "steps:\n"
        "  - goto: /secrets.html\n"
        "  - extract: {css: '#code'}\n    into: code\n    secret: true\n"
        "  - screenshot: after\n"
    )

    assert result.status == "passed", result.error
    before, _, after = result.steps
    assert before.screenshot is None and WITHHELD in (before.detail or "")
    assert after.screenshot
    assert_pictures_hide(result, picture_spy, CODE, places=1)
    folder = Path(result.evidence_dir)
    assert [p.name for p in (folder / "screenshots").iterdir()] == [Path(after.screenshot).name]
    assert not find_secrets(folder, [CODE]), "the report, run.json and trace carry no picture or text of it"
    assert WITHHELD in (folder / "report.html").read_text()


def test_an_extracted_secret_too_short_to_mask_fails_the_step_saying_why(
    lab_run: Callable[..., RunResult],
) -> None:
    result = lab_run(
        OUTCOMES
        + "steps:\n  - goto: /secrets.html\n  - extract: {css: '#short'}\n    into: pin\n    secret: true\n"
    )

    assert result.status == "failed"
    failed = result.steps[1]
    assert failed.status == "failed" and "at least 4 characters" in (failed.error or "")
    assert "cannot be kept secret" in (result.error or "")


def test_a_field_typed_a_secret_into_stays_masked_when_the_page_reformats_its_value(
    lab_run: Callable[..., RunResult], picture_spy: PictureSpy
) -> None:
    result = lab_run(
        OUTCOMES + "inputs:\n  pin: {type: secret}\nsteps:\n"
        "  - goto: /formats.html\n  - fill: {label: Phone}\n    with: '{{ pin }}'\n  - screenshot: formatted\n",
        inputs={"pin": "5551234567"},
    )

    assert result.status == "passed", result.error
    assert all(step.screenshot for step in result.steps), result.steps
    # What the page shows of it, in two places: the field in the fill's picture and in the screenshot's.
    assert_pictures_hide(result, picture_spy, "5551234567", "(555) 123-4567", places=2)


def test_the_trace_lists_the_steps_not_the_engine_looking_at_the_page(
    lab_run: Callable[..., RunResult],
) -> None:
    """Taking pictures (reading the page, masking, capturing) happens outside the trace: a person reading its
    actions sees the steps of the run, each picture costing no action of its own."""
    result = lab_run(
        OUTCOMES + "inputs:\n  token: {type: secret}\nsteps:\n"
        "  - goto: '/secrets.html#{{ token }}'\n  - fill: {label: Kept}\n    with: changed\n"
        "  - screenshot: filled\n",
        inputs={"token": TOKEN},
    )

    assert result.status == "passed", result.error
    assert all(step.screenshot for step in result.steps)
    listed = actions(Path(result.evidence_dir) / "trace.zip")
    assert "Navigate" in listed and 'Fill "changed"' in listed
    assert "Screenshot" not in listed and "Evaluate" not in listed, listed


def test_a_step_that_left_the_page_as_it_was_points_to_the_same_picture_and_one_that_changed_a_colour_does_not(
    lab_run: Callable[..., RunResult],
) -> None:
    result = lab_run(
        OUTCOMES + "steps:\n  - goto: /looks.html\n  - click: {role: button, name: Nothing}\n"
        "  - click: {role: button, name: Nothing}\n  - click: {role: button, name: Colour}\n"
        "  - screenshot: asked-for\n"
    )

    assert result.status == "passed", result.error
    opened, nothing, again, colour, asked = result.steps
    assert nothing.screenshot and again.screenshot == nothing.screenshot
    assert again.picture_note == "same screenshot as step 2 (the page did not change)"
    assert "same screenshot" not in (again.detail or ""), "a note for the evidence, not the live step line"
    assert colour.screenshot not in (None, nothing.screenshot) and opened.screenshot != nothing.screenshot
    assert asked.screenshot not in (None, colour.screenshot), "a screenshot: step gets a picture of its own"
    pictures = sorted(p.name for p in (Path(result.evidence_dir) / "screenshots").iterdir())
    assert pictures == sorted({Path(s.screenshot or "").name for s in result.steps}), "one file per picture"
    assert "same screenshot as step 2" in (Path(result.evidence_dir) / "report.html").read_text()


def test_a_step_that_changed_only_a_style_sheet_gets_a_picture_of_its_own(
    lab_run: Callable[..., RunResult],
) -> None:
    """A script editing a style sheet changes no markup: the page still looks different, so it is pictured.
    (The same button twice: the focus does not move, only the box's colour does.)"""
    result = lab_run(
        OUTCOMES + "steps:\n  - goto: /looks.html\n  - click: {role: button, name: Sheet}\n"
        "  - click: {role: button, name: Sheet}\n"
    )

    assert result.status == "passed", result.error
    _, blue, green = result.steps
    assert green.screenshot not in (None, blue.screenshot) and not green.picture_note, green
