"""Concurrent runs against one served sandbox, each reset before it runs: each keeps the state it reset."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fault_kit import served_config

from automation.sandbox import SandboxServer

pytestmark = pytest.mark.timing
ENDED_S = 300  # three runs at once on a loaded machine: a guard against a hang, not a measurement


@pytest.fixture
def served_alone() -> Iterator[SandboxServer]:
    """A sandbox of this test's own, as `runbook sandbox serve` would be."""
    with SandboxServer() as server:
        yield server


def test_concurrent_runs_against_one_served_sandbox_each_resolve(
    served_alone: SandboxServer, tmp_path: Path, browser_env: dict[str, str]
) -> None:
    config = served_config(tmp_path, served_alone.urls, resettable=True)
    procs = []
    for n in range(3):
        env = {
            **browser_env,
            "RUNBOOK_CONFIG": str(config),
            "RUNBOOK_TRACES": str(tmp_path / f"traces-{n}"),
            "RUNBOOK_SANDBOX_TOKEN": served_alone.token,  # as `runbook sandbox serve`'s file would give it
        }
        argv = [sys.executable, "-m", "automation.cli", "run", "resend-verify"]
        procs.append(
            subprocess.Popen(
                argv + ["--email", "unverified@example.com", "--no-input"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        )
    outputs = [proc.communicate(timeout=ENDED_S)[0] for proc in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], "\n".join(outputs)
    assert all("RESOLVED: verified" in out for out in outputs)
