"""`runbook`: a thin typer layer over the library API. Each command is a few lines; the work is in the library.

Exit codes (errors.ExitCode): 0 resolved, 1 escalated or failed, 2 bad input or runbook (nothing executed),
3 target or browser unreachable, 130 interrupted (Ctrl-C), 143 terminated (SIGTERM).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from .cli_base import fail as _fail
from .cli_base import json_error as _json_error
from .cli_checks import checks_app
from .cli_tickets import tickets_app
from .errors import ExitCode, RunbookError

if TYPE_CHECKING:
    import click

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

CATALOG_HELP = "Also find runbooks in this folder (repeatable; before RUNBOOK_PATH or ./runbooks)."


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
    from .loader import add_catalogs

    try:
        add_catalogs(list(folders))
    except RunbookError as exc:
        _fail(exc, as_json=as_json)


# -- runbook run NAME --input ... ----------------------------------------------------------------------------

COMMON = (
    "env",
    "base_url",
    "headed",
    "as_json",
    "chromium",
    "traces",
    "no_input",
    "answer",
    "screenshots",
    "catalog",
)


def _common_options() -> list[click.Option]:
    import click

    return [
        click.Option(
            ["--env"], help="Environment from the environments file (default: the embedded sandbox)."
        ),
        click.Option(
            ["--base-url", "base_url"], multiple=True, metavar="APP=URL", help="Override an app's URL."
        ),
        click.Option(["--headed"], is_flag=True, help="Show the browser window."),
        click.Option(
            ["--json", "as_json"], is_flag=True, help="Print one JSON object at the end (progress on stderr)."
        ),
        click.Option(
            ["--chromium"], metavar="PATH", help="The Chromium to use (default: /usr/bin/chromium)."
        ),
        click.Option(["--traces"], metavar="DIR", help="Where run evidence goes (default: ./traces)."),
        click.Option(
            ["--no-input", "no_input"], is_flag=True, help="Never prompt; missing answers are errors."
        ),
        click.Option(
            ["--answer"],
            multiple=True,
            metavar="NAME=VALUE",
            help="Answer a question of the runbook up front (repeatable), e.g. --answer ends_with_symbol=no.",
        ),
        click.Option(
            ["--screenshots"],
            type=click.Choice(["each-step", "on-failure", "off"]),
            default="each-step",
            show_default=True,
            help="Pictures: one per step that changes the page, only the failing step's, or none.",
        ),
        click.Option(["--catalog"], multiple=True, metavar="DIR", help=CATALOG_HELP),
    ]


def _input_option(name: str, spec: Any) -> click.Option:
    import click

    flag = "--" + name.replace("_", "-")
    help_text = (spec.help or "") + ("" if spec.required else " (optional)")
    if spec.type == "bool":
        return click.Option([f"{flag}/--no-{name.replace('_', '-')}", name], default=None, help=help_text)
    if spec.type == "enum":
        return click.Option([flag, name], type=click.Choice(spec.choices), help=help_text)
    metavar = {"email": "EMAIL", "int": "N", "secret": "SECRET"}.get(spec.type, "TEXT")
    if spec.type == "secret":
        help_text += " Secret: leave it out to be asked without echo."
    return click.Option([flag, name], metavar=metavar, help=help_text.strip())


def _runbook_command(name: str, as_json: bool) -> click.Command:
    """A click command whose options are this runbook's inputs plus the common run options."""
    import click

    from .loader import catalog_for, load_runbook

    try:
        catalog = catalog_for(name)  # a file outside the catalog finds its `use:` neighbours
        loaded = load_runbook(name, catalog=catalog)
    except RunbookError as exc:
        _fail(exc, as_json=as_json)
    params: list[click.Parameter] = _common_options()
    params += [_input_option(n, spec) for n, spec in loaded.model.inputs.items()]
    return click.Command(
        name,
        params=params,
        callback=lambda **kw: _run_command(loaded, kw, catalog),
        help=_help(loaded.model),
    )


