"""`runbook run NAME --INPUT VALUE ...`: a click command built from the runbook's inputs, over api.run.

Imports stay cheap at start-up: click, the loader, the engine and the console come in with the run itself."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from automation.cli.output import fail as _fail
from automation.errors import RunbookError

if TYPE_CHECKING:
    import click

CATALOG_HELP = "Also find runbooks in this folder (repeatable; before RUNBOOK_PATH or ./runbooks)."


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


def runbook_command(name: str, as_json: bool) -> click.Command:
    """A click command whose options are this runbook's inputs plus the common run options."""
    import click

    from automation.catalog import catalog_for, load_runbook

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


def catalog_args(args: list[str]) -> list[Path]:
    """The --catalog DIR of a run's options, needed before its runbook is looked up by name."""
    found = [Path(a.split("=", 1)[1]) for a in args if a.startswith("--catalog=")]
    found += [Path(args[i + 1]) for i, a in enumerate(args[:-1]) if a == "--catalog"]
    return found


def _help(model: Any) -> str:
    outcomes = ", ".join(f"{n} ({o.status})" for n, o in model.outcomes.items())
    return f"{model.title}\n\n{(model.description or '').strip()}\n\nOutcomes: {outcomes}"


def _run_command(loaded: Any, kwargs: dict[str, Any], catalog: Any) -> None:
    import click

    from automation import api
    from automation.cli.terminal import ConsolePrompter, ConsoleReporter, is_interactive, render_result
    from automation.environments import parse_base_urls

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
    from automation.evidence.folder import check_writable
    from automation.paths import data_dir, evidence_root

    check_writable(
        Path(traces) if traces else evidence_root(), "--traces" if traces else "the evidence folder"
    )
    check_writable(data_dir(), "the data folder (RUNBOOK_DATA)")


def _answers(pairs: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            from automation.errors import InputValueError

            raise InputValueError("answer", f"'{pair}': write NAME=VALUE, e.g. --answer ends_with_symbol=no")
        out[name.strip()] = value
    return out


def _prompt_missing_secrets(loaded: Any, inputs: dict[str, Any], interactive: bool) -> dict[str, Any]:
    """Required secret inputs not given are asked without echo, so they stay out of shell history."""
    import getpass

    from automation.api import asked_in_steps

    asked = asked_in_steps(loaded)
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
