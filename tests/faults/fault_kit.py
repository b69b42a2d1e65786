"""Helpers for the fault tests: the real CLI in a subprocess, environments files, sandbox fault switches,
and a tiny site that stops answering after its first page."""

from __future__ import annotations

import http.server
import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from automation.sandbox import SandboxServer

# Guards, not measurements: a run that ignored its bounds would hang on a 60 s fault and fail here.
GUARD_S = 40


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
    httpx.post(server.urls["portal"] + "/_sandbox/faults", json=rule, timeout=10).raise_for_status()


class DyingPage(http.server.BaseHTTPRequestHandler):
    """Serves one page whose link leads nowhere: after the first page the server stops listening."""

    server: Any

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        body = b"<html><title>Lab</title><body><h1>Order</h1><a href='/next'>Next</a></body></html>"
        self.send_response(200)
        self.send_header("content-type", "text/html")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()
        threading.Thread(target=self.server.die, daemon=True).start()

    def log_message(self, *args: Any) -> None:
        pass


class DyingServer(http.server.ThreadingHTTPServer):
    def die(self) -> None:
        self.shutdown()
        self.server_close()
