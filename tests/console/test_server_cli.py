"""`runbook server` before it serves: its --help, and a console.yaml or port it cannot use (exit 2 / 3)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from automation.cli.app import app
from automation.errors import ExitCode


@pytest.fixture(autouse=True)
def local_store(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RUNBOOK_DATABASE_URL", raising=False)  # RUNBOOK_DATA is the test's


def runbook(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def test_help_documents_each_option_and_variable() -> None:
    shown = runbook("server", "--help").output
    for word in ("--host", "--port", "--config", "127.0.0.1", "8790", "RUNBOOK_DATA", "RUNBOOK_DATABASE_URL"):
        assert word in shown, word
    assert "RUNBOOK_PATH" in shown


def test_a_missing_console_yaml_is_exit_2(tmp_path: Path) -> None:
    result = runbook("server", "--config", str(tmp_path / "nowhere.yaml"))
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "nowhere.yaml" in result.output


def test_a_bad_console_yaml_is_named_at_its_line_and_nothing_listens(tmp_path: Path) -> None:
    config = tmp_path / "console.yaml"
    config.write_text("server:\n  session_idle: soon\n")
    result = runbook("server", "--config", str(config), "--port", "0")
    assert result.exit_code == ExitCode.BAD_INPUT
    assert f"{config}:2" in result.output and "Console http" not in result.output


def test_a_port_in_use_is_exit_3(tmp_path: Path) -> None:
    config = tmp_path / "console.yaml"
    config.write_text("server:\n  secure_cookie: false\n")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = runbook("server", "--config", str(config), "--port", str(port))
    assert result.exit_code == ExitCode.UNREACHABLE, result.output
    assert "cannot listen" in result.output
