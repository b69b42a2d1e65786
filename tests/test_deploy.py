"""What deploy/ and the README's "Agent console" section tell an operator must hold: the systemd unit is one
systemd accepts and keeps its promises (writable data and evidence, a graceful stop, secrets from a file), the
console.yaml example starts a server, and every `runbook ...` command the section quotes is one the CLI parses.
No browser, no server: fast."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from automation.catalog import Catalog
from automation.cli.app import app
from automation.console.config import load_console_config

ROOT = Path(__file__).resolve().parents[1]
UNIT = ROOT / "deploy" / "runbook-console.service"
CONSOLE_EXAMPLE = ROOT / "deploy" / "console.yaml.example"
README = ROOT / "README.md"
INSTALLED_RUNBOOK = "/srv/runbook/.venv/bin/runbook"  # the unit's ExecStart, as an operator installs it


def unit_settings(text: str) -> dict[str, list[str]]:
    """The unit's `Key=value` lines (comments left out), each key with all its values in order."""
    settings: dict[str, list[str]] = {}
    for line in text.splitlines():
        if "=" in line and not line.lstrip().startswith(("#", ";", "[")):
            key, value = line.split("=", 1)
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def test_systemd_accepts_the_console_unit(tmp_path: Path) -> None:
    verify = shutil.which("systemd-analyze")
    if verify is None:
        pytest.skip("systemd-analyze is not installed here: the unit was not verified")
    # verify wants ExecStart's program to exist: point it at this checkout's runbook instead of /srv/runbook.
    local = Path(sys.executable).with_name("runbook")
    assert local.is_file(), f"no runbook script next to {sys.executable}: install the package in this venv"
    unit = tmp_path / UNIT.name
    unit.write_text(UNIT.read_text().replace(INSTALLED_RUNBOOK, str(local)))
    done = subprocess.run([verify, "verify", str(unit)], capture_output=True, text=True, timeout=60)
    # verify exits 0 on a misspelt key or value, only saying so on stderr: any line about the unit fails.
    complaints = [line for line in (done.stderr + done.stdout).splitlines() if UNIT.name in line]
    assert done.returncode == 0 and not complaints, done.stderr + done.stdout


def test_the_unit_keeps_its_promises() -> None:
    settings = unit_settings(UNIT.read_text())
    environment = dict(value.split("=", 1) for value in settings["Environment"])
    writable = [Path(p) for value in settings["ReadWritePaths"] for p in value.split()]
    for variable in ("RUNBOOK_DATA", "RUNBOOK_TRACES"):
        folder = Path(environment[variable])
        assert any(folder.is_relative_to(place) for place in writable), f"{variable}={folder} is read-only"
    assert settings["ExecStart"] == [f"{INSTALLED_RUNBOOK} server --config /etc/runbook/console.yaml"]
    assert settings["ProtectSystem"] == ["strict"]
    assert settings["NoNewPrivileges"] == ["yes"] and settings["PrivateTmp"] == ["yes"]
    assert settings["Restart"] == ["on-failure"] and settings["KillSignal"] == ["SIGTERM"]
    # the executor gives each of its threads up to 30 s to stop its run; two threads and some room
    assert int(settings["TimeoutStopSec"][0]) >= 90
    assert settings["EnvironmentFile"] == ["/etc/runbook/console.env"]
    assert settings["User"] == ["runbook"]


def test_the_console_yaml_example_loads_against_the_shipped_runbooks() -> None:
    config = load_console_config(CONSOLE_EXAMPLE, catalog=Catalog([ROOT / "runbooks"]))
    assert set(config.teams) == {"portal-support", "netsuite-desk"}
    assert config.server.secure_cookie and config.server.allowed_hosts == ["runbook.example.com"]


def console_section() -> str:
    text = README.read_text()
    start = text.index("\n## Agent console\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


# `runbook` where a shell runs it: a line's start (after a `$ ` prompt), after a pipe, `$(`, `;` or `&&`, or
# as the end of a path (/srv/runbook/.venv/bin/runbook); then words up to a pipe, `)` or `;`.
COMMAND = re.compile(r"(?:^\$?\s*|[|;(]\s*|&&\s*|/)runbook\s+([a-z][^|;)]*)")


def quoted_commands(section: str) -> list[str]:
    """Every `runbook SUBCOMMAND ...` in the section's code blocks and inline code spans."""
    blocks = re.findall(r"```[a-z]*\n(.*?)```", section, flags=re.S)
    spans = re.findall(r"`([^`\n]+)`", re.sub(r"```.*?```", "", section, flags=re.S))
    found = []
    for line in [*"\n".join(blocks).splitlines(), *spans]:
        line = re.sub(r"(^|\s)#.*$", "", line)  # a shell comment
        found += [match.group(1).strip() for match in COMMAND.finditer(line)]
    return sorted(set(found))


def test_the_section_quotes_the_commands_the_issue_asks_for() -> None:
    subcommands = {" ".join(command.split()[:2]) for command in quoted_commands(console_section())}
    for expected in ("server --config", "users add", "users list", "users disable", "users enable"):
        assert expected in subcommands, f"the README's console section no longer shows `runbook {expected}`"
    for expected in ("users passwd", "tokens create", "tokens list", "tokens revoke"):
        assert expected in subcommands, f"the README's console section no longer shows `runbook {expected}`"


@pytest.mark.parametrize("command", quoted_commands(console_section()))
def test_each_quoted_command_parses(command: str) -> None:
    """The command with --help appended: an unknown command or option, or a missing option value, is exit 2
    before the help is shown; nothing runs."""
    words = [w for w in shlex.split(command) if w != "..."]
    done = CliRunner().invoke(app, [*words, "--help"])
    assert done.exit_code == 0, f"`runbook {command}` does not parse:\n{done.output}"


@pytest.mark.parametrize(
    "command", ["users add ana --rol agent", "tokens make zendesk", "server --conf x.yaml"]
)
def test_a_command_that_does_not_parse_is_caught(command: str) -> None:
    """The check above can fail: a misspelt option or subcommand is exit 2."""
    assert CliRunner().invoke(app, [*shlex.split(command), "--help"]).exit_code == 2
