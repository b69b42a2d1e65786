"""`runbook`: a thin typer layer over the library API. Each command is a few lines; the work is in the library.

Exit codes (errors.ExitCode): 0 resolved, 1 escalated or failed, 2 bad input or runbook (nothing executed),
3 target or browser unreachable, 130 interrupted (Ctrl-C), 143 terminated (SIGTERM).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path
from typing import Any

import typer

from automation.cli.checks import checks_app
from automation.cli.output import fail as _fail
from automation.cli.output import json_error as _json_error
from automation.cli.run import CATALOG_HELP, catalog_args, runbook_command
from automation.cli.server import SERVER_HELP, server_command
from automation.cli.tickets import tickets_app
from automation.cli.tokens import tokens_app
from automation.cli.users import users_app
from automation.errors import ConfigError, ExitCode, RunbookError

# Start-up cost is paid on every `runbook ...`, --help included: this module imports typer and the errors
# only. click (typer carries its own copy), the loader, the schema and the engine are imported by the
# commands that use them (issue 12; tests/test_startup.py).

app = typer.Typer(
    help="Run support runbooks in a real browser, with evidence.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
sandbox_app = typer.Typer(
    help="The embedded sandbox of the customer portal and NetSuite.", no_args_is_help=True
)
app.add_typer(sandbox_app, name="sandbox")
app.add_typer(tickets_app, name="tickets")
session_app = typer.Typer(
    help="Saved signed-in sessions for real targets (e.g. NetSuite behind 2FA).", no_args_is_help=True
)
app.add_typer(session_app, name="session")
app.add_typer(checks_app, name="checks")
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")
app.command("server", help=SERVER_HELP)(server_command)


@app.callback()
def _root(
    catalog: list[Path] = typer.Option(None, "--catalog", metavar="DIR", help=CATALOG_HELP),
) -> None:
    """Run support runbooks in a real browser, with evidence."""
    _add_catalogs(catalog)


def _add_catalogs(folders: list[Path] | None, *, as_json: bool = False) -> None:
    """--catalog DIR, given to `runbook` or to a command. Exit 2 for one that is not a folder."""
    if not folders:
        return  # the loader is imported by the commands that use it (start-up cost, tests/test_startup.py)
    from automation.catalog import add_catalogs

    try:
        add_catalogs(list(folders))
    except RunbookError as exc:
        _fail(exc, as_json=as_json)


# -- runbook run NAME --input ... ----------------------------------------------------------------------------


@app.command(
    "run",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []},
)
def run_command(
    ctx: typer.Context,
    name: str = typer.Argument(
        None, help="Runbook name or file; then its inputs as options (see NAME --help)"
    ),
) -> None:
    """Run a runbook: runbook run NAME --input VALUE ... (runbook run NAME --help lists its inputs)."""
    import click

    options = ctx.args[: ctx.args.index("--")] if "--" in ctx.args else ctx.args
    as_json = "--json" in options  # known before click parses: its errors are answered in JSON too
    _add_catalogs(catalog_args(list(options)), as_json=as_json)
    if name in (None, "--help", "-h"):
        from automation.catalog import Catalog

        typer.echo("Usage: runbook run NAME [OPTIONS]\n\nRunbooks:")
        for known in sorted(Catalog.default().names()):
            typer.echo(f"  {known}")
        typer.echo("\nrunbook run NAME --help lists a runbook's inputs and options.")
        raise typer.Exit(0 if name else int(ExitCode.BAD_INPUT))
    command = runbook_command(name, as_json)
    try:
        # standalone_mode=False: click returns the code of a click Exit instead of raising it
        code = command.main(args=list(ctx.args), prog_name=f"runbook run {name}", standalone_mode=False)
    except click.exceptions.Abort as exc:  # click makes a Ctrl-C an Abort: give main() the Ctrl-C back
        cause = exc.__cause__
        raise (cause if isinstance(cause, KeyboardInterrupt) else KeyboardInterrupt()) from None
    except click.ClickException as exc:
        from automation.cli.terminal import error

        error(exc.format_message())
        if as_json:
            _json_error(exc.format_message(), int(ExitCode.BAD_INPUT))
        raise typer.Exit(int(ExitCode.BAD_INPUT)) from None
    raise typer.Exit(code if isinstance(code, int) else 0)


# -- catalog commands -----------------------------------------------------------------------------------------


@app.command("list")
def list_command(
    paths: list[str] = typer.Argument(None, help="Runbook files or folders (default: the catalog)"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    catalog: list[Path] = typer.Option(None, "--catalog", metavar="DIR", help=CATALOG_HELP),
) -> None:
    """List the runbooks: name, title, app, inputs, outcomes, cases."""
    from automation.commands.catalog import listing

    _add_catalogs(catalog, as_json=as_json)
    items, problems = listing(paths or [])
    if as_json:
        typer.echo(json.dumps(items, indent=2))
    else:
        for item in items:
            outcomes = ", ".join(item["outcomes"])
            typer.echo(
                f"{item['name']:<32} {item['app']:<9} {item['title']}\n{'':<42}outcomes: {outcomes}; "
                f"cases: {len(item['cases'])}"
            )
    if not items and not problems and not paths:
        from automation.commands.catalog import nothing_found

        typer.echo(nothing_found(), err=True)
    _report_problems(problems, "the runbooks above are listed; fix these files to list them too")


def _report_problems(problems: list[Any], then: str) -> None:
    """Each file that does not load, with its file:line, on stderr: one bad file never hides the others."""
    from automation.cli.terminal import error

    for problem in problems:
        error(str(problem))
    if problems:
        error(f"{len(problems)} file(s) do not load: {then}.")


@app.command()
def show(
    name: str = typer.Argument(..., help="Runbook name or file"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    catalog: list[Path] = typer.Option(None, "--catalog", metavar="DIR", help=CATALOG_HELP),
) -> None:
    """Show a runbook: its inputs, outcomes, steps (numbered as a run numbers them) and cases."""
    from automation.commands.catalog import render_show, show_record

    _add_catalogs(catalog, as_json=as_json)
    try:
        typer.echo(json.dumps(show_record(name), indent=2) if as_json else render_show(name))
    except RunbookError as exc:
        _fail(exc, as_json=as_json)


@app.command()
def validate(
    paths: list[str] = typer.Argument(None, help="Runbook files, folders or names (default: all)"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON: the runbooks that load, the problems."),
    catalog: list[Path] = typer.Option(None, "--catalog", metavar="DIR", help=CATALOG_HELP),
) -> None:
    """Check runbooks without running them (each bad one named with file:line; exit 2 if any)."""
    from automation.commands.catalog import validate_all, validate_record

    _add_catalogs(catalog, as_json=as_json)
    if as_json:
        record = validate_record(paths or [])
        typer.echo(json.dumps(record, indent=2))
        raise typer.Exit(int(ExitCode.BAD_INPUT) if record["problems"] else 0)
    ok, problems = validate_all(paths or [])
    for line in ok:
        typer.echo(line)
    _report_problems(problems, "fix them at the lines named")
    if problems:
        raise typer.Exit(int(ExitCode.BAD_INPUT))


@app.command()
def new(
    name: str = typer.Argument(..., help="The runbook's name, e.g. reset-password"),
    app_name: str = typer.Option(..., "--app", metavar="APP", help="The app it targets, e.g. portal"),
    dest: Path = typer.Option(None, "--to", help="A folder, or the file to write (default: ./NAME.yaml)"),
    force: bool = typer.Option(False, "--force", help="Overwrite a file that exists."),
) -> None:
    """Write a commented skeleton runbook that validates, to edit into your procedure."""
    from automation.commands.scaffold import write_skeleton

    try:
        path = write_skeleton(name, app_name, dest, force=force)
    except RunbookError as exc:
        _fail(exc)
    typer.echo(f"Wrote {path}. Edit it, then: runbook validate {path}")


@app.command()
def init(
    folder: Path = typer.Argument(
        Path("runbooks"), metavar="[DIR]", help="Where to copy them (default: ./runbooks)."
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite files that exist."),
) -> None:
    """Copy the built-in runbooks and checks file into DIR, to edit as your team's own."""
    from automation.commands.init import init_catalog

    try:
        done = init_catalog(folder, force=force)
    except RunbookError as exc:
        _fail(exc)
    typer.echo(
        f"Copied {done.runbooks} runbooks and {len(done.files) - done.runbooks} other files to {folder}/."
    )
    typer.echo(
        f"Commands run here now read them: runbook list, runbook validate {folder}, runbook checks validate"
    )


