"""`runbook sandbox serve`: both apps on loopback, their URLs printed, Ctrl-C stops it; its control token is
written to the data folder (this user only), where an engine with that folder finds it."""

from __future__ import annotations

import os
import re
import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from automation.api import prepare_sandbox
from automation.environments import resolve
from automation.errors import ConfigError


@dataclass
class Served:
    urls: dict[str, str]
    token_file: Path


@pytest.fixture
def served() -> Iterator[Served]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "automation.cli", "sandbox", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    urls: dict[str, str] = {}
    token_file = None
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if match := re.match(r"(portal|netsuite)\s+(http://127\.0\.0\.1:\d+)", line):
                urls[match.group(1)] = match.group(2)
            if match := re.match(r"token\s+(\S+) ", line):
                token_file = Path(match.group(1))
            if "Ctrl-C" in line:
                break
        assert set(urls) == {"portal", "netsuite"} and token_file is not None
        yield Served(urls, token_file)
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=20)
    assert proc.returncode in (0, 130)
    assert not token_file.exists(), "the token file outlived the sandbox"


def test_serve_prints_both_base_urls_and_serves_them(served: Served) -> None:
    assert httpx.get(served.urls["portal"] + "/auth/login").status_code == 200
    assert "SANDBOX" in httpx.get(served.urls["netsuite"] + "/app/login").text


def test_the_token_is_in_the_data_folder_for_this_user_only_and_opens_the_control_routes(
    served: Served, tmp_path: Path
) -> None:
    assert served.token_file == tmp_path / "data" / "sandbox-token"  # RUNBOOK_DATA (tests/conftest.py)
    assert stat.S_IMODE(served.token_file.stat().st_mode) == 0o600
    token = served.token_file.read_text().strip()
    reset = served.urls["portal"] + "/_sandbox/reset"
    assert httpx.post(reset, json={}, timeout=10).status_code == 403
    assert httpx.post(reset, json={}, headers={"X-Runbook-Sandbox-Token": token}, timeout=10).json() == {
        "ok": True
    }


def served_environment(tmp_path: Path, urls: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "environments.yaml"
    config.write_text(
        "default: local\nenvironments:\n  local:\n    resettable: true\n    apps:\n"
        + "".join(f"      {app}: {url}\n" for app, url in urls.items())
    )
    monkeypatch.setenv("RUNBOOK_CONFIG", str(config))
    monkeypatch.delenv("RUNBOOK_ENV", raising=False)
    monkeypatch.delenv("RUNBOOK_SANDBOX_TOKEN", raising=False)


def test_an_engine_with_the_same_data_folder_finds_the_token_and_one_without_it_is_told_where(
    served: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    served_environment(tmp_path, served.urls, monkeypatch)
    target = resolve()
    assert prepare_sandbox(target, {"settings": {"netsuite_refusal": "banner"}}, holder="run-a") is not None
    assert httpx.get(served.urls["portal"] + "/_sandbox/settings").json()["netsuite_refusal"] == "banner"

    monkeypatch.setenv("RUNBOOK_SANDBOX_TOKEN", "a-stale-token")
    with pytest.raises(ConfigError, match=r"refused the reset: it wants its token.*RUNBOOK_SANDBOX_TOKEN"):
        prepare_sandbox(resolve(), holder="run-b")
