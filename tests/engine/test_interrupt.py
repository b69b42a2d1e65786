"""Ctrl-C during a run: exit 130, a clear message, and the evidence gathered so far saved."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sites.gated_site import gated_site

pytestmark = pytest.mark.timing


def test_ctrl_c_saves_the_evidence_and_exits_130(tmp_path: Path, browser_env: dict[str, str]) -> None:
    book = tmp_path / "slow.yaml"
    book.write_text(  # step 2 opens a page the site holds: its request arriving means step 2 is in flight
        "name: slow\ntitle: Slow\napp: lab\noutcomes: {done: {status: resolved}}\nsteps:\n"
        "  - goto: /index.html\n  - goto: /hold\n    timeout: 120s\n  - end: done\n"
    )
    traces = tmp_path / "traces"
    env = {**browser_env, "RUNBOOK_TRACES": str(traces)}
    with gated_site() as site:
        # A new session, as a terminal has: SIGINT goes to the whole foreground process group.
        proc = subprocess.Popen(
            [sys.executable, "-m", "automation.cli", "run", str(book), "--base-url", f"lab={site.url}"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        if not site.held.wait(120):  # only a run that never reaches step 2 waits this long
            proc.kill()
            raise AssertionError("the run never opened step 2's page:\n" + "".join(proc.communicate()))
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=120)  # a guard against a hang, not a measurement
    assert proc.returncode == 130, out + err
    assert "INTERRUPTED" in out
    run_dir = next(traces.iterdir())
    data = json.loads((run_dir / "run.json").read_text())
    assert data["status"] == "aborted" and data["steps"][0]["status"] == "passed"
    assert data["steps"][1]["error"] == "interrupted (Ctrl-C) during this step"
    assert (run_dir / "trace.zip").stat().st_size > 0
