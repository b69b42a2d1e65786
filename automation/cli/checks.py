"""`runbook checks ...`: a few lines per command over automation.checks.commands.

Exit codes: 0 all passed (degraded counts as passed), 1 a check failed, 2 bad checks file or input,
3 the status page's port cannot be bound.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from automation.cli.output import fail as _fail
from automation.errors import RunbookError

if TYPE_CHECKING:
    from automation.console.checks_site import Door

checks_app = typer.Typer(
    help="Scheduled synthetic checks: history, metrics, a status page and alerts.", no_args_is_help=True
)

FILE_OPTION = typer.Option(
    None, "--file", "-f", help="The checks file or folder (default: runbooks/checks.yaml)."
)
DATA_OPTION = typer.Option(
    None, "--data", help="History and tickets folder (default: RUNBOOK_DATA or ./.runbook)."
)
TRACES_OPTION = typer.Option(None, "--traces", help="Evidence root (default: RUNBOOK_TRACES or ./traces).")


def _places(file: Path | None, data: Path | None = None, traces: Path | None = None):  # noqa: ANN202
    from automation.checks.places import Places

    return Places(checks_file=file, data_dir=data, evidence_root=traces)


def _config(places):  # noqa: ANN001, ANN202
    from automation.checks.places import load

    try:
        return load(places)
    except RunbookError as exc:
        _fail(exc)


@checks_app.command("list")
def list_command(file: Path = FILE_OPTION, as_json: bool = typer.Option(False, "--json")) -> None:
    """List the checks: schedule, runbook, environment, alert policy, channels."""
    from automation.checks.commands import describe

    items = describe(_config(_places(file)))
    if as_json:
        typer.echo(json.dumps(items, indent=2))
        return
    for item in items:
        typer.echo(f"{item['name']:<24} {item['schedule']:<40} {item['runbook']} on {item['env']}")
        typer.echo(f"{'':<24} {item['alert']}; channels: {', '.join(item['channels']) or 'none'}")


@checks_app.command("validate")
def validate_command(file: Path = FILE_OPTION) -> None:
    """Check the checks file without running anything (exit 2 with file:line on the first problem)."""
    config = _config(_places(file))
    typer.echo(f"{config.path}: {len(config.checks)} checks OK")


@checks_app.command("schema")
def schema_command() -> None:
    """Print the checks file's JSON Schema (also committed as runbooks/checks.schema.json)."""
    from automation.checks.config.spec import json_schema

    typer.echo(json.dumps(json_schema(), indent=2))


