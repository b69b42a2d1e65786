"""Faults that cut across the engine: the real CLI in a subprocess (real signals, a pytest-side guard on
the wall time), against the session's sandbox served over HTTP or a tiny site that can be made to die."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from fault_kit import GUARD_S, CliRun, DyingPage, DyingServer

from automation.sandbox import SandboxServer


@pytest.fixture
def cli(tmp_path: Path) -> Callable[..., CliRun]:
    """Run `runbook ARGS` in its own session (as a terminal would), evidence and data under tmp_path.
    It runs real Chromium: the name is in BROWSER_FIXTURES (tests/conftest.py), so its tests are marked browser."""

    def _cli(*args: str, config: Path, timeout: float = GUARD_S, name: str = "run") -> CliRun:
        traces = tmp_path / f"traces-{name}"
        env = {
            **os.environ,
            "RUNBOOK_TRACES": str(traces),
            "RUNBOOK_DATA": str(tmp_path / "data"),
            "RUNBOOK_CONFIG": str(config),
        }
        proc = subprocess.run(
            [sys.executable, "-m", "automation.cli", "run", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            start_new_session=True,
        )
        return CliRun(proc.returncode, proc.stdout, proc.stderr, traces)

    return _cli


@pytest.fixture
def served(sandbox: SandboxServer) -> Iterator[SandboxServer]:
    """The session's sandbox at its seed, reached over HTTP like `runbook sandbox serve`; faults cleared after."""
    yield sandbox
    httpx.delete(sandbox.urls["portal"] + "/_sandbox/faults", headers=sandbox.control_headers, timeout=10)


@pytest.fixture
def dying_site() -> Iterator[str]:
    """A site that answers its first page, then stops answering (connection refused), as a target that dies."""
    server = DyingServer(("127.0.0.1", 0), DyingPage)
    serving = threading.Thread(target=server.serve_until_stopped, daemon=True)
    serving.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    if server.listening:  # the test failed before its first page
        server.stop_listening()
    serving.join(timeout=10)
