"""A Chromium killed mid-run: the run is an error (exit 3) with what could be kept, and the next run in the
same process gets a new browser. A worker thread gets a pool of its own."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sites.gated_site import gated_site

# crash_script.py launches Chromium itself, in a process of its own
pytestmark = [pytest.mark.browser, pytest.mark.timing]

HEAD = "name: {name}\ntitle: Lab\napp: lab\noutcomes: {{done: {{status: resolved}}}}\nsteps:\n"
# Step 2 opens a page the site holds: while it is held, that step is the one in flight.
LONG = "  - goto: /index.html\n  - goto: /hold\n    timeout: 120s\n  - end: done\n"
QUICK = "  - goto: /index.html\n  - expect: {text: Order number}\n  - end: done\n"
IN_FLIGHT_S = 120  # only a script that never reaches step 2 waits this long (and fails the test)
DONE_S = 300  # three runs and a browser start: a guard against a hang, not a measurement


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        tree.setdefault(parent, []).append(int(entry.name))
    return tree


def _browser_pids(root: int) -> list[int]:
    """Chromium's main processes (not its helpers, which carry --type=) below `root` only: the machine may
    run other browsers, which are none of this test's business."""
    tree, found, todo = _children(), [], [root]
    while todo:
        for child in tree.get(todo.pop(), []):
            todo.append(child)
            try:
                argv = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"chrom" in argv[0] and not any(a.startswith(b"--type=") for a in argv):
                found.append(child)
    return found


@pytest.fixture(scope="module")
def crash_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One process: a run whose Chromium is killed, a run after it, a run in a worker thread."""
    tmp = tmp_path_factory.mktemp("crash")
    books = tmp / "books"
    books.mkdir()
    (books / "long-wait.yaml").write_text(HEAD.format(name="long-wait") + LONG)
    (books / "quick.yaml").write_text(HEAD.format(name="quick") + QUICK)
    script = Path(__file__).with_name("crash_script.py")
    with gated_site() as site:
        proc = subprocess.Popen(
            [sys.executable, str(script), site.url, str(books), str(tmp / "traces")],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert site.held.wait(IN_FLIGHT_S), "the first run never opened its step 2 page"
            browsers = _browser_pids(proc.pid)
            assert browsers, "no Chromium below the script"
            for pid in browsers:
                os.kill(pid, signal.SIGKILL)  # the browser process itself: its helpers go with it
            out, err = proc.communicate(timeout=DONE_S)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert proc.returncode == 0, out + err
    return json.loads(out.strip().splitlines()[-1])


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
