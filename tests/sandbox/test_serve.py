"""`runbook sandbox serve`: both apps on loopback, their URLs printed, Ctrl-C stops it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys

import httpx


def test_serve_prints_both_base_urls_and_serves_them() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "automation.cli", "sandbox", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    urls: dict[str, str] = {}
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            match = re.match(r"(portal|netsuite)\s+(http://127\.0\.0\.1:\d+)", line)
            if match:
                urls[match.group(1)] = match.group(2)
            if "Ctrl-C" in line:
                break
        assert set(urls) == {"portal", "netsuite"}
        assert httpx.get(urls["portal"] + "/auth/login").status_code == 200
        assert "SANDBOX" in httpx.get(urls["netsuite"] + "/app/login").text
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=20)
    assert proc.returncode in (0, 130)
