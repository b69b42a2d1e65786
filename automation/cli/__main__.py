"""`python -m automation.cli`: the same entry point as the `runbook` script."""

from automation.cli.app import main

main()