def _catalog_args(args: list[str]) -> list[Path]:
    """The --catalog DIR of a run's options, needed before its runbook is looked up by name."""
    found = [Path(a.split("=", 1)[1]) for a in args if a.startswith("--catalog=")]
    found += [Path(args[i + 1]) for i, a in enumerate(args[:-1]) if a == "--catalog"]
    return found


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
    _add_catalogs(_catalog_args(list(options)), as_json=as_json)
    if name in (None, "--help", "-h"):
        from .loader import Catalog

        typer.echo("Usage: runbook run NAME [OPTIONS]\n\nRunbooks:")
        for known in sorted(Catalog.default().names()):
            typer.echo(f"  {known}")
        typer.echo("\nrunbook run NAME --help lists a runbook's inputs and options.")
        raise typer.Exit(0 if name else int(ExitCode.BAD_INPUT))
    command = _runbook_command(name, as_json)
    try:
        # standalone_mode=False: click returns the code of a click Exit instead of raising it
        code = command.main(args=list(ctx.args), prog_name=f"runbook run {name}", standalone_mode=False)
    except click.ClickException as exc:
        from .console import error

        error(exc.format_message())
        if as_json:
            _json_error(exc.format_message(), int(ExitCode.BAD_INPUT))
        raise typer.Exit(int(ExitCode.BAD_INPUT)) from None
    raise typer.Exit(code if isinstance(code, int) else 0)


def _help(model: Any) -> str:
    outcomes = ", ".join(f"{n} ({o.status})" for n, o in model.outcomes.items())
    return f"{model.title}\n\n{(model.description or '').strip()}\n\nOutcomes: {outcomes}"


def _run_command(loaded: Any, kwargs: dict[str, Any], catalog: Any) -> None:
    import click

    from . import api
    from .console import ConsolePrompter, ConsoleReporter, is_interactive, render_result
    from .environments import parse_base_urls

    common = {k: kwargs.pop(k) for k in COMMON}
    inputs = {k: v for k, v in kwargs.items() if v is not None}
    interactive = is_interactive() and not common["no_input"]
    stream = sys.stderr if common["as_json"] else sys.stdout
    try:
        _check_writable_folders(common["traces"])
        inputs = _prompt_missing_secrets(loaded, inputs, interactive)
        result = api.run(
            loaded,
            inputs,
            env=common["env"],
            base_urls=parse_base_urls(list(common["base_url"])),
            answers=_answers(list(common["answer"])),
            prompter=ConsolePrompter() if interactive else None,
            reporter=ConsoleReporter(stream),
            headed=common["headed"],
            chromium=common["chromium"],
            screenshots=common["screenshots"],
            evidence_root=Path(common["traces"]) if common["traces"] else None,
            catalog=catalog,
        )
    except RunbookError as exc:
        _fail(exc, as_json=common["as_json"])
    if common["as_json"]:
        sys.stdout.write(json.dumps(_json_summary(result), indent=2) + "\n")
    else:
        stream.write(render_result(result) + "\n")
    raise click.exceptions.Exit(result.exit_code)


def _check_writable_folders(traces: str | None) -> None:
    """The evidence and data folders must be writable before a browser starts. Raises UsageError."""
    from .environments import data_dir
    from .evidence.folder import check_writable, evidence_root

    check_writable(
        Path(traces) if traces else evidence_root(), "--traces" if traces else "the evidence folder"
    )
    check_writable(data_dir(), "the data folder (RUNBOOK_DATA)")


