"""Open a run's trace: Playwright's bundled trace viewer served on loopback, shown in the configured Chromium
(plain `playwright show-trace` looks for Playwright's own browser and does not find Debian's)."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from automation.errors import EvidenceError, UsageError
from automation.evidence.folder import find_run
from automation.paths import evidence_root

PLAYWRIGHT = [sys.executable, "-m", "playwright"]


def trace_of(run: str) -> Path:
    """The trace.zip of a run id, prefix, 'last' or folder. Raises UsageError (no such run), EvidenceError."""
    try:
        folder = find_run(run)
    except FileNotFoundError as exc:  # bad input (exit 2), like any name that matches nothing
        raise UsageError(f"{exc}. List runs with: ls {evidence_root()}/") from None
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot look for run '{run}' under {evidence_root()}: {exc}") from None
    trace = (folder / "trace.zip").resolve()
    if not trace.exists():
        raise EvidenceError(f"run {folder.name} has no trace.zip (see its run.json: trace_note)")
    return trace


def actions(trace: Path) -> str:
    """The trace's actions as text (`playwright trace actions`). Raises EvidenceError if it does not load."""
    with tempfile.TemporaryDirectory(prefix="runbook-trace-") as work:  # `trace open` extracts into the cwd
        opened = subprocess.run(
            PLAYWRIGHT + ["trace", "open", str(trace)], cwd=work, capture_output=True, text=True, timeout=120
        )
        if opened.returncode != 0:
            raise EvidenceError(f"the trace does not load: {opened.stderr.strip() or opened.stdout.strip()}")
        listed = subprocess.run(
            PLAYWRIGHT + ["trace", "actions"], cwd=work, capture_output=True, text=True, timeout=120
        )
    if listed.returncode != 0:
        raise EvidenceError(f"cannot list the trace's actions: {listed.stderr.strip()}")
    return listed.stdout


def serve(trace: Path, port: int = 0) -> tuple[subprocess.Popen[str], str]:
    """Start the bundled viewer on 127.0.0.1; returns the process and its URL. Raises EvidenceError."""
    proc = subprocess.Popen(
        PLAYWRIGHT + ["show-trace", "--host", "127.0.0.1", "--port", str(port), str(trace)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # `python -m playwright` runs the viewer in a node child: stop() ends both
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        match = re.search(r"(http://127\.0\.0\.1:\d+\S*)", line)
        if match:
            return proc, match.group(1)
    stop(proc)
    raise EvidenceError("the trace viewer did not start")


def stop(proc: subprocess.Popen[str]) -> None:
    """Stop the viewer and the node process it runs (its whole process group)."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)


def open_in_chromium(url: str) -> subprocess.Popen[bytes] | None:
    """Show the viewer in the configured Chromium; None when there is no display to show it on."""
    from automation.chromium import LAUNCH_ARGS, chromium_path

    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return None
    profile = tempfile.mkdtemp(prefix="runbook-viewer-")
    return subprocess.Popen(
        [chromium_path(), *LAUNCH_ARGS, f"--user-data-dir={profile}", f"--app={url}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
