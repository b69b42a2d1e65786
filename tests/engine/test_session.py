"""A saved signed-in session lets NetSuite runbooks skip the login (as real NetSuite needs, behind 2FA)."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest

from automation.api import run
from automation.environments import Target
from automation.errors import ConfigError
from automation.redaction.scan import find_secrets


def sign_in_as_admin(page: Any) -> None:  # what the person does at the window
    page.locator("#email").fill("admin@example.com")
    page.locator("#password").fill("Admin-Sandbox-9z")
    page.locator("#login-submit").click()
    page.locator("#ns-user").wait_for()


def test_saved_session_is_used_instead_of_typing_credentials(
    sandbox_env: Target, tmp_path: Path, browser: Any
) -> None:
    from automation.engine.session import save_session

    saved = save_session(
        sandbox_env, "netsuite", sign_in_as_admin, dest=tmp_path / "ns.json", browser=browser
    )
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    # The environment's credentials are wrong on purpose: only the saved session can sign the run in.
    sandbox_env.credentials = {
        "netsuite_admin": {"user": "admin@example.com", "password": "Not-The-Password-1"}
    }
    sandbox_env.sessions = {"netsuite": saved}
    result = run(
        "netsuite-login",
        target=sandbox_env,
        browser=browser,
        evidence_root=tmp_path / "traces",
        data_dir=tmp_path / "data",
        reset_sandbox=False,
    )
    assert result.outcome == "signed-in", result.error
    decision = next(s for s in result.steps if s.action == "branch")
    assert "#ns-user" in (decision.detail or "") and len(result.steps) == 2  # no login steps were typed
    cookie = next(c["value"] for c in json.loads(saved.read_text())["cookies"] if c["name"] == "NS_SESSION")
    assert not find_secrets(tmp_path / "traces", [cookie]), "the session cookie leaked into the evidence"


def test_configured_session_that_is_missing_stops_before_a_browser(
    sandbox_env: Target, tmp_path: Path
) -> None:
    sandbox_env.sessions = {"netsuite": tmp_path / "nowhere.json"}
    with pytest.raises(ConfigError, match="runbook session save netsuite"):
        run("netsuite-login", target=sandbox_env, evidence_root=tmp_path / "traces", reset_sandbox=False)
    assert not (tmp_path / "traces").exists()