@checks_app.command("run")
def run_command(
    names: list[str] = typer.Argument(None, help="Checks to run (default: all)"),
    due: bool = typer.Option(False, "--due", help="Only the checks whose schedule is due (for cron)."),
    file: Path = FILE_OPTION,
    data: Path = DATA_OPTION,
    traces: Path = TRACES_OPTION,
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Run checks once, record them and alert; exit 0 when all passed, 1 otherwise (for cron or a CronJob)."""
    from automation.checks.commands import run_checks, run_json

    places = _places(file, data, traces)
    config = _config(places)
    try:
        outcome = run_checks(config, names or [], places, only_due=due)
    except RunbookError as exc:
        _fail(exc)
    if as_json:
        typer.echo(json.dumps([run_json(r) for r in outcome.runs], indent=2))
    else:
        for run in outcome.runs:
            typer.echo(f"{run.check:<24} {run.status:<10} {run.duration_s:>6.2f}s  {run.summary}")
            if run.report:
                typer.echo(f"{'':<24} report: {run.report}")
        if not outcome.runs:
            typer.echo("No check was due.")
    raise typer.Exit(outcome.exit_code)


@checks_app.command("status")
def status_command(
    file: Path = FILE_OPTION, data: Path = DATA_OPTION, as_json: bool = typer.Option(False, "--json")
) -> None:
    """Each check's state, uptime over 24 h and 7 d, p50/p95 duration and last run."""
    from automation.checks.commands import status
    from automation.checks.web.status import render_table, rows_json

    places = _places(file, data)
    rows = status(_config(places), places)
    typer.echo(json.dumps(rows_json(rows), indent=2) if as_json else render_table(rows))


@checks_app.command("history")
def history_command(
    name: str = typer.Argument(..., help="The check"),
    since: str = typer.Option("24h", help="How far back: 30m, 24h, 7d"),
    file: Path = FILE_OPTION,
    data: Path = DATA_OPTION,
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """One check's runs, newest first."""
    from automation.checks.commands import history, run_json
    from automation.checks.config.schedule import parse_duration
    from automation.checks.web.status import render_history
    from automation.errors import InputValueError

    places = _places(file, data)
    config = _config(places)
    try:
        try:
            since_s = parse_duration(since)
        except ValueError as exc:
            raise InputValueError("since", str(exc)) from None
        runs = history(config, name, places, since_s=since_s)
    except RunbookError as exc:
        _fail(exc)
    typer.echo(json.dumps([run_json(r) for r in runs], indent=2) if as_json else render_history(runs))


HOST_OPTION = typer.Option(
    "127.0.0.1",
    "--host",
    help="Address to listen on: loopback only (127.0.0.1, ::1, localhost); from elsewhere, a reverse proxy with TLS.",
)
PORT_OPTION = typer.Option(8780, help="Port of the status page, /metrics and /healthz (0: a free one).")
ALLOWED_HOST_OPTION = typer.Option(
    None,
    "--allowed-host",
    metavar="NAME",
    help="A Host name answered, e.g. the reverse proxy's status.example.com; repeat for more (default: console.yaml's server.allowed_hosts, else 127.0.0.1 and localhost; others get 400).",
)
CONSOLE_CONFIG_OPTION = typer.Option(
    None,
    "--console-config",
    metavar="FILE",
    help="console.yaml as `runbook server` reads it: session timeouts, secure_cookie, allowed_hosts (default: ./console.yaml when there is one).",
)
DOOR_HELP = (
    "Sign in with a console user (`runbook users add NAME --role admin` makes the first; operations and admins "
    "see the checks); /api/status and /metrics also take an API token as 'Authorization: Bearer' "
    "(`runbook tokens create prometheus --role operations`). /healthz is open and says only ok or not."
)


def _door(console_config: Path | None, allowed_hosts: list[str] | None) -> Door:
    """The console's door for the checks' pages: handed to the checks, which import nothing of the console."""
    from automation.console.checks_site import open_door

    return open_door(console_config, allowed_hosts or [])


def _cookie_note(door: Door) -> None:
    if door.secure_cookie:
        typer.echo(
            "The session cookie is Secure: open the page over https (a reverse proxy), or set "
            "server.secure_cookie: false in console.yaml (--console-config) for plain http on loopback."
        )


@checks_app.command(
    "serve",
    help=f"Run the checks on their schedules until SIGTERM or Ctrl-C, serving the status page and /metrics.\n\n{DOOR_HELP}",
)
def serve_command(
    host: str = HOST_OPTION,
    port: int = PORT_OPTION,
    concurrency: int = typer.Option(2, min=1, max=16, help="Runs at once (each worker has its own browser)."),
    grace: float = typer.Option(30.0, min=0, help="Seconds runs in flight get to finish on SIGTERM."),
    file: Path = FILE_OPTION,
    data: Path = DATA_OPTION,
    traces: Path = TRACES_OPTION,
    allowed_host: list[str] = ALLOWED_HOST_OPTION,
    console_config: Path = CONSOLE_CONFIG_OPTION,
) -> None:
    from automation.checks.watchdog.serve import Service

    _refuse_in_distributed_mode()
    places = _places(file, data, traces)
    config = _config(places)
    try:
        door = _door(console_config, allowed_host)
        service = Service(
            config, places.host(), door, address=host, port=port, concurrency=concurrency, grace_s=grace
        )
        service.start_web()
    except RunbookError as exc:
        _fail(exc)
    service.install_signals()
    typer.echo(
        f"Checking {len(config.checks)} checks; status page {service.url}/ , metrics {service.url}/metrics"
    )
    _cookie_note(door)
    cut = service.run()
    typer.echo("Stopped." + (f" Cut short (recorded aborted): {', '.join(cut)}." if cut else ""))


@checks_app.command(
    "web",
    help=f"Serve the status page and /metrics of the whole fleet from the database, running no check.\n\n{DOOR_HELP}",
)
def web_command(
    host: str = HOST_OPTION,
    port: int = PORT_OPTION,
    file: Path = FILE_OPTION,
    data: Path = DATA_OPTION,
    traces: Path = TRACES_OPTION,
    allowed_host: list[str] = ALLOWED_HOST_OPTION,
    console_config: Path = CONSOLE_CONFIG_OPTION,
) -> None:
    from automation.checks.web.server import StatusServer

    places = _places(file, data, traces)
    where = places.host()
    config = _config(places)
    try:
        door = _door(console_config, allowed_host)
        server = StatusServer(
            config, where.history, where.evidence_root, where.clock, door, address=host, port=port
        )

        def ready(url: str) -> None:
            typer.echo(f"Status page {url}/ , metrics {url}/metrics")
            _cookie_note(door)

        server.run(on_ready=ready)
    except RunbookError as exc:
        _fail(exc)


# -- the distributed mode (Celery, RedBeat): automation/checks/fleet/celery_app.py --------------------------------

BROKER_OPTION = typer.Option(None, "--broker", help="Redis broker URL (default: RUNBOOK_BROKER_URL).")


def _refuse_in_distributed_mode() -> None:
    # With a broker configured the fleet's beat schedules; a second, embedded scheduler here would run the
    # checks on this machine beside the fleet. The claim would keep each tick once, but not where it belongs.
    from automation.errors import ConfigError
    from automation.paths import BROKER_URL_VAR, broker_url

    if broker_url():
        _fail(
            ConfigError(
                f"{BROKER_URL_VAR} is set, so checks run on Celery: start `runbook checks beat` and "
                "`runbook checks worker`, and serve the status page from the shared database with "
                f"`runbook checks web`; unset {BROKER_URL_VAR} to run the embedded scheduler instead"
            )
        )


@checks_app.command("worker")
def worker_command(
    concurrency: int = typer.Option(1, min=1, max=16, help="Worker processes (each runs its own browser)."),
    broker: str = BROKER_OPTION,
    file: Path = FILE_OPTION,
    data: Path = DATA_OPTION,
    traces: Path = TRACES_OPTION,
    loglevel: str = typer.Option("INFO", help="Celery's log level."),
) -> None:
    """A Celery worker running the checks' ticks that beat sends (history in RUNBOOK_DATABASE_URL)."""
    from automation.checks.fleet.processes import start_worker

    places = _places(file, data, traces)
    config = _config(places)
    try:
        start_worker(config, places, broker=broker, concurrency=concurrency, loglevel=loglevel)
    except RunbookError as exc:
        _fail(exc)


@checks_app.command("beat")
def beat_command(
    broker: str = BROKER_OPTION,
    file: Path = FILE_OPTION,
    data: Path = DATA_OPTION,
    traces: Path = TRACES_OPTION,
    loglevel: str = typer.Option("INFO", help="Celery's log level."),
) -> None:
    """Celery beat with RedBeat: schedules the checks file; run two for fail-over, only one schedules."""
    from automation.checks.fleet.processes import start_beat

    places = _places(file, data, traces)
    config = _config(places)
    try:
        start_beat(config, places, broker=broker, loglevel=loglevel)
    except RunbookError as exc:
        _fail(exc)


db_app = typer.Typer(help="The history and tickets database: migrations, and moving SQLite into PostgreSQL.")
checks_app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade_command(
    data: Path = DATA_OPTION,
    url: str = typer.Option(None, "--url", help="The database (default: RUNBOOK_DATABASE_URL, else SQLite)."),
) -> None:
    """Apply the schema migrations to the configured database (opening a store does it too)."""
    from automation.store.move import upgrade_databases

    try:
        for done in upgrade_databases(data, url):
            typer.echo(f"{done.line:<8} {done.database}: at revision {done.revision}")
    except RunbookError as exc:
        _fail(exc)


@db_app.command("move")
def db_move_command(
    to: str = typer.Option(..., "--to", help="The empty shared database: postgresql+psycopg://user@host/db"),
    data: Path = DATA_OPTION,
) -> None:
    """Copy this machine's SQLite history, states, outbox and tickets into an empty shared database."""
    from automation.store.move import move_sqlite

    try:
        moved = move_sqlite(data, to)
    except RunbookError as exc:
        _fail(exc)
    typer.echo(f"Moved into {moved.target}: " + ", ".join(f"{n} {t}" for t, n in moved.rows.items()))
    typer.echo("Set RUNBOOK_DATABASE_URL to it on every machine; the SQLite files are left as they were.")
