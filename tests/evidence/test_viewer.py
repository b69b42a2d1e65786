"""`runbook trace`: a run's trace opens in the bundled viewer and lists its steps as text."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx

from automation.evidence import viewer
from automation.result import RunResult


def test_actions_lists_the_runs_steps(run_runbook: Callable[..., RunResult]) -> None:
    result = run_runbook("resend-verify", {"email": "verified@example.com"})
    text = viewer.actions(viewer.trace_of(result.evidence_dir))
    assert (
        "Navigate" in text
        and "getByLabel('Email')" in text
        and "getByRole('button', { name: 'Submit' })" in text
    )


def test_viewer_is_served_on_loopback(run_runbook: Callable[..., RunResult]) -> None:
    result = run_runbook("resend-verify", {"email": "nobody@example.com"})
    proc, url = viewer.serve(Path(result.artifacts["trace"]))
    try:
        assert url.startswith("http://127.0.0.1:")
        page = httpx.get(url, follow_redirects=True, timeout=10)
        assert page.status_code == 200 and "<html" in page.text.lower()
    finally:
        viewer.stop(proc)
    trace = result.artifacts["trace"]
    left = [p for p in Path("/proc").iterdir() if p.name.isdigit() and _serves(p, trace)]
    assert left == [], "the viewer left a process behind"


def _serves(proc_dir: Path, trace: str) -> bool:
    """Whether this live process is a viewer of `trace` (its command line names the file)."""
    try:
        command = (proc_dir / "cmdline").read_bytes().decode(errors="replace")
        state = (proc_dir / "stat").read_text()
    except OSError:
        return False
    return trace in command and state[state.rindex(")") + 2] != "Z"
