"""What every `runbook` command group shares: how a failure is said and which exit code it ends with."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn, TypeVar

import typer

from automation.errors import RunbookError


def fail(exc: RunbookError, *, as_json: bool = False) -> NoReturn:
    """Say what went wrong (stderr) and exit with its code; with --json, also one JSON object on stdout."""
    from automation.cli.terminal import error

    error(str(exc))
    if as_json:
        json_error(str(exc), int(exc.exit_code))
    raise typer.Exit(int(exc.exit_code))


def json_error(message: str, code: int) -> None:
    # A caller parsing --json gets an answer on every path, not an empty stdout.
    sys.stdout.write(json.dumps({"status": "error", "exit_code": code, "error": message}, indent=2) + "\n")


Item = TypeVar("Item")


def echo_listing(
    items: Sequence[Item],
    *,
    as_json: bool,
    as_dict: Callable[[Item], dict[str, Any]],
    empty: str,
    header: str,
    row: Callable[[Item], str],
) -> None:
    """A `list` command's output: JSON, or `empty` when there is nothing, else a header and a line per item."""
    if as_json:
        typer.echo(json.dumps([as_dict(item) for item in items], indent=2))
    elif not items:
        typer.echo(empty)
    else:
        typer.echo(header)
        for item in items:
            typer.echo(row(item))