@app.command()
def schema() -> None:
    """Print the runbook JSON Schema (for editors: yaml-language-server)."""
    from automation.schema import json_schema

    typer.echo(json.dumps(json_schema(), indent=2))


@app.command()
def trace(
    run: str = typer.Argument("last", help="Run id (or a unique part of it), 'last', or a run folder"),
    as_actions: bool = typer.Option(False, "--actions", help="Print the trace's actions as text instead."),
    port: int = typer.Option(0, help="Port for the viewer (0: any free port)."),
) -> None:
    """Open a run's Playwright trace in the bundled trace viewer (served on 127.0.0.1)."""
    from automation.evidence import viewer

    try:
        zip_path = viewer.trace_of(run)
        if as_actions:
            typer.echo(viewer.actions(zip_path))
            return
        viewer.show(zip_path, port, say=typer.echo)  # until Ctrl-C, SIGTERM or SIGHUP; leaves nothing behind
    except RunbookError as exc:
        _fail(exc)


@app.command("test", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def test_command(
    ctx: typer.Context,
    paths: list[str] = typer.Argument(
        None, help="Runbook files or folders (default: the catalog's runbooks folder)"
    ),
    keyword: str | None = typer.Option(None, "-k", help="Only cases matching this pytest -k expression"),
    workers: str | None = typer.Option(None, "-n", help="Parallel workers (pytest-xdist), e.g. 2 or auto"),
    catalog: list[Path] = typer.Option(None, "--catalog", metavar="DIR", help=CATALOG_HELP),
) -> None:
    """Run the runbooks' example cases as a regression suite (pytest); extra options go to pytest."""
    from automation.commands.qa import run_tests

    _add_catalogs(catalog)

    try:
        code = run_tests(paths or [], keyword=keyword, workers=workers, extra=ctx.args)
    except RunbookError as exc:
        _fail(exc)
    raise typer.Exit(code)


@session_app.command("save")
def session_save(
    app_name: str = typer.Argument(..., metavar="APP", help="The app to sign in to, e.g. netsuite"),
    env: str = typer.Option(None, help="The environment (its sessions: entry names the file)"),
    to: Path = typer.Option(None, help="Where to save it (default: the environment's sessions: entry)"),
    chromium: str = typer.Option(None, help="The Chromium to use"),
) -> None:
    """Open a browser window at APP; sign in there (2FA included), press Enter here; the session is saved (0600)."""
    from automation.engine.session import save_session
    from automation.environments import resolve

    try:
        target = resolve(env)
        path = save_session(
            target,
            app_name,
            lambda page: input("Sign in in the browser window, then press Enter: "),
            dest=to,
            chromium=chromium,
        )
    except RunbookError as exc:
        _fail(exc)
    typer.echo(
        f"Saved: {path}. Name it under sessions: {{{app_name}: {path}}} of environment '{target.name}'."
    )


# -- sandbox --------------------------------------------------------------------------------------------------


@sandbox_app.command("serve")
def sandbox_serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on (loopback unless told otherwise)."),
    port: int = typer.Option(8700, help="The portal's port; NetSuite gets the next one. 0 picks free ports."),
) -> None:
    """Serve the sandbox until Ctrl-C, printing each app's base URL and where its control token is."""
    import time

    from automation.environments import sandbox_token_file
    from automation.sandbox import SandboxServer

    try:
        server = SandboxServer(host, port).start()
        token_file = _write_token(sandbox_token_file(), server.token)
    except RunbookError as exc:
        _fail(exc)
    for name, url in server.urls.items():
        typer.echo(f"{name:<9} {url}")
    typer.echo(f"mail      {server.urls['portal']}/_sandbox/outbox")
    typer.echo(
        f"token     {token_file} (engines with this data folder read it; elsewhere: RUNBOOK_SANDBOX_TOKEN)"
    )
    typer.echo("Ctrl-C to stop.")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()
    finally:
        _remove_token(token_file, server.token)


