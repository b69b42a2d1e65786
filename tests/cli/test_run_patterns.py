"""`runbook run` with an input whose pattern backtracks catastrophically: refused at once, exit 2, the pattern's
file:line named, and no browser started (issue 22: such a value kept a core busy until it was killed at 30 s).

Each run is a real `runbook` process on a catalog of its own; its generous timeout is no measurement: an
unbounded match would outlast it and fail the test.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

RUNBOOK = """\
name: patterned
title: An input with a pattern
app: portal
inputs:
  code:
    type: string
    pattern: '{pattern}'
outcomes: {{done: {{status: resolved}}}}
steps:
  - say: "The code is {{{{ code }}}}"
"""
PATTERN_LINE = 7  # the line of `pattern:` above


def run_with(
    tmp_path: Path, env: dict[str, str], pattern: str, value: str
) -> subprocess.CompletedProcess[str]:
    """`runbook run patterned --code VALUE` on a catalog holding only that runbook, from tmp_path."""
    catalog = tmp_path / "catalog"
    catalog.mkdir(exist_ok=True)
    (catalog / "patterned.yaml").write_text(RUNBOOK.format(pattern=pattern))
    return subprocess.run(
        [sys.executable, "-m", "automation.cli", "run", "patterned", "--catalog", "catalog", "--code", value],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def assert_refused_before_browser(done: subprocess.CompletedProcess[str], tmp_path: Path) -> None:
    assert done.returncode == 2, done.stderr + done.stdout
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "BROWSER-STARTED").exists(), "a browser was started"
    assert not (tmp_path / "traces").exists(), "a run folder was created"


def test_a_backtracking_pattern_is_stopped_and_named_by_its_file_and_line(
    tmp_path: Path, env: dict[str, str]
):
    done = run_with(tmp_path, env, r"^(a|aa)+$", "a" * 64 + "!")
    assert_refused_before_browser(done, tmp_path)
    assert "input 'code'" in done.stderr
    assert f"catalog/patterned.yaml:{PATTERN_LINE}" in done.stderr
    assert "catastrophic backtracking" in done.stderr and "simplify it" in done.stderr


def test_the_pattern_of_the_report_refuses_its_value_at_once(tmp_path: Path, env: dict[str, str]):
    """The report's own pattern and value: the regex engine does not backtrack on this nesting, so the value
    is simply refused as not of the form, the pattern shown."""
    done = run_with(tmp_path, env, r"^(a+)+$", "a" * 32 + "!")
    assert_refused_before_browser(done, tmp_path)
    assert "input 'code'" in done.stderr and "does not meet the expected form (^(a+)+$)" in done.stderr


@pytest.mark.parametrize("length", [10_001, 100_000])
def test_a_value_longer_than_the_cap_is_refused_naming_the_input(
    tmp_path: Path, env: dict[str, str], length: int
):
    done = run_with(tmp_path, env, r"^(a|aa)+$", "a" * length)
    assert_refused_before_browser(done, tmp_path)
    assert "input 'code'" in done.stderr and f"{length:,} characters long" in done.stderr
    assert f"catalog/patterned.yaml:{PATTERN_LINE}" in done.stderr


def test_a_value_the_pattern_takes_is_run(tmp_path: Path, env: dict[str, str]):
    """The bound refuses nothing the pattern takes: the run goes on to start its (here, fake) browser."""
    done = run_with(tmp_path, env, r"^(a|aa)+$", "a" * 64)
    assert "input 'code'" not in done.stderr, done.stderr
    assert (tmp_path / "BROWSER-STARTED").exists()
