"""The run's screenshot policy: a picture per page-changing step (default), only the failing step's, or none."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from automation.errors import InputValueError
from automation.result import RunResult

Run = Callable[..., RunResult]
OUTCOMES = "outcomes:\n  done: {status: resolved}\n"
PASSES = (
    OUTCOMES
    + "steps:\n  - goto: /index.html\n  - screenshot: front page\n  - goto: /index.html\n  - end: done\n"
)
FAILS = (
    OUTCOMES
    + "steps:\n  - goto: /index.html\n  - expect: {text: this never appears}\n    timeout: 1s\n  - end: done\n"
)


def pictures(result: RunResult) -> list[str]:
    return sorted(p.name for p in (Path(result.evidence_dir) / "screenshots").glob("*.png"))


def test_by_default_every_page_changing_step_has_its_picture(lab_run: Run) -> None:
    assert pictures(lab_run(PASSES)) == [
        "001-open-index-html.png",
        "002-screenshot-front-page.png",
        "003-open-index-html.png",
    ]


def test_on_failure_a_passing_run_keeps_only_its_explicit_screenshot_steps(lab_run: Run) -> None:
    result = lab_run(PASSES, screenshots="on-failure")
    assert result.status == "passed" and pictures(result) == ["002-screenshot-front-page.png"]


def test_on_failure_the_failing_step_still_has_its_picture(lab_run: Run) -> None:
    result = lab_run(FAILS, screenshots="on-failure")
    assert result.status == "failed"
    assert [p[:3] for p in pictures(result)] == ["002"]
    assert result.steps[1].screenshot and result.steps[0].screenshot is None


def test_off_takes_no_picture_and_keeps_the_rest_of_the_evidence(lab_run: Run) -> None:
    result = lab_run(FAILS, screenshots="off")
    assert result.status == "failed" and pictures(result) == []
    assert (Path(result.evidence_dir) / "run.json").exists() and (
        Path(result.evidence_dir) / "trace.zip"
    ).exists()


def test_an_unknown_policy_is_refused_before_a_browser_starts(lab_run: Run) -> None:
    with pytest.raises(InputValueError, match="'sometimes' is not one of each-step, on-failure, off"):
        lab_run(PASSES, screenshots="sometimes")
