"""`deadline_s`: a wall-clock cap on the whole run. At the cap the step in flight fails, the run is
timed-out (exit 1), the finally: steps get a small budget, and the evidence is saved."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from automation.result import RunResult

Run = Callable[..., RunResult]
BODY = (
    "outcomes: {done: {status: resolved}}\nsteps:\n  - goto: /index.html\n"
    "  - expect: {text: this never appears}\n    timeout: 60s\n    label: Wait for the order\n"
    "  - end: done\nfinally:\n  - goto: /index.html\n"
)


def test_the_run_time_limit_fails_the_step_in_flight_and_ends_timed_out(lab_run: Run) -> None:
    result = lab_run(BODY, deadline_s=3)
    assert (result.status, result.exit_code) == ("timed-out", 1)
    assert (result.error or "").startswith("the run hit its 3s time limit during step 2 (Wait for the order)")
    steps = json.loads((Path(result.evidence_dir) / "run.json").read_text())["steps"]
    assert [(s["number"], s["status"]) for s in steps] == [("1", "passed"), ("2", "failed"), ("f1", "passed")]


def test_a_timed_out_run_keeps_its_evidence(lab_run: Run) -> None:
    result = lab_run(BODY, deadline_s=3)
    folder = Path(result.evidence_dir)
    assert json.loads((folder / "run.json").read_text())["status"] == "timed-out"
    assert (folder / "trace.zip").exists() and (folder / "report.html").exists()
    assert list((folder / "screenshots").glob("001-*.png"))


def test_the_time_limit_is_not_an_optional_steps_miss(lab_run: Run) -> None:
    body = BODY.replace("timeout: 60s", "timeout: 60s\n    optional: true")  # a miss would be a warning
    result = lab_run(body, deadline_s=2)
    assert result.status == "timed-out"  # the limit is not an optional step's miss
    assert "time limit during step 2" in (result.error or "")
