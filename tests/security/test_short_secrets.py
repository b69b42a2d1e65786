"""A secret too short to mask (under 4 characters) is refused where it is given, saying why: exit 2, and no
browser started, for a secret input, an answer given up front and a password in an app's URL. Masking it would
rewrite the evidence's own names, labels, run ids and URLs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

WHY = "at least 4 characters"


def refused(args: list[str], env: dict[str, str]) -> str:
    """Run `runbook ARGS`; assert exit 2 with no browser and no run folder; return what it printed."""
    done = subprocess.run(
        [sys.executable, "-m", "automation.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert not (Path(env["RUNBOOK_TRACES"]).parent / "BROWSER-STARTED").exists(), "a browser was started"
    assert not Path(env["RUNBOOK_TRACES"]).exists(), "a run folder was created"
    return done.stderr


def test_a_short_secret_input_is_refused_before_a_browser_starts(env: dict[str, str]) -> None:
    said = refused(["run", "verify-code", "--email", "a@example.com", "--code", " 12 "], env)

    assert "input 'code'" in said and WHY in said and " 12 " not in said


def test_a_short_secret_answer_is_refused_before_a_browser_starts(env: dict[str, str]) -> None:
    said = refused(["run", "resend-verify", "--email", "a@example.com", "--answer", "code=7"], env)

    assert "'code" in said and WHY in said


def test_a_short_password_in_a_base_url_is_refused_before_a_browser_starts(env: dict[str, str]) -> None:
    said = refused(
        ["run", "resend-verify", "--email", "a@example.com", "--base-url", "portal=http://u:p@127.0.0.1:9"],
        env,
    )

    assert "the password in the URL of app 'portal'" in said and WHY in said