def _write_token(path: Path, token: str) -> Path:
    """The served sandbox's control token, readable by this user only. Raises ConfigError."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            os.fchmod(out.fileno(), 0o600)  # a file that existed keeps its mode through O_CREAT
            out.write(token + "\n")
    except OSError as exc:
        raise ConfigError(f"cannot write the sandbox's token to {path}: {exc.strerror}") from None
    return path


def _remove_token(path: Path, token: str) -> None:
    """Remove the token file unless another `sandbox serve` has written its own there since."""
    with contextlib.suppress(OSError):
        if path.read_text(encoding="utf-8").strip() == token:
            path.unlink()


def main() -> None:
    """Console entry point."""
    import gc
    import signal

    try:
        app(prog_name="runbook")
        code: Any = 0
    except KeyboardInterrupt as exc:  # Ctrl-C, or a signal that came while a run's evidence was saved
        code = int(getattr(exc, "exit_code", ExitCode.INTERRUPTED))
    except SystemExit as exc:
        code = exc.code
    # The work is done and saved: more Ctrl-C must not break the clean-up at exit (browser, sandbox) with a
    # traceback. SIGKILL still ends a clean-up that hangs.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)
    # What exists now lives until the process ends: the collector need not look at it again. Without this,
    # tearing the interpreter down (collections over every module's objects: pydantic's schemas, Playwright's
    # API) took 0.1 s of `runbook validate` and 0.25 s of a `runbook run` process. The clean-up at exit
    # (atexit: browser, driver, sandbox; files flushed and closed) runs as before (issue 12).
    gc.freeze()
    sys.exit(code)


if __name__ == "__main__":
    main()
