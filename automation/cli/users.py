"""`runbook users ...`: the console's local accounts, a few lines per command over automation.console.accounts.

A password is asked twice without echo on a terminal, or read as one line from stdin (--password-stdin); it
never appears in output, and the store keeps only its Argon2id hash.
"""

from __future__ import annotations

import getpass
import sys
from typing import TYPE_CHECKING, NoReturn

import typer

from automation.cli.output import echo_listing, fail
from automation.errors import RunbookError, UsageError

if TYPE_CHECKING:
    from automation.console.store import ConsoleStore

users_app = typer.Typer(
    help="Console accounts: local users, their roles and passwords (stored in RUNBOOK_DATA/console.db, or "
    "RUNBOOK_DATABASE_URL).",
    no_args_is_help=True,
)

ROLE_HELP = "agent, lead, operations or admin"
TEAM_HELP = "The team (of console.yaml's teams:) whose runbooks an agent or lead may run"
STDIN_HELP = "Read the password as one line from stdin instead of asking on the terminal."
# What each field of an AccountValueError is called on the command line.
OPTIONS = {"name": "NAME", "role": "--role", "team": "--team", "expires": "--expires", "id": "ID"}


def fail_account(exc: RunbookError, *, as_json: bool = False) -> NoReturn:
    """Say what went wrong, naming the option it is about, and exit with its code (2 for bad input)."""
    field = getattr(exc, "field", None)
    if field in OPTIONS:
        exc = UsageError(f"{OPTIONS[field]}: {exc}")
    fail(exc, as_json=as_json)


def open_store() -> ConsoleStore:
    from automation.console.store import ConsoleStore

    return ConsoleStore()


def stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


def read_password(from_stdin: bool) -> str:
    """One line of stdin, or the password typed twice without echo. Raises UsageError."""
    if from_stdin:
        line = sys.stdin.readline()
        if not line.strip():
            raise UsageError("--password-stdin: stdin gave no password: give it as one line")
        return line.rstrip("\r\n")
    if not stdin_is_terminal():
        raise UsageError(
            "there is no terminal to ask the password on: give it as one line on stdin with --password-stdin"
        )
    first = getpass.getpass("Password: ")
    if getpass.getpass("Password again: ") != first:
        raise UsageError("the two passwords differ; nothing was changed: run the command again")
    return first


@users_app.command("add")
def users_add(
    name: str = typer.Argument(..., help="The user's name: lower case, e.g. alice or alice@example.com"),
    role: str = typer.Option(..., "--role", metavar="ROLE", help=ROLE_HELP),
    team: str = typer.Option(None, "--team", metavar="TEAM", help=TEAM_HELP),
    password_stdin: bool = typer.Option(False, "--password-stdin", help=STDIN_HELP),
) -> None:
    """Add a console user (the first one: --role admin). There is no default password: you set it now."""
    from automation.console.accounts import add_user
    from automation.console.values import check_name, check_team, parse_role

    try:
        check_name(name)  # said before the password is asked
        check_team(parse_role(role), team)
        password = read_password(password_stdin)
        with open_store() as store:
            user = add_user(store, name, role, password, team=team)
    except RunbookError as exc:
        fail_account(exc)
    typer.echo(f"Added {user.role.value} '{user.name}'" + (f" of team {user.team}." if user.team else "."))


@users_app.command("list")
def users_list(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List the console's users: name, role, team, whether disabled."""
    from automation.console.accounts import list_users

    try:
        with open_store() as store:
            found = list_users(store)
    except RunbookError as exc:
        fail_account(exc, as_json=as_json)
    echo_listing(
        found,
        as_json=as_json,
        as_dict=lambda user: user.as_dict(),
        empty="No users yet: `runbook users add NAME --role admin` makes the first admin.",
        header=f"{'NAME':<24} {'ROLE':<11} {'TEAM':<20} {'STATE':<9} CREATED",
        row=lambda user: (
            f"{user.name:<24} {user.role.value:<11} {user.team or '-':<20} "
            f"{'disabled' if user.disabled else 'active':<9} {user.created.strftime('%Y-%m-%d %H:%M UTC')}"
        ),
    )


@users_app.command("disable")
def users_disable(name: str = typer.Argument(..., help="The user's name")) -> None:
    """Refuse a user from now on: their sessions end and their tokens stop working."""
    from automation.console.accounts import disable_user

    try:
        with open_store() as store:
            disable_user(store, name)
    except RunbookError as exc:
        fail_account(exc)
    typer.echo(f"Disabled '{name}': their sessions are ended. `runbook users enable {name}` undoes it.")


@users_app.command("enable")
def users_enable(name: str = typer.Argument(..., help="The user's name")) -> None:
    """Let a disabled user sign in again."""
    from automation.console.accounts import enable_user

    try:
        with open_store() as store:
            enable_user(store, name)
    except RunbookError as exc:
        fail_account(exc)
    typer.echo(f"Enabled '{name}'.")


@users_app.command("passwd")
def users_passwd(
    name: str = typer.Argument(..., help="The user's name"),
    password_stdin: bool = typer.Option(False, "--password-stdin", help=STDIN_HELP),
) -> None:
    """Set a user's password (their sessions end: they sign in again with the new one)."""
    from automation.console.accounts import get_user, set_password

    try:
        with open_store() as store:
            get_user(store, name)  # an unknown name is said before the password is asked
            set_password(store, name, read_password(password_stdin))
    except RunbookError as exc:
        fail_account(exc)
    typer.echo(f"Changed the password of '{name}'; their sessions are ended.")