def _answers(pairs: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            from .errors import InputValueError

            raise InputValueError("answer", f"'{pair}': write NAME=VALUE, e.g. --answer ends_with_symbol=no")
        out[name.strip()] = value
    return out


def _prompt_missing_secrets(loaded: Any, inputs: dict[str, Any], interactive: bool) -> dict[str, Any]:
    """Required secret inputs not given are asked without echo, so they stay out of shell history."""
    import getpass

    from .api import _asked

    asked = _asked(loaded)
    for name, spec in loaded.model.inputs.items():
        if (
            spec.type == "secret"
            and spec.required
            and name not in inputs
            and name not in asked
            and not spec.from_env
        ):
            if interactive:
                inputs[name] = getpass.getpass(f"  ? {spec.help or name} (not echoed): ")
    return inputs


def _json_summary(result: Any) -> dict[str, Any]:
    data = result.to_json()
    keep = (
        "run_id",
        "runbook",
        "status",
        "outcome",
        "summary",
        "exit_code",
        "artifacts",
        "ticket",
        "error",
        "environment",
        "base_urls",
        "duration_s",
        "evidence_dir",
    )
    out = {k: data[k] for k in keep}
    out["steps"] = [
        {k: s[k] for k in ("number", "label", "status", "duration_s", "detail", "error")}
        for s in data["steps"]
    ]
    return out


# -- catalog commands -----------------------------------------------------------------------------------------


@app.command("list")
def list_command(
    paths: list[str] = typer.Argument(None, help="Runbook files or folders (default: the catalog)"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    catalog: list[Path] = typer.Option(None, "--catalog", metavar="DIR", help=CATALOG_HELP),
) -> None:
    """List the runbooks: name, title, app, inputs, outcomes, cases."""
    from .catalog_view import listing

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
    _report_problems(problems, "the runbooks above are listed; fix these files to list them too")


def _report_problems(problems: list[Any], then: str) -> None:
    """Each file that does not load, with its file:line, on stderr: one bad file never hides the others."""
    from .console import error

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
    from .catalog_view import render_show, show_record

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
    from .catalog_view import validate_all, validate_record

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
    from .scaffold import write_skeleton

    try:
        path = write_skeleton(name, app_name, dest, force=force)
    except RunbookError as exc:
        _fail(exc)
    typer.echo(f"Wrote {path}. Edit it, then: runbook validate {path}")


@app.command()
def schema() -> None:
    """Print the runbook JSON Schema (for editors: yaml-language-server)."""
    from .schema import json_schema

    typer.echo(json.dumps(json_schema(), indent=2))


@app.command()
def trace(
    run: str = typer.Argument("last", help="Run id (or a unique part of it), 'last', or a run folder"),
    as_actions: bool = typer.Option(False, "--actions", help="Print the trace's actions as text instead."),
    port: int = typer.Option(0, help="Port for the viewer (0: any free port)."),
) -> None:
    """Open a run's Playwright trace in the bundled trace viewer (served on 127.0.0.1)."""
    from .evidence import viewer

    try:
        zip_path = viewer.trace_of(run)
        if as_actions:
            typer.echo(viewer.actions(zip_path))
            return
        proc, url = viewer.serve(zip_path, port)
    except RunbookError as exc:
        _fail(exc)
    shown = viewer.open_in_chromium(url)
    typer.echo(f"Trace viewer: {url}" + ("" if shown else "  (no display here: open it in a browser)"))
    typer.echo("Ctrl-C to stop.")
    try:
        proc.wait()
    except KeyboardInterrupt:
        pass
    finally:
        viewer.stop(proc)  # the viewer runs in a session of its own: a terminal's Ctrl-C does not reach it


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
    from .qa import run_tests

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
    from .engine.session import save_session
    from .environments import resolve

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
    """Serve the sandbox until Ctrl-C, printing each app's base URL."""
    import time

    from .sandbox import SandboxServer

    try:
        server = SandboxServer(host, port).start()
    except RunbookError as exc:
        _fail(exc)
    for name, url in server.urls.items():
        typer.echo(f"{name:<9} {url}")
    typer.echo(f"mail      {server.urls['portal']}/_sandbox/outbox\nCtrl-C to stop.")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


def main() -> None:
    """Console entry point."""
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
    sys.exit(code)


if __name__ == "__main__":
    main()
