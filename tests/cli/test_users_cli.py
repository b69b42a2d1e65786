"""`runbook users ...` and `runbook tokens ...` in process: passwords from stdin or asked twice without echo,
the token printed once alone on the last line, bad input named by its option with exit 2, and no secret in
any output."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from automation.cli import users as users_cli
from automation.cli.app import app
from automation.console.accounts import verify_password
from automation.console.store import ConsoleStore
from automation.console.tokens import verify_token

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def local_store(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(
        "RUNBOOK_DATABASE_URL", raising=False
    )  # RUNBOOK_DATA is the test's (tests/conftest.py)


@pytest.fixture
def store() -> Iterator[ConsoleStore]:
    with ConsoleStore() as opened:
        yield opened


def runbook(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(app, list(args), input=stdin)


def add(name: str, *options: str, password: str = PASSWORD) -> Result:
    return runbook("users", "add", name, *options, "--password-stdin", stdin=password + "\n")


def test_the_first_admin_is_added_with_a_password_from_stdin(store: ConsoleStore) -> None:
    result = add("ada", "--role", "admin")
    assert result.exit_code == 0, result.output
    assert result.stdout == "Added admin 'ada'.\n"
    assert verify_password(store, "ada", PASSWORD) is not None
    assert PASSWORD not in result.output


def test_on_a_terminal_the_password_is_asked_twice_without_echo(
    store: ConsoleStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    typed = iter([PASSWORD, PASSWORD, PASSWORD, "something else entirely"])
    prompts: list[str] = []
    monkeypatch.setattr(users_cli, "stdin_is_terminal", lambda: True)
    monkeypatch.setattr(users_cli.getpass, "getpass", lambda prompt: prompts.append(prompt) or next(typed))
    assert runbook("users", "add", "ana", "--role", "agent", "--team", "portal").exit_code == 0
    assert prompts == ["Password: ", "Password again: "]
    assert verify_password(store, "ana", PASSWORD) is not None

    result = runbook("users", "add", "leo", "--role", "lead", "--team", "portal")
    assert result.exit_code == 2 and "the two passwords differ; nothing was changed" in result.stderr
    assert [u.name for u in _users()] == ["ana"]


def test_without_a_terminal_the_password_must_come_on_stdin() -> None:
    result = runbook("users", "add", "ada", "--role", "admin")
    assert result.exit_code == 2
    assert (
        "no terminal to ask the password on: give it as one line on stdin with --password-stdin"
        in result.stderr
    )
    result = runbook("users", "add", "ada", "--role", "admin", "--password-stdin", stdin="")
    assert result.exit_code == 2 and "--password-stdin: stdin gave no password" in result.stderr


@pytest.mark.parametrize(
    ("options", "says"),
    [
        (
            ["--role", "agnet", "--team", "portal"],
            "error: --role: 'agnet' is not a role (did you mean agent?)",
        ),
        (["--role", "agent"], "error: --team: an agent belongs to a team"),
        (
            ["--role", "operations", "--team", "portal"],
            "error: --team: the operations role reaches every team",
        ),
    ],
)
def test_a_bad_option_is_named_with_exit_2(options: list[str], says: str) -> None:
    result = add("ana", *options)
    assert result.exit_code == 2 and says in result.stderr
    assert result.stdout == ""


def test_a_bad_name_or_password_is_refused_with_exit_2() -> None:
    result = add("Ana Smith", "--role", "admin")
    assert result.exit_code == 2 and "error: NAME: 'Ana Smith' is not a usable name" in result.stderr
    result = add("ana", "--role", "admin", password="hunter2")
    assert result.exit_code == 2 and "the password is too short" in result.stderr
    assert "hunter2" not in result.output


def test_users_list_shows_role_team_and_state() -> None:
    add("ada", "--role", "admin")
    add("ana", "--role", "agent", "--team", "portal")
    assert runbook("users", "disable", "ana").exit_code == 0
    listed = json.loads(runbook("users", "list", "--json").stdout)
    assert [(u["name"], u["role"], u["team"], u["disabled"]) for u in listed] == [
        ("ada", "admin", None, False),
        ("ana", "agent", "portal", True),
    ]
    assert set(listed[0]) == {"name", "role", "team", "disabled", "created"}
    text = runbook("users", "list").stdout.splitlines()
    assert text[0].split() == ["NAME", "ROLE", "TEAM", "STATE", "CREATED"]
    assert text[2].split()[:4] == ["ana", "agent", "portal", "disabled"]


def test_users_list_says_how_to_begin_when_empty() -> None:
    assert "runbook users add NAME --role admin" in runbook("users", "list").stdout
    assert json.loads(runbook("users", "list", "--json").stdout) == []


def test_a_disabled_user_is_refused_and_can_be_enabled(store: ConsoleStore) -> None:
    add("ana", "--role", "agent", "--team", "portal")
    runbook("users", "disable", "ana")
    assert verify_password(store, "ana", PASSWORD) is None
    assert runbook("users", "enable", "ana").exit_code == 0
    assert verify_password(store, "ana", PASSWORD) is not None
    result = runbook("users", "disable", "anna")
    assert result.exit_code == 2 and "there is no user 'anna' (did you mean ana?)" in result.stderr


def test_passwd_sets_a_new_password(store: ConsoleStore) -> None:
    add("ana", "--role", "agent", "--team", "portal")
    result = runbook("users", "passwd", "ana", "--password-stdin", stdin="a brand new passphrase\n")
    assert result.exit_code == 0 and "a brand new passphrase" not in result.output
    assert verify_password(store, "ana", "a brand new passphrase") is not None
    assert verify_password(store, "ana", PASSWORD) is None
    result = runbook("users", "passwd", "bob", "--password-stdin", stdin="a brand new passphrase\n")
    assert result.exit_code == 2 and "there is no user 'bob'" in result.stderr


# -- tokens --------------------------------------------------------------------------------------------------


def test_a_token_is_printed_once_alone_on_the_last_line(store: ConsoleStore) -> None:
    result = runbook("tokens", "create", "zendesk", "--role", "agent", "--team", "portal", "--expires", "7d")
    assert result.exit_code == 0, result.output
    token = result.stdout.splitlines()[-1]
    assert token.startswith("rbt_") and " " not in token
    assert result.stdout.count(token) == 1
    actor = verify_token(store, token)
    assert actor is not None and (actor.name, actor.role.value, actor.team) == ("zendesk", "agent", "portal")
    listed = runbook("tokens", "list", "--json").stdout
    assert token not in listed and token not in runbook("tokens", "list").stdout
    record = json.loads(listed)[0]
    assert (record["id"], record["state"], record["last_used"] is not None) == (1, "active", True)


def test_a_revoked_token_stops_working(store: ConsoleStore) -> None:
    token = runbook("tokens", "create", "zendesk", "--role", "operations").stdout.splitlines()[-1]
    result = runbook("tokens", "revoke", "1")
    assert result.exit_code == 0 and result.stdout == "Revoked API token 1 'zendesk'.\n"
    assert verify_token(store, token) is None
    assert "was already revoked" in runbook("tokens", "revoke", "1").stdout
    assert "revoked" in runbook("tokens", "list").stdout.splitlines()[1].split()


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["create", "zendesk"], "error: --role: a service token needs a role"),
        (["create", "zendesk", "--role", "admin", "--expires", "soon"], "error: --expires: duration 'soon'"),
        (["revoke", "one"], "error: ID: 'one' is not a token id"),
        (["revoke", "9"], "error: there is no API token 9"),
    ],
)
def test_bad_token_input_is_named_with_exit_2(args: list[str], says: str) -> None:
    result = runbook("tokens", *args)
    assert result.exit_code == 2 and says in result.stderr
    assert "rbt_" not in result.stdout


def _users() -> list:
    from automation.console.accounts import list_users

    with ConsoleStore() as store:
        return list_users(store)


def test_the_store_is_in_the_data_folder(tmp_path: Path) -> None:
    add("ada", "--role", "admin")
    assert (tmp_path / "data" / "console.db").exists()
