"""`runbook tokens ...`: API tokens for helpdesk integrations, a few lines per command over
automation.console.tokens. A new token is printed once, alone on the last line; the store keeps its hash."""

from __future__ import annotations

from datetime import datetime

import typer

from automation.cli.output import echo_listing
from automation.cli.users import ROLE_HELP, fail_account, open_store
from automation.errors import RunbookError

tokens_app = typer.Typer(
    help="API tokens for the console's JSON API (Authorization: Bearer): create, list, revoke.",
    no_args_is_help=True,
)


def _when(moment: datetime | None, never: str = "-") -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else never


@tokens_app.command("create")
def tokens_create(
    name: str = typer.Argument(
        ..., help="What uses it, e.g. zendesk; a user's name makes it act as that user, with their role"
    ),
    role: str = typer.Option(None, "--role", metavar="ROLE", help=f"{ROLE_HELP} (a service token needs one)"),
    team: str = typer.Option(None, "--team", metavar="TEAM", help="The team, for an agent or lead token"),
    expires: str = typer.Option(
        "30d", "--expires", metavar="DURATION", help="How long it works: e.g. 30d, 12h, 1h30m, or never"
    ),
) -> None:
    """Create an API token. It is printed once, alone on the last line: store it now."""
    from automation.console.tokens import create_token

    try:
        with open_store() as store:
            made = create_token(store, name, role=role, team=team, expires=expires)
    except RunbookError as exc:
        fail_account(exc)
    info = made.info
    reach = info.role.value + (f" of team {info.team}" if info.team else "")
    acting = f", acting as user '{info.owner}'" if info.owner else ""
    typer.echo(
        f"Created API token {info.id} '{info.name}' ({reach}{acting}), expires {_when(info.expires, 'never')}."
    )
    typer.echo(f"It is shown this once: store it now. `runbook tokens revoke {info.id}` stops it.")
    typer.echo(made.token)


@tokens_app.command("list")
def tokens_list(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List the API tokens (never the tokens themselves) with their state and last use."""
    from automation.console.tokens import list_tokens

    try:
        with open_store() as store:
            found = list_tokens(store)
    except RunbookError as exc:
        fail_account(exc, as_json=as_json)
    echo_listing(
        found,
        as_json=as_json,
        as_dict=lambda info: info.as_dict(),
        empty="No API tokens: `runbook tokens create NAME --role ROLE` makes one.",
        header=f"{'ID':>4} {'NAME':<24} {'ROLE':<11} {'TEAM':<16} {'STATE':<8} {'EXPIRES':<21} LAST USED",
        row=lambda info: (
            f"{info.id:>4} {info.name:<24} {info.role.value:<11} {info.team or '-':<16} {info.state():<8} "
            f"{_when(info.expires, 'never'):<21} {_when(info.last_used, 'never')}"
        ),
    )


@tokens_app.command("revoke")
def tokens_revoke(
    token_id: str = typer.Argument(..., metavar="ID", help="The token's id (tokens list)"),
) -> None:
    """Stop an API token working, at once."""
    from automation.console.tokens import revoke_token

    try:
        with open_store() as store:
            done = revoke_token(store, token_id)
    except RunbookError as exc:
        fail_account(exc)
    when = _when(done.info.revoked)
    if done.already:
        typer.echo(f"API token {done.info.id} '{done.info.name}' was already revoked ({when}).")
    else:
        typer.echo(f"Revoked API token {done.info.id} '{done.info.name}'.")
