"""console.yaml: teams by runbook name or tag, and every mistake a file:line error with a suggestion (exit 2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from automation.catalog import Catalog
from automation.console.config import ConsoleFileError, load_console_config
from automation.console.permissions import Action, Actor, Role, RunbookRef, allowed
from automation.errors import ExitCode

ROOT = Path(__file__).resolve().parents[2]

GOOD = """\
teams:
  portal-support:
    runbooks: [reset-password]
    tags: [verification]
  billing:
    runbooks: [synthetic-login]
"""


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog(
        [ROOT / "runbooks"]
    )  # the shipped runbooks: reset-password, resend-verify (login, verification)...


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "console.yaml"
    path.write_text(text)
    return path


def error_of(tmp_path: Path, text: str, catalog: Catalog) -> ConsoleFileError:
    with pytest.raises(ConsoleFileError) as caught:
        load_console_config(write(tmp_path, text), catalog=catalog)
    return caught.value


def test_a_team_may_run_its_runbooks_by_name_and_by_tag(tmp_path: Path, catalog: Catalog) -> None:
    config = load_console_config(write(tmp_path, GOOD), catalog=catalog)
    assert set(config.teams) == {"portal-support", "billing"}
    agent = Actor("ana", Role.AGENT, "portal-support")
    resend = RunbookRef("resend-verify", frozenset(catalog.get("resend-verify").model.tags))
    assert allowed(agent, Action.RUNBOOK_RUN, RunbookRef("reset-password"), config.teams)
    assert allowed(agent, Action.RUNBOOK_RUN, resend, config.teams)
    assert not allowed(agent, Action.RUNBOOK_RUN, RunbookRef("synthetic-login"), config.teams)


def test_the_server_settings_have_the_issues_defaults(tmp_path: Path, catalog: Catalog) -> None:
    server = load_console_config(write(tmp_path, GOOD), catalog=catalog).server
    assert (server.host, server.port, server.concurrency, server.public_url) == ("127.0.0.1", 8790, 2, None)


def test_an_unknown_key_names_its_line_and_the_nearest_key(tmp_path: Path, catalog: Catalog) -> None:
    error = error_of(tmp_path, GOOD + "  helpdesk:\n    runbook: [reset-password]\n", catalog)
    assert error.line == 8
    assert "teams.helpdesk.runbook: unknown key 'runbook' (did you mean runbooks?)" in str(error)
    assert error.exit_code == ExitCode.BAD_INPUT


def test_an_unknown_top_level_key_is_refused(tmp_path: Path, catalog: Catalog) -> None:
    error = error_of(tmp_path, "team:\n  billing: {runbooks: [reset-password]}\n", catalog)
    assert (error.line, "unknown key 'team' (did you mean teams?)" in error.message) == (1, True)


def test_a_runbook_the_catalog_does_not_have_is_named_at_its_line(tmp_path: Path, catalog: Catalog) -> None:
    error = error_of(tmp_path, GOOD.replace("[synthetic-login]", "[synthetic-login, reset-pasword]"), catalog)
    assert error.line == 6
    assert error.message.startswith("teams.billing.runbooks.1: no runbook named 'reset-pasword'")
    assert "(did you mean reset-password?)" in error.message
    assert str(error).startswith(f"{tmp_path / 'console.yaml'}:6:")


def test_a_tag_no_runbook_carries_is_refused(tmp_path: Path, catalog: Catalog) -> None:
    error = error_of(tmp_path, GOOD.replace("[verification]", "[verificaton]"), catalog)
    assert error.line == 4
    assert "no runbook is tagged 'verificaton' (did you mean verification?)" in error.message


def test_a_team_that_may_run_nothing_is_refused(tmp_path: Path, catalog: Catalog) -> None:
    error = error_of(tmp_path, GOOD + "  empty: {}\n", catalog)
    assert error.line == 7 and "team 'empty' may run nothing" in error.message


def test_a_team_name_is_lower_case(tmp_path: Path, catalog: Catalog) -> None:
    error = error_of(tmp_path, GOOD + "  Night Shift: {runbooks: [reset-password]}\n", catalog)
    assert error.line == 7 and "use lower case letters, digits, - and _" in error.message


def test_a_bad_server_setting_is_named(tmp_path: Path, catalog: Catalog) -> None:
    error = error_of(tmp_path, GOOD + "server:\n  port: 99999\n", catalog)
    assert error.line == 8 and error.message.startswith("server.port:")
    error = error_of(tmp_path, GOOD + "server:\n  public_url: console.example.com\n", catalog)
    assert error.line == 8 and "http(s) address" in error.message


def test_a_file_that_is_not_a_mapping_says_what_it_should_be(tmp_path: Path, catalog: Catalog) -> None:
    error = error_of(tmp_path, "- teams\n", catalog)
    assert "a mapping with teams:" in error.message


def test_broken_yaml_and_a_missing_file_are_console_file_errors(tmp_path: Path, catalog: Catalog) -> None:
    assert error_of(tmp_path, "teams: [\n", catalog).line is not None
    with pytest.raises(ConsoleFileError, match="cannot read the file"):
        load_console_config(tmp_path / "absent.yaml", catalog=catalog)


def test_the_server_section_names_a_bad_session_timeout_at_its_line(tmp_path: Path, catalog: Catalog) -> None:
    text = GOOD + "server:\n  secure_cookie: false\n  session_idle: 30\n"
    error = error_of(tmp_path, text, catalog)
    assert error.line == 9 and "30m" in error.message


def test_the_server_section_sets_sessions_cookie_and_hosts(tmp_path: Path, catalog: Catalog) -> None:
    text = (
        GOOD
        + "server:\n  session_idle: 15m\n  session_absolute: 8h\n  allowed_hosts: [console.example.com]\n"
    )
    server = load_console_config(write(tmp_path, text), catalog=catalog).server
    assert server.idle.total_seconds() == 900 and server.absolute.total_seconds() == 8 * 3600
    assert server.secure_cookie is True and server.allowed_hosts == ["console.example.com"]
