"""Each kept picture shows the page after its own step: not before it, not after the next one (issue 23).

The lab page colours.html paints the whole page in the N-th colour of a fixed list at each change, so a picture
says by its colour alone which page it shows: step N's picture in colour N. A picture taken before its step's
action finished shows the step before's colour, one taken too late shows a later step's, one reused shows the
colour of the step it was taken for. Pictures are read back as pixels (support/png.py), in a corner of the page
that holds no text and no mask.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

from support.png import read_png

from automation.result import RunResult, StepRecord

Run = Callable[..., RunResult]
PAGE = Path(__file__).parents[1] / "sites" / "lab" / "colours.html"


def page_colours() -> list[str]:
    """The page's own list, read from it: the test and the page cannot disagree on what colour N is."""
    found = re.search(r"const COLOURS = (\[.*?\]);", PAGE.read_text())
    assert found, f"{PAGE.name} has no COLOURS list"
    return [str(colour) for colour in json.loads(found.group(1))]


COLOURS = page_colours()
CORNER = 0.1  # the bottom-right tenth of the picture, each way: no text, no field, no mask is drawn there
SAME = 0.98  # share of the corner's pixels in one colour for the picture to show it
OUTCOMES = "outcomes:\n  done: {status: resolved}\n"
NEXT = "  - click: {role: button, name: Next}\n"
# Colour 3 after three clicks, then a click on a button the page does not have.
FAILS = (
    OUTCOMES + "steps:\n  - goto: /colours.html\n" + NEXT * 3 + "  - click: {role: button, name: Missing}\n"
    "    timeout: 1s\n  - end: done\n"
)


def rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def colour_shown(picture_file: Path) -> int | str:
    """The number of the colour the picture shows in its bottom-right corner, or what is there instead."""
    picture = read_png(picture_file.read_bytes())
    corner = (
        int(picture.width * (1 - CORNER)),
        int(picture.height * (1 - CORNER)),
        picture.width,
        picture.height,
    )
    for number, colour in enumerate(COLOURS):
        painted, total = picture.share_of(rgb(colour), *corner)
        if total and painted >= SAME * total:
            return number
    corner_pixel = picture.pixel(picture.width - 1, picture.height - 1)
    return f"no colour of the list (rgb{corner_pixel} at its corner)"


def wrong_page(shown: int | str, wanted: set[int]) -> str:
    """What a picture in the wrong colour means for the evidence."""
    if isinstance(shown, int) and shown > max(wanted):
        return f"colour {shown}, a later step's: taken too late (wanted {sorted(wanted)})"
    if isinstance(shown, int):
        return f"colour {shown}, an earlier step's: taken too early, or reused (wanted {sorted(wanted)})"
    return f"{shown} (wanted {sorted(wanted)})"


def picture_of(result: RunResult, step: StepRecord) -> Path:
    assert step.screenshot, f"step {step.number} ({step.label}) has no picture: {step.detail}"
    return Path(result.evidence_dir) / step.screenshot


def pictures(result: RunResult) -> list[str]:
    return sorted(p.name for p in (Path(result.evidence_dir) / "screenshots").glob("*.png"))


def test_each_kept_picture_shows_the_page_after_its_step(lab_run: Run) -> None:
    """A change made while the click is handled, one landing after it, a new document, a field's input: each
    step's picture is in the colour its step left, never the colour of a step before or after it."""
    result = lab_run(
        OUTCOMES + "steps:\n"
        "  - goto: /colours.html\n"  # 1: colour 0
        + NEXT  # 2: colour 1, painted while the click is handled
        + NEXT  # 3: colour 2, the same button again (the same focus)
        + "  - click: {role: button, name: Later}\n"  # 4: colour 3 lands half a second after the click
        "  - expect: {text: Colour 3}\n"  # 5: waits for it
        "  - screenshot: colour three\n"  # 6: colour 3
        "  - click: {role: link, name: Onward}\n"  # 7: a new document, colour 4
        "  - fill: {label: Colour number}\n    with: '5'\n"  # 8: colour 5, painted on the field's input
        + NEXT  # 9: colour 6
        + "  - end: done\n"
    )

    assert result.status == "passed", result.error
    # Step number -> the colours its picture may show. The later click's picture is taken after the click was
    # handled: its colour may not have landed yet (2), or have landed (3); never step 7's (4).
    wanted = {"1": {0}, "2": {1}, "3": {2}, "4": {2, 3}, "5": {3}, "6": {3}, "7": {4}, "8": {5}, "9": {6}}
    shown = {s.number: colour_shown(picture_of(result, s)) for s in result.steps if s.screenshot}
    wrong = {
        number: wrong_page(shown[number], wanted[number])
        for number in shown
        if shown[number] not in wanted[number]
    }
    assert not wrong, f"pictures of the wrong page: {wrong}"
    # Every step that changes the page has a picture. One may point to an earlier step's ("same screenshot as
    # step N") when the page had not changed yet: its colour, checked above, says whether that was true.
    pictured = [s.number for s in result.steps if s.screenshot]
    assert [n for n in pictured if n != "5"] == [n for n in wanted if n != "5"], result.steps
    assert len(pictures(result)) == len({s.screenshot for s in result.steps if s.screenshot}), (
        "no stray picture"
    )


def assert_failure_pictured_on_its_own(result: RunResult) -> Path:
    """The failing click (step 5, after colour 3) has a picture file of its own, in colour 3, that the failure
    message and the report's failure section name; returns it."""
    assert result.status == "failed", result.error
    before, failed = result.steps[3], result.steps[4]
    assert failed.status == "failed" and "Missing" in (failed.locator or ""), failed
    picture = picture_of(result, failed)
    assert picture.name.startswith("005-") and picture.is_file(), f"step 5's picture is {failed.screenshot}"
    assert failed.screenshot != before.screenshot and not failed.picture_note, "its own picture, not step 4's"
    assert colour_shown(picture) == 3
    assert f"screenshot: {failed.screenshot}" in (result.error or ""), result.error
    report = (Path(result.evidence_dir) / "report.html").read_text()
    section = re.search(r'<section class="failure" id="error">.*?</section>', report, re.S)
    assert section and f'href="screenshots/{picture.name}"' in section.group(0), (
        "the report's failure shows it"
    )
    return picture


def test_a_failing_step_gets_a_picture_of_its_own_showing_the_page_it_failed_on(lab_run: Run) -> None:
    result = lab_run(FAILS)

    picture = assert_failure_pictured_on_its_own(result)
    assert colour_shown(picture_of(result, result.steps[3])) == 3, "the step before shows the same page"
    assert pictures(result)[-1] == picture.name and len(pictures(result)) == 5


def test_on_failure_only_the_failing_steps_picture_is_kept_and_it_shows_its_page(lab_run: Run) -> None:
    result = lab_run(FAILS, screenshots="on-failure")

    picture = assert_failure_pictured_on_its_own(result)
    assert pictures(result) == [picture.name]
    assert [s.number for s in result.steps if s.screenshot] == ["5"]
