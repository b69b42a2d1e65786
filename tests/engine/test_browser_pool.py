"""A Chromium killed mid-run: the run is an error (exit 3) with what could be kept, and the next run in the
same process gets a new browser. A worker thread gets a pool of its own."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

# crash_script.py launches Chromium itself, in a process of its own
pytestmark = pytest.mark.browser

HEAD = "name: {name}\ntitle: Lab\napp: lab\noutcomes: {{done: {{status: resolved}}}}\nsteps:\n"
LONG = "  - goto: /index.html\n  - wait: {text: this never appears}\n    timeout: 30s\n  - end: done\n"
QUICK = "  - goto: /index.html\n  - expect: {text: Order number}\n  - end: done\n"


@pytest.fixture(scope="module")
def crash_runs(lab_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One process: a run whose Chromium is killed, a run after it, a run in a worker thread."""
    tmp = tmp_path_factory.mktemp("crash")
    books = tmp / "books"
    books.mkdir()
    (books / "long-wait.yaml").write_text(HEAD.format(name="long-wait") + LONG)
    (books / "quick.yaml").write_text(HEAD.format(name="quick") + QUICK)
    script = Path(__file__).with_name("crash_script.py")
    proc = subprocess.run(
        [sys.executable, str(script), lab_url, str(books), str(tmp / "traces")],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_a_killed_browser_is_an_error_with_the_step_in_flight_failed(crash_runs: dict[str, Any]) -> None:
    crashed = crash_runs["crashed"]
    assert (crashed["status"], crashed["exit_code"]) == ("error", 3)
    assert "the browser closed or crashed" in crashed["error"]
    assert crashed["steps"] == ["passed", "failed"]


def test_a_killed_browser_keeps_run_json_report_and_says_what_of_the_trace_is_lost(
    crash_runs: dict[str, Any],
) -> None:
    folder = Path(crash_runs["crashed"]["folder"])
    data = json.loads((folder / "run.json").read_text())
    assert data["status"] == "error" and (folder / "report.html").exists()
    assert list((folder / "screenshots").glob("001-*.png"))
    assert [p.name for p in folder.iterdir() if p.name.startswith(".")] == []
    # Either the part recorded before the crash was kept (and scrubbed), or the message says it was lost.
    assert "trace.zip" in data["error"] and "the screenshots are saved" in data["error"]
    assert (folder / "trace.zip").exists() or "trace.zip was lost" in data["error"]


def test_the_next_run_in_the_same_process_gets_a_new_browser(crash_runs: dict[str, Any]) -> None:
    assert crash_runs["again"]["status"] == "passed", crash_runs["again"]["error"]
    assert crash_runs["new_browser"] is True


def test_a_worker_thread_runs_in_a_pool_of_its_own(crash_runs: dict[str, Any]) -> None:
    assert crash_runs["thread_pool_is_own"] is True
    assert crash_runs["thread"]["status"] == "passed", crash_runs["thread"]["error"]
