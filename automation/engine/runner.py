"""Execute one loaded runbook in a fresh browser context, and keep its evidence whatever happens.

Order at the end of every run, success, failure, fault or Ctrl-C alike: the `finally:` steps, the trace
stopped and scrubbed of secrets, the context closed, the ticket opened for an escalation (with the
finished evidence attached), run.json and the report written. Nothing gathered is lost.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..environments import Target
from ..errors import ExitCode, MissingAnswerError, RunbookError, StepFailed, TargetUnreachableError
from ..evidence.folder import RunFolder, evidence_root, new_run_id
from ..loader import Catalog, LoadedRunbook
from ..result import RunResult
from .answers import Prompter
from .browser import pool
from .context import Ended, Reporter, RunContext, SilentReporter, run_steps
from .finish import finish_evidence
from .pw import translate
from .steps import HANDLERS


@dataclass(frozen=True)
class RunOptions:
    headed: bool = False
    chromium: str | None = None
    evidence_root: Path | None = None
    run_id: str | None = None
    browser: Any = None  # a Playwright Browser to use instead of the pool's (pytest-playwright's fixture)
    data_dir: Path | None = None  # the ticket store's folder (None: RUNBOOK_DATA or ./.runbook)


def _variables(loaded: LoadedRunbook, inputs: dict[str, Any], target: Target) -> dict[str, Any]:
    variables: dict[str, Any] = {
        name: inputs.get(name, spec.default) for name, spec in loaded.model.inputs.items()
    }
    variables["credentials"] = target.credentials
    return variables


def _secrets(loaded: LoadedRunbook, variables: dict[str, Any], target: Target) -> set[str]:
    found = {
        str(variables[n])
        for n, spec in loaded.model.inputs.items()
        if spec.type == "secret" and variables.get(n)
    }
    for cred in target.credentials.values():
        if cred.get("password"):
            found.add(cred["password"])
    return found


def execute(
    loaded: LoadedRunbook,
    inputs: dict[str, Any],
    target: Target,
    *,
    catalog: Catalog,
    answers: dict[str, Any] | None = None,
    prompter: Prompter | None = None,
    reporter: Reporter | None = None,
    options: RunOptions = RunOptions(),
) -> RunResult:
    """Run it; returns a RunResult whose status says how it ended (never raises for a failed step)."""
    run_id = options.run_id or new_run_id(loaded.name)
    folder = RunFolder(options.evidence_root or evidence_root(), run_id)
    started = time.monotonic()
    variables = _variables(loaded, inputs, target)
    ctx = RunContext(
        loaded=loaded,
        catalog=catalog,
        target=target,
        page=None,
        folder=folder,
        variables=variables,
        given={**inputs, **(answers or {})},
        prompter=prompter,
        reporter=reporter or SilentReporter(),
        data_dir=options.data_dir,
    )
    for secret in _secrets(loaded, variables, target):
        ctx.add_secret(secret)
    status, outcome, error, exit_code = "error", None, None, ExitCode.UNREACHABLE
    context = None
    try:
        browser = options.browser or pool().browser(
            headless=not options.headed, executable_path=options.chromium
        )
        with translate(what="opening a browser context"):
            session = target.session_for(loaded.model.app)
            context = browser.new_context(
                viewport={"width": 1280, "height": 900}, storage_state=str(session) if session else None
            )
            context.tracing.start(
                screenshots=True, snapshots=True, sources=False, title=f"{loaded.name} {run_id}"
            )
            ctx.page = context.new_page()
        ctx.page.on("dialog", ctx.on_dialog)
        status, outcome, error, exit_code = _run_main(ctx)
    except TargetUnreachableError as exc:
        status, error, exit_code = "error", ctx.mask(str(exc)), ExitCode.UNREACHABLE
    except KeyboardInterrupt:
        status, error, exit_code = (
            "aborted",
            "interrupted (Ctrl-C); the evidence gathered so far is saved",
            ExitCode.INTERRUPTED,
        )
    finally:
        if context is not None:
            status, error, exit_code = _run_finally(ctx, status, error, exit_code)
    summary = _summary(loaded, status, outcome, error)
    return finish_evidence(
        ctx,
        context,
        run_id=run_id,
        status=status,
        outcome=outcome,
        summary=summary,
        error=error,
        exit_code=int(exit_code),
        duration_s=time.monotonic() - started,
    )


def _run_main(ctx: RunContext) -> tuple[str, str | None, str | None, ExitCode]:
    outcomes = ctx.loaded.model.outcomes
    try:
        run_steps(ctx, ctx.loaded.model.steps, ("steps",), "", HANDLERS)
    except Ended as ended:
        state = outcomes[ended.outcome].status
        status = {"resolved": "passed", "escalated": "escalated", "failed": "failed"}[state]
        return status, ended.outcome, None, ExitCode.RESOLVED if status == "passed" else ExitCode.NOT_RESOLVED
    except MissingAnswerError as exc:
        return "error", None, ctx.mask(str(exc)), ExitCode.BAD_INPUT
    except StepFailed as exc:
        return "failed", None, ctx.mask(str(exc)), ExitCode.NOT_RESOLVED
    return "passed", None, None, ExitCode.RESOLVED


def _run_finally(
    ctx: RunContext, status: str, error: str | None, exit_code: ExitCode
) -> tuple[str, str | None, ExitCode]:
    steps = ctx.loaded.model.finally_
    if not steps:
        return status, error, exit_code
    try:
        run_steps(ctx, steps, ("finally",), "f", HANDLERS)
    except (RunbookError, Ended, KeyboardInterrupt) as exc:
        if status == "passed":  # a cleanup failure must not hide behind a success
            return "failed", ctx.mask(f"the finally: steps failed: {exc}"), ExitCode.NOT_RESOLVED
    return status, error, exit_code


def _summary(loaded: LoadedRunbook, status: str, outcome: str | None, error: str | None) -> str:
    if outcome is not None:
        declared = loaded.model.outcomes[outcome]
        return declared.summary or outcome
    if status == "passed":
        return "All steps passed."
    return (error or status).splitlines()[0]
