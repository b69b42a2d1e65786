"""SIGTERM and a second Ctrl-C during a run: the evidence is saved whole, the trace scrubbed or absent."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sites.gated_site import GatedSite, gated_site

pytestmark = pytest.mark.timing

SECRET = "Canary-Pass-4471"
# Step 3 opens a page the site holds: its request arriving is the sign that step 3 is the one in flight.
BOOK = (
    "name: slow\ntitle: Slow\napp: lab\ninputs: {password: {type: secret}}\n"
    "outcomes: {done: {status: resolved}}\nsteps:\n"
    "  - goto: /index.html\n  - fill: {label: Name}\n    with: '{{ password }}'\n"
    "  - goto: /hold\n    timeout: 120s\n  - end: done\n"
    "finally:\n  - goto: /index.html\n"
)
IN_FLIGHT_S = 120  # only a run that never reaches step 3 waits this long (and fails the test)
ENDED_S = 120  # the run saves its evidence and exits within this: a guard against a hang, not a measurement


@pytest.fixture
def site() -> Iterator[GatedSite]:
    with gated_site() as running:
        yield running


def _start(site: GatedSite, tmp_path: Path, env: dict[str, str]) -> tuple[subprocess.Popen[str], Path]:
    """The run, once its step 3 is in flight (the page it opens is held until the test ends)."""
    book = tmp_path / "slow.yaml"
    book.write_text(BOOK)
    traces = tmp_path / "traces"
    env = {**env, "RUNBOOK_TRACES": str(traces), "RUNBOOK_DATA": str(tmp_path / "data")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "automation.cli", "run", str(book), "--base-url", f"lab={site.url}"]
        + ["--password", SECRET],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # as a terminal has it: the signal goes to the whole process group
    )
    if not site.held.wait(IN_FLIGHT_S):
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"the run never opened step 3's page:\n{out}{err}")
    return proc, traces


def _assert_saved_whole(traces: Path, tmp_path: Path, status: str) -> dict:
    run_dir = next(traces.iterdir())
    data = json.loads((run_dir / "run.json").read_text())
    assert data["status"] == status
    assert [s["status"] for s in data["steps"][:3]] == ["passed", "passed", "failed"]
    assert (run_dir / "report.html").exists()
    assert status in (tmp_path / "data" / "audit.log").read_text()
    leftovers = [p.name for p in run_dir.iterdir() if p.name.startswith(".")]
    assert leftovers == []  # no unscrubbed trace under a temporary name
    trace = run_dir / "trace.zip"
    if trace.exists():  # scrubbed, or absent
        with zipfile.ZipFile(trace) as archive:
            assert not any(SECRET.encode() in archive.read(n) for n in archive.namelist())
    return data


def test_sigterm_saves_the_evidence_and_exits_143(
    site: GatedSite, tmp_path: Path, browser_env: dict[str, str]
) -> None:
    proc, traces = _start(site, tmp_path, browser_env)
    os.killpg(proc.pid, signal.SIGTERM)
    out, err = proc.communicate(timeout=ENDED_S)
    assert proc.returncode == 143, out + err
    assert "INTERRUPTED" in out and "SIGTERM" in out and "Traceback" not in out + err
    data = _assert_saved_whole(traces, tmp_path, "aborted")
    assert data["steps"][2]["error"] == "interrupted (SIGTERM) during this step"
    assert (next(traces.iterdir()) / "trace.zip").exists()


def test_second_ctrl_c_while_saving_finishes_the_save(
    site: GatedSite, tmp_path: Path, browser_env: dict[str, str]
) -> None:
    proc, traces = _start(site, tmp_path, browser_env)
    os.killpg(proc.pid, signal.SIGINT)
    # An impatient agent: Ctrl-C again and again while the run cleans up and saves its evidence.
    # Each press is followed by a short look at whether it has exited: a pace, not a wait for anything.
    pressed_until = time.monotonic() + ENDED_S
    while time.monotonic() < pressed_until:
        try:
            os.killpg(proc.pid, signal.SIGINT)
            proc.wait(timeout=0.05)
            break
        except subprocess.TimeoutExpired:
            continue
        except ProcessLookupError:
            break
    out, err = proc.communicate(timeout=ENDED_S)
    assert proc.returncode == 130, out + err
    assert "Traceback" not in out + err
    _assert_saved_whole(traces, tmp_path, "aborted")
