"""Helpers for the fault tests: the real CLI in a subprocess, environments files, sandbox fault switches,
and a tiny site that stops answering after its first page."""

from __future__ import annotations

import http.server
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sites.servers import PageHandler

from automation.sandbox import SandboxServer

# A guard, not a measurement: a run that ignored its step's bounds would hang on the fault (FAULT_MS) and
# fail here; one that keeps them ends in seconds, a tenth of this even on a loaded machine.
FAULT_MS = 120_000  # the sandbox's longest latency
GUARD_S = 100


@dataclass
class CliRun:
    code: int
    out: str
    err: str
    traces: Path

    @property
    def run_dir(self) -> Path:
        return next(p for p in self.traces.iterdir() if p.is_dir())

    @property
    def run_json(self) -> dict[str, Any]:
        return json.loads((self.run_dir / "run.json").read_text())


def served_config(tmp_path: Path, apps: dict[str, str], *, resettable: bool = False) -> Path:
    """An environments file with one environment, `served`, on these URLs (no embedded sandbox)."""
    lines = ["default: served", "environments:", "  served:", f"    resettable: {str(resettable).lower()}"]
    lines += ["    apps:", *(f"      {app}: {url}" for app, url in apps.items())]
    if "portal" in apps:
        lines.append(f"    mailbox: {apps['portal']}/_sandbox/mail")
    path = tmp_path / "environments.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def add_fault(server: SandboxServer, **rule: Any) -> None:
    faults = server.urls["portal"] + "/_sandbox/faults"
    httpx.post(faults, json=rule, headers=server.control_headers, timeout=10).raise_for_status()


class DyingPage(PageHandler):
    """Serves one page whose link leads nowhere: the server stops listening before that page goes out."""

    server: DyingServer
    # A connection that never sends a request (a spare the browser opened) is dropped, not awaited forever.
    timeout = 10

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        # The browser learns of /next only from this page, so its request for /next, however soon it comes,
        # finds nobody listening (connection refused).
        self.server.stop_listening()
        self._page("<html><title>Lab</title><body><h1>Order</h1><a href='/next'>Next</a></body></html>")


class DyingServer(http.server.HTTPServer):
    """One request at a time, in one thread, until a page stops it listening."""

    timeout = 0.2  # how often the serving loop looks whether it should end
    listening = True

    def stop_listening(self) -> None:
        self.listening = False
        self.socket.close()

    def serve_until_stopped(self) -> None:
        while self.listening:
            self.handle_request()
