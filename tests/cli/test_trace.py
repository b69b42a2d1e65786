"""`runbook trace` stopped by a signal (SIGTERM from `kill` or a supervisor, SIGHUP from a closed terminal):
its viewer stops answering, the Chromium it opened is gone, and so is that Chromium's profile (it holds the
trace's pages). A real run makes the trace; the command runs as a process, with Debian's Chromium."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from automation.paths import chromium_path
from automation.result import RunResult


@pytest.fixture
def scratch() -> Iterator[Path]:
    """The command's TMPDIR, where it makes Chromium's profile: short, as Chromium's lock socket needs a path
    under 108 bytes (tmp_path is too deep)."""
    folder = Path(tempfile.mkdtemp(prefix="rbt-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_signal_ends_the_viewer_its_chromium_and_deletes_the_profile(
    signum: int, run_runbook: Callable[..., RunResult], tmp_path: Path, scratch: Path
) -> None:
    result = run_runbook("resend-verify", {"email": "nobody@example.com"})
    trace = subprocess.Popen(
        [sys.executable, "-m", "automation.cli", "trace", str(result.evidence_dir)],
        env=_with_a_display(tmp_path, scratch),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert trace.stdout is not None
        said = trace.stdout.readline()
        assert said.startswith("Trace viewer: http://127.0.0.1:"), said + trace.stderr.read()  # type: ignore[union-attr]
        url = said.split()[2]
        [profile] = scratch.glob("runbook-viewer-*")
        _wait_for(lambda: any("--type=renderer" in c for c in _commands_naming(str(profile))))
        assert httpx.get(url, follow_redirects=True, timeout=10).status_code == 200

        trace.send_signal(signum)
        assert trace.wait(timeout=60) == 0

        with pytest.raises(httpx.ConnectError):
            httpx.get(url, timeout=5)
        assert _commands_naming(str(profile)) == [], "Chromium was left running"
        assert _commands_naming(str(result.artifacts["trace"])) == [], "the viewer was left running"
        assert list(scratch.iterdir()) == [], "Chromium's profile (or its lock folder) was left behind"
    finally:  # only a failed test finds something to end here
        _end(trace, str(scratch), str(result.artifacts["trace"]))


def _end(trace: subprocess.Popen[str], *names: str) -> None:
    """After a failure, leave nothing running: the command, then whatever it started that names these paths."""
    if trace.poll() is None:
        trace.terminate()
        try:
            trace.wait(timeout=30)
        except subprocess.TimeoutExpired:
            trace.kill()
            trace.wait()
    for pid in {pid for name in names for pid, _ in _processes_naming(name)}:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _with_a_display(tmp_path: Path, scratch: Path) -> dict[str, str]:
    """This machine has no screen: Chromium draws to none (Ozone's headless platform) but runs as it would
    on a desktop, window, renderers and all; DISPLAY says there is one, as it would there."""
    chromium = tmp_path / "chromium"
    real = (
        os.path.realpath("/usr/lib/chromium/chromium")
        if chromium_path() == "/usr/bin/chromium"
        else chromium_path()
    )
    chromium.write_text(f'#!/bin/sh\nexec {real} --ozone-platform=headless "$@"\n')
    chromium.chmod(0o755)
    return {**os.environ, "RUNBOOK_CHROMIUM": str(chromium), "DISPLAY": ":0", "TMPDIR": str(scratch)}


def _commands_naming(needle: str) -> list[str]:
    """The command lines of live processes (zombies aside) that name this path."""
    return [command for _, command in _processes_naming(needle)]


def _processes_naming(needle: str) -> list[tuple[int, str]]:
    found = []
    for proc_dir in Path("/proc").iterdir():
        if not proc_dir.name.isdigit():
            continue
        try:
            command = (proc_dir / "cmdline").read_bytes().decode(errors="replace").replace("\0", " ")
            state = (proc_dir / "stat").read_text()
        except OSError:
            continue
        if needle in command and state[state.rindex(")") + 2] != "Z":
            found.append((int(proc_dir.name), command))
    return found


def _wait_for(condition: Callable[[], bool], timeout_s: float = 60) -> None:
    """Until Chromium has drawn the viewer (its renderer runs): only then is there something to leave behind."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "Chromium never showed the viewer"
        time.sleep(0.1)
