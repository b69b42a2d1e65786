"""The runbook language in real Chromium: each step kind and option does what the runbook says."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from sites.gated_site import gated_site

from automation.engine.context import SilentReporter
from automation.result import RunResult, StepRecord

Run = Callable[..., RunResult]
OUTCOMES = "outcomes:\n  done: {status: resolved}\n  refused: {status: failed}\n"


def steps_of(result: RunResult) -> list[dict]:
    return json.loads((Path(result.evidence_dir) / "run.json").read_text())["steps"]


def test_missing_element_reports_line_locator_and_what_the_page_showed(lab_run: Run) -> None:
    result = lab_run(
        OUTCOMES + "steps:\n  - goto: /index.html\n  - click: {role: button, name: Publish}\n"
        "    timeout: 1s\n    label: Publish the record\n"
    )
    assert (result.status, result.exit_code) == ("failed", 1)
    error = result.error or ""
    assert "step 2 (Publish the record) failed at" in error and "lab-test.yaml:9" in error
    assert 'role=button[name="Publish"]' in error and "/index.html" in error and "Order number" in error
    failed = steps_of(result)[-1]
    assert failed["status"] == "failed" and (Path(result.evidence_dir) / failed["screenshot"]).exists()


def test_fill_click_and_extract_carry_values_between_steps(lab_run: Run) -> None:
    result = lab_run(
        "inputs: {name: {type: string}}\n"
        + OUTCOMES
        + "steps:\n  - goto: /index.html\n  - fill: {label: Name}\n    with: '{{ name }}'\n"
        "  - click: {role: button, name: Greet}\n"
        "  - extract: {css: '#order'}\n    into: order\n    pattern: 'ORD-(\\d+)'\n"
        "  - expect: {contains: 'Hello Ada', of: {css: '#greeting'}}\n"
        "  - select: {label: Colour}\n    option: Green\n  - check: {label: Agree}\n"
        "  - expect: {value: g, of: {label: Colour}}\n  - end: done\n",
        inputs={"name": "Ada"},
    )
    assert (result.status, result.outcome) == ("passed", "done"), result.error
    extract = next(s for s in steps_of(result) if s["action"] == "extract")
    assert extract["detail"] == "order = 4711"


def test_optional_step_that_misses_is_a_warning_and_the_run_goes_on(lab_run: Run) -> None:
    result = lab_run(
        OUTCOMES + "steps:\n  - goto: /index.html\n  - click: {text: Accept cookies}\n"
        "    optional: true\n    timeout: 1s\n  - end: done\n"
    )
    assert result.outcome == "done"
    assert steps_of(result)[1]["status"] == "warning"


class StepWatch(SilentReporter):
    """Keeps the record of the step in flight, so the page can be made ready by the run's own progress."""

    def __init__(self) -> None:
        self.current: StepRecord | None = None

    def step_started(self, record: StepRecord) -> None:
        self.current = record


@pytest.mark.timing
def test_retry_records_each_attempt_until_the_page_is_ready(lab_run: Run) -> None:
    watch = StepWatch()
    with gated_site() as site:
        # The page turns ready only once the step is on its second attempt: the first always misses.
        site.ready = lambda: watch.current is not None and watch.current.attempts >= 2
        result = lab_run(
            OUTCOMES + f"steps:\n  - goto: {site.url}/late.html\n  - expect: {{text: ready now}}\n"
            "    timeout: 1s\n    retry: {attempts: 10, interval: 200ms}\n  - end: done\n",
            reporter=watch,
        )
    assert result.outcome == "done", result.error
    step = steps_of(result)[1]
    assert step["attempts"] >= 2 and "attempt 1 of 10 failed" in step["detail"]


