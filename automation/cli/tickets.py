"""`runbook tickets ...`: the local ticket store and its outbox, a few lines per command over commands.tickets."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from automation.cli.output import fail as _fail
from automation.errors import RunbookError

tickets_app = typer.Typer(help="Escalation tickets: the local store and its outbox.", no_args_is_help=True)


@tickets_app.command("list")
def tickets_list(
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    status: str = typer.Option(None, help="open, closed, local, queued or delivered"),
    queue: str = typer.Option(None, help="Only this queue"),
) -> None:
    """List tickets, newest first."""
    from automation.commands.tickets import list_tickets

    try:
        items = list_tickets(status=status, queue=queue)
    except RunbookError as exc:
        _fail(exc, as_json=as_json)
    if as_json:
        typer.echo(json.dumps(items, indent=2))
        return
    for t in items:
        typer.echo(f"{t['id']:<7} {t['state']:<6} {t['delivery']:<9} {t['queue']:<22} {t['title']}")
    if not items:
        typer.echo("No tickets.")


@tickets_app.command("show")
def tickets_show(
    ticket_id: str = typer.Argument(..., metavar="ID"),
    as_json: bool = typer.Option(
        False, "--json", help="Print JSON: the fields of `tickets list`, and the body."
    ),
) -> None:
    """Show one ticket as its tracker would."""
    from automation.commands.tickets import list_tickets, show_ticket

    try:
        text = show_ticket(ticket_id)  # an unknown or malformed id is bad input (exit 2)
        if not as_json:
            typer.echo(text)
            return
        record = next(t for t in list_tickets() if t["id"] == text.split(maxsplit=1)[0])
    except RunbookError as exc:
        _fail(exc, as_json=as_json)
    typer.echo(json.dumps({**record, "body": text.split("\n\n", 1)[-1]}, indent=2))


@tickets_app.command("export")
def tickets_export(
    ticket_id: str = typer.Argument(..., metavar="ID"), dest: Path = typer.Argument(...)
) -> None:
    """Write a ticket (ticket.json, body.md, attachments) into a folder."""
    from automation.commands.tickets import export_ticket

    try:
        typer.echo(str(export_ticket(ticket_id, dest)))
    except RunbookError as exc:
        _fail(exc)


@tickets_app.command("retry")
def tickets_retry(
    env: str = typer.Option(
        None,
        help="Deliver every waiting ticket to this environment's tracker "
        "(default: each to the environment it was opened in).",
    ),
) -> None:
    """Deliver the tickets waiting in the outbox (a retry never opens a second ticket)."""
    from automation.commands.tickets import retry

    try:
        receipts = retry(env=env)
    except RunbookError as exc:
        _fail(exc)
    for r in receipts:
        typer.echo(f"{r.local_id:<7} {r.status:<13} {r.message}")
    if not receipts:
        typer.echo("The outbox is empty.")
