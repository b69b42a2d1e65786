"""`runbook server`: the agents' console (pages, JSON API) on uvicorn; a few lines over automation.console."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import typer

from automation.cli.output import fail
from automation.errors import RunbookError

# Paragraphs on one line each: the help's renderer keeps a line break inside a paragraph as it is.
SERVER_HELP = "\n\n".join(
    [
        "Serve the agents' console: sign-in, the runbooks, runs watched live, the run history, the audit log and the JSON API (/api/docs).",
        "Nothing but /healthz and the login page answers without a session or an API token. Runs execute here, in a bounded pool (--concurrency) of reused browsers with a fresh context per run; more runs wait in the queue.",
        "The first admin: `runbook users add NAME --role admin`; API tokens: `runbook tokens create`.",
        "The checks (--checks FILE, else the file `runbook checks web` finds: RUNBOOK_CHECKS, then the runbooks' checks.yaml): their status page at /checks/ and their metrics at /metrics, for operations and admins; an API token opens /metrics and /checks/api/status. No checks file, no checks pages.",
        "console.yaml (--config, else ./console.yaml): teams and the runbooks they may run; server: host, port, concurrency, environment, answer_within, public_url, session_idle, session_absolute, secure_cookie, allowed_hosts.",
        "RUNBOOK_DATA: the folder of console.db (users, tokens, sessions, runs, audit), ./.runbook by default.",
        "RUNBOOK_DATABASE_URL: a shared database instead of console.db (e.g. postgresql://...).",
        "RUNBOOK_PATH: the runbook folders (or `runbook --catalog DIR server`).",
        "RUNBOOK_ENV, RUNBOOK_CONFIG: the environment runs use and the environments file (console.yaml's server.environment wins over RUNBOOK_ENV).",
        "RUNBOOK_TRACES: where each run's evidence is kept (./traces by default).",
        "RUNBOOK_CHROMIUM: the Chromium the runs use (/usr/bin/chromium by default).",
    ]
)


def server_command(
    host: str = typer.Option(
        None,
        "--host",
        metavar="ADDRESS",
        help="Address to listen on (default: console.yaml's server.host, else 127.0.0.1)",
    ),
    port: int = typer.Option(
        None,
        "--port",
        metavar="PORT",
        help="Port (0: a free one) (default: console.yaml's server.port, else 8790)",
    ),
    concurrency: int = typer.Option(
        None,
        "--concurrency",
        min=1,
        max=64,
        metavar="N",
        help="Runs at once; more wait in the queue (default: console.yaml's server.concurrency, else 2)",
    ),
    config: Path = typer.Option(
        None,
        "--config",
        metavar="FILE",
        help="console.yaml: teams, session timeouts, cookie, allowed hosts (default: ./console.yaml when there is one)",
    ),
    checks: Path = typer.Option(
        None,
        "--checks",
        metavar="FILE",
        help="The checks file or folder shown at /checks/ (default: RUNBOOK_CHECKS, else the runbooks' checks.yaml when there is one)",
    ),
) -> None:
    from automation.catalog import Catalog
    from automation.console.checks_site import checks_at_start
    from automation.console.config import ConsoleConfig, ServerSpec, console_path, load_console_config
    from automation.console.server import ConsoleServer
    from automation.console.store import ConsoleStore

    catalog = Catalog.default()
    try:
        if config is None and not console_path().is_file():
            loaded = ConsoleConfig(teams={}, server=ServerSpec())
            typer.echo("No console.yaml here: no team may run anything yet (admins see every runbook).")
        else:
            loaded = load_console_config(config, catalog=catalog)
        if concurrency is not None:
            loaded = replace(loaded, server=loaded.server.model_copy(update={"concurrency": concurrency}))
        spec = loaded.server
        site, said = checks_at_start(checks, catalog)
        typer.echo(said)
        server = ConsoleServer(
            loaded,
            catalog,
            ConsoleStore(),
            host=host if host is not None else spec.host,
            port=port if port is not None else spec.port,
            checks=site,
        )
        if spec.secure_cookie:
            typer.echo(
                "The session cookie is Secure: open the console over https (a reverse proxy), or set "
                "server.secure_cookie: false in console.yaml for plain http on loopback."
            )
        server.run(on_ready=lambda url: typer.echo(f"Console {url}/ (Ctrl-C stops it)"))
    except RunbookError as exc:
        fail(exc)
