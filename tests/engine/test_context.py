"""The run's pictures (RunContext.screenshot): no picture of a page that shows nothing yet, in Chromium."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from automation.result import RunResult

Run = Callable[..., RunResult]
# An agent's questions first, then the page: the steps before the goto run on Chromium's blank page.
ASKS_FIRST = """outcomes:
  done: {status: resolved}
steps:
  - ask: ready
    kind: yes_no
    prompt: Is the customer on the phone?
  - branch:
      when:
        - equals: {ready: yes}
          steps:
            - say: Go on with the customer.
      else: {}
    label: Is the customer there?
  - goto: /index.html
  - end: done
"""
FAILS_BEFORE_GOTO = """outcomes:
  done: {status: resolved}
steps:
  - expect: {text: this never appears}
    timeout: 1s
  - goto: /index.html
  - end: done
"""


def pictures(result: RunResult) -> list[str]:
    return sorted(p.name for p in (Path(result.evidence_dir) / "screenshots").glob("*.png"))


def run_json_steps(result: RunResult) -> dict[str, dict[str, object]]:
    data = json.loads((Path(result.evidence_dir) / "run.json").read_text())
    return {step["number"]: step for step in data["steps"]}


def test_steps_before_the_first_navigation_keep_no_picture_of_the_blank_page(lab_run: Run) -> None:
    result = lab_run(ASKS_FIRST, answers={"ready": "yes"})
    assert result.status == "passed"
    assert pictures(result) == ["003-open-index-html.png"]  # the goto's, and nothing of about:blank
    steps = run_json_steps(result)
    branch = steps["2"]
    assert branch["action"] == "branch" and branch["screenshot"] is None
    # nothing in the evidence says a picture is missing or points to another step's picture
    assert "screenshot" not in (branch.get("detail") or "") and not branch.get("picture_note")
    assert steps["3"]["screenshot"] == "screenshots/003-open-index-html.png"


def test_a_step_failing_on_the_blank_page_still_gets_its_own_picture(lab_run: Run) -> None:
    result = lab_run(FAILS_BEFORE_GOTO)
    assert result.status == "failed"
    failed = run_json_steps(result)["1"]
    assert failed["status"] == "failed" and failed["screenshot"]
    assert pictures(result) == [Path(str(failed["screenshot"])).name]