def test_branch_matches_a_native_alert_and_saves_its_message(lab_run: Run) -> None:
    result = lab_run(
        OUTCOMES + "steps:\n  - goto: /index.html\n  - click: {role: button, name: Save}\n"
        "  - branch:\n      when:\n        - dialog: login has no password\n          save: refusal\n"
        "          steps:\n            - say: 'NetSuite refused: {{ refusal }}'\n"
        "          end: refused\n        - text: Saved\n          end: done\n"
    )
    assert result.outcome == "refused", result.error
    say = next(s for s in steps_of(result) if s["action"] == "say")
    assert "jane@example.com login has no password" in say["label"]


def test_dialog_step_dismisses_a_confirm(lab_run: Run) -> None:
    result = lab_run(
        OUTCOMES + "steps:\n  - goto: /index.html\n  - click: {role: button, name: Delete}\n"
        "  - dialog: dismiss\n    message: Really delete?\n  - expect: {text: kept}\n  - end: done\n"
    )
    assert result.outcome == "done", result.error


def test_unexpected_dialog_fails_the_step_clearly(lab_run: Run) -> None:
    result = lab_run(
        OUTCOMES + "steps:\n  - goto: /index.html\n  - click: {role: button, name: Save}\n"
        "  - expect: {text: Saved}\n    timeout: 1s\n  - end: done\n"
    )
    assert result.status == "failed"
    assert "unexpected alert" in (result.error or "") and "login has no password" in (result.error or "")


def test_branch_takes_else_when_nothing_expected_appears(lab_run: Run) -> None:
    result = lab_run(
        OUTCOMES + "steps:\n  - goto: /index.html\n  - branch:\n      when:\n"
        "        - text: Welcome back\n          end: done\n"
        "      else:\n        end: refused\n    timeout: 1s\n"
    )
    assert result.outcome == "refused"
    assert "took else" in steps_of(result)[1]["detail"]


def test_branch_on_the_agents_yes_no_answer(lab_run: Run) -> None:
    body = OUTCOMES + (
        "steps:\n  - ask: ends_with_symbol\n    prompt: Does the password end with a symbol?\n"
        "    kind: yes_no\n  - branch:\n      when:\n        - equals: {ends_with_symbol: yes}\n"
        "          end: refused\n      else:\n        end: done\n"
    )
    assert lab_run(body, answers={"ends_with_symbol": "yes"}).outcome == "refused"
    assert lab_run(body, answers={"ends_with_symbol": "no"}).outcome == "done"


def test_finally_steps_run_after_a_failure(lab_run: Run) -> None:
    result = lab_run(
        OUTCOMES + "steps:\n  - goto: /index.html\n  - click: {text: Nowhere}\n    timeout: 1s\n"
        "finally:\n  - screenshot: cleanup\n    label: Final state\n"
    )
    assert result.status == "failed"
    assert steps_of(result)[-1]["label"] == "Final state" and steps_of(result)[-1]["status"] == "passed"


def test_use_runs_a_sub_runbook_and_hands_back_its_outputs(lab_run: Run) -> None:
    sub = (
        "inputs: {who: {type: string}}\noutputs: [order]\noutcomes:\n  ok: {status: resolved}\n"
        "  broken: {status: failed}\nsteps:\n  - goto: /index.html\n  - fill: {label: Name}\n    with: '{{ who }}'\n"
        "  - extract: {css: '#order'}\n    into: order\n  - end: ok\n"
    )
    body = (
        "outcomes:\n  done: {status: resolved}\n  broken: {status: failed}\n"
        "steps:\n  - use: greeter\n    with: {who: Grace}\n    outputs: [order]\n"
        "  - say: 'Order {{ order }}'\n  - end: done\n"
    )
    result = lab_run(body, others={"greeter": sub})
    assert result.outcome == "done", result.error
    records = steps_of(result)
    assert [r["number"] for r in records][:5] == ["1", "1.1", "1.2", "1.3", "1.4"]
    assert records[1]["file"].endswith("greeter.yaml")
    assert next(r for r in records if r["action"] == "say")["label"] == "Order ORD-4711"
