"""SIGTERM and a second Ctrl-C during a run: the evidence is saved whole, the trace scrubbed or absent."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

SECRET = "Canary-Pass-4471"
BOOK = (
    "name: slow\ntitle: Slow\napp: lab\ninputs: {password: {type: secret}}\n"
    "outcomes: {done: {status: resolved}}\nsteps:\n"
    "  - goto: /index.html\n  - fill: {label: Name}\n    with: '{{ password }}'\n"
    "  - wait: {text: this never appears}\n    timeout: 60s\n  - end: done\n"
    "finally:\n  - goto: /index.html\n"
)


def _start(lab_url: str, tmp_path: Path, env: dict[str, str]) -> tuple[subprocess.Popen[str], Path]:
    book = tmp_path / "slow.yaml"
    book.write_text(BOOK)
    traces = tmp_path / "traces"
    env = {**env, "RUNBOOK_TRACES": str(traces), "RUNBOOK_DATA": str(tmp_path / "data")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "automation.cli", "run", str(book), "--base-url", f"lab={lab_url}"]
        + ["--password", SECRET],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # as a terminal has it: the signal goes to the whole process group
    )
    deadline = time.monotonic() + 60
    while not list(traces.glob("*/screenshots/002-*.png")) and time.monotonic() < deadline:
        time.sleep(0.2)  # until the fill is done
    time.sleep(1.0)  # and the long wait has begun (its step is the one in flight); it lasts 60 s
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
    lab_url: str, tmp_path: Path, browser_env: dict[str, str]
) -> None:
    proc, traces = _start(lab_url, tmp_path, browser_env)
    os.killpg(proc.pid, signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, out + err
    assert "INTERRUPTED" in out and "SIGTERM" in out and "Traceback" not in out + err
    data = _assert_saved_whole(traces, tmp_path, "aborted")
    assert data["steps"][2]["error"] == "interrupted (SIGTERM) during this step"
    assert (next(traces.iterdir()) / "trace.zip").exists()


def test_second_ctrl_c_while_saving_finishes_the_save(
    lab_url: str, tmp_path: Path, browser_env: dict[str, str]
) -> None:
    proc, traces = _start(lab_url, tmp_path, browser_env)
    os.killpg(proc.pid, signal.SIGINT)
    # An impatient agent: Ctrl-C again and again while the run cleans up and saves its evidence.
    while proc.poll() is None:
        time.sleep(0.05)
        try:
            os.killpg(proc.pid, signal.SIGINT)
        except ProcessLookupError:
            break
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, out + err
    assert "Traceback" not in out + err
    _assert_saved_whole(traces, tmp_path, "aborted")
