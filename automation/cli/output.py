"""What every `runbook` command group shares: how a failure is said and which exit code it ends with."""

from __future__ import annotations

import json
import sys
from typing import NoReturn

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
