"""Open a run's trace: Playwright's bundled trace viewer served on loopback, shown in the configured Chromium
(plain `playwright show-trace` looks for Playwright's own browser and does not find Debian's)."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


def show(trace: Path, port: int, say: Callable[[str], None]) -> None:
    """Serve the trace's viewer, show it in Chromium when there is a display, and keep both until Ctrl-C,
    SIGTERM or SIGHUP (a closed terminal, `kill`, a supervisor stopping it): then end the viewer, that
    Chromium and its throwaway profile. Raises EvidenceError when the viewer does not start."""
    server: subprocess.Popen[str] | None = None
    window: Window | None = None
    with _stopped_by(signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        try:
            server, url = serve(trace, port)
            window = open_in_chromium(url)
            say(f"Trace viewer: {url}" + ("" if window else "  (no display here: open it in a browser)"))
            say("Ctrl-C to stop.")
            server.wait()
        except Stopped:
            pass
        finally:
            # Both run in sessions of their own (a terminal's Ctrl-C or hang-up reaches neither): end them here.
            if window is not None:
                window.close()
            if server is not None:
                stop(server)


class Stopped(Exception):
    """Ctrl-C, SIGTERM or SIGHUP asked `runbook trace` to end."""


@contextlib.contextmanager
def _stopped_by(*signums: int) -> Iterator[None]:
    """The first of these signals raises Stopped; later ones are ignored, so the clean-up they started
    (ending Chromium, deleting its profile) is not cut short by an impatient second Ctrl-C."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    raised: list[int] = []

    def handle(signum: int, frame: Any) -> None:
        if not raised:
            raised.append(signum)
            raise Stopped(signal.Signals(signum).name)

    previous = {signum: signal.getsignal(signum) for signum in signums}
    for signum, handler in previous.items():
        if handler is not signal.SIG_IGN:  # started with it ignored (nohup): keep it so
            signal.signal(signum, handle)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


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
    try:
        for line in proc.stdout:
            match = re.search(r"(http://127\.0\.0\.1:\d+\S*)", line)
            if match:
                return proc, match.group(1)
    except BaseException:  # stopped while it started: it must not outlive us
        stop(proc)
        raise
    stop(proc)
    raise EvidenceError("the trace viewer did not start")


def stop(proc: subprocess.Popen[Any]) -> None:
    """End a process and everything in its process group (the viewer's node child, Chromium's renderers)."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        pass
    # What is left of the group (a child slower than its parent to exit) goes now.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)


@dataclass
class Window:
    """The Chromium showing the viewer, and the profile made for it (it holds the trace's pages)."""

    process: subprocess.Popen[bytes]
    profile: Path

    def close(self) -> None:
        stop(self.process)
        # Chromium keeps the profile's lock socket in a folder of its own (org.chromium.Chromium.XXXXXX in
        # the temporary folder), which only a clean exit removes: it goes with the profile.
        with contextlib.suppress(OSError):
            lock = (self.profile / "SingletonSocket").readlink().parent
            if lock.name.startswith("org.chromium.Chromium."):
                shutil.rmtree(lock, ignore_errors=True)
        shutil.rmtree(self.profile, ignore_errors=True)


def open_in_chromium(url: str) -> Window | None:
    """Show the viewer in the configured Chromium; None when there is no display to show it on."""
    from automation.chromium import LAUNCH_ARGS, chromium_path

    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return None
    profile = Path(tempfile.mkdtemp(prefix="runbook-viewer-"))
    try:
        process = subprocess.Popen(
            [chromium_path(), *LAUNCH_ARGS, f"--user-data-dir={profile}", f"--app={url}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its zygotes and renderers share its group: stop() ends them all
        )
    except OSError as exc:
        shutil.rmtree(profile, ignore_errors=True)
        raise EvidenceError(f"cannot start Chromium ({chromium_path()}) to show the viewer: {exc}") from exc
    return Window(process, profile)
