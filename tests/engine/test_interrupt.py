"""Ctrl-C during a run: exit 130, a clear message, and the evidence gathered so far saved."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path


def test_ctrl_c_saves_the_evidence_and_exits_130(
    lab_url: str, tmp_path: Path, browser_env: dict[str, str]
) -> None:
    book = tmp_path / "slow.yaml"
    book.write_text(
        "name: slow\ntitle: Slow\napp: lab\noutcomes: {done: {status: resolved}}\nsteps:\n"
        "  - goto: /index.html\n  - wait: {text: this never appears}\n    timeout: 60s\n  - end: done\n"
    )
    traces = tmp_path / "traces"
    env = {**browser_env, "RUNBOOK_TRACES": str(traces)}
    # A new session, as a terminal has: SIGINT goes to the whole foreground process group.
    proc = subprocess.Popen(
        [sys.executable, "-m", "automation.cli", "run", str(book), "--base-url", f"lab={lab_url}"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while not list(traces.glob("*/screenshots/001-*.png")) and time.monotonic() < deadline:
        time.sleep(0.2)  # wait until the first step is done: the run is inside the long wait
    os.killpg(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, out + err
    assert "INTERRUPTED" in out
    run_dir = next(traces.iterdir())
    data = json.loads((run_dir / "run.json").read_text())
    assert data["status"] == "aborted" and data["steps"][0]["status"] == "passed"
    assert (run_dir / "trace.zip").stat().st_size > 0
