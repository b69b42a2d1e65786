"""The agent at a terminal: the run asks for the 6-digit code, the agent types it, nothing echoes it."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import httpx

from automation.sandbox import SandboxServer


def read_until(fd: int, pattern: str, timeout: float = 60) -> str:
    seen = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
            if re.search(pattern, seen.decode(errors="replace")):
                return seen.decode(errors="replace")
    return seen.decode(errors="replace")


def test_agent_types_the_code_the_customer_reads_out(
    sandbox: SandboxServer, tmp_path: Path, browser_env: dict[str, str]
) -> None:
    # A real-looking target: the sandbox served elsewhere, with no mailbox, so only the agent can give the code.
    config = tmp_path / "environments.yaml"
    config.write_text(
        f"default: phone\nenvironments:\n  phone:\n    apps: {{portal: '{sandbox.urls['portal']}'}}\n"
    )
    env = {**browser_env, "RUNBOOK_CONFIG": str(config), "TERM": "dumb"}  # evidence and data under tmp_path
    main, child = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "automation.cli", "run", "resend-verify", "--email", "unverified@example.com"],
        stdin=child,
        stdout=child,
        stderr=child,
        env=env,
        start_new_session=True,
    )
    os.close(child)
    try:
        before = read_until(main, r"6-digit code from the customer's email")
        assert "Ask them to read it to you" in before
        mail = httpx.get(
            sandbox.urls["portal"] + "/_sandbox/mail", params={"to": "unverified@example.com"}
        ).json()
        code = re.search(r"verification code is (\d{6})", mail[0]["text"]).group(
            1
        )  # the customer reads it out
        os.write(main, f"{code}\n".encode())
        after = read_until(main, r"RESOLVED|NOT RESOLVED|ERROR")
        after += read_until(main, r"trace:", timeout=10)
        assert proc.wait(timeout=60) == 0, before + after
    finally:
        os.close(main)
    assert "RESOLVED: verified" in after
    assert code not in before + after  # typed without echo, and masked in the step lines
