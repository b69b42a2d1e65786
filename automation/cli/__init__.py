"""The `runbook` command: a typer app (app.py) with one module per command group, over the library API."""

from __future__ import annotations


def main() -> None:
    """The console script's entry point (`runbook = "automation.cli:main"`)."""
    from automation.cli.app import main as run_cli

    run_cli()
