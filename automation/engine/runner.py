"""Execute one loaded runbook in a fresh browser context, and keep its evidence whatever happens.

Order at the end of every run, success, failure, fault, time limit, Ctrl-C or SIGTERM alike: the `finally:`
steps (a small budget after a time limit or a signal), the trace stopped and scrubbed of secrets, the context
closed, the ticket opened for an escalation (with the finished evidence attached), run.json and the report
written, the audit line. That save is shielded from a second signal. Nothing gathered is lost.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from automation.catalog import Catalog
from automation.engine.answers import Prompter
from automation.engine.browser import VIEWPORT, pool
from automation.engine.context import Ended, Reporter, RunContext, SilentReporter
from automation.engine.finish import finish_evidence
from automation.engine.pw import translate
from automation.engine.signals import SignalGuard, describe, guarded
from automation.engine.step_run import run_steps
from automation.engine.steps import HANDLERS
from automation.environments import Target
from automation.errors import (
    ExitCode,
    MissingAnswerError,
    RunbookError,
    RunStopped,
    RunTimedOut,
    StepFailed,
    TargetUnreachableError,
)
from automation.evidence.folder import RunFolder, new_run_id
from automation.loader import LoadedRunbook
from automation.paths import evidence_root
from automation.result import RunResult

# What the `finally:` steps get after the run hit its time limit or was interrupted: cleanup, not a new run.
FINALLY_BUDGET_S = 5.0


@dataclass(frozen=True)
class RunOptions:
    headed: bool = False
    chromium: str | None = None
    evidence_root: Path | None = None
    run_id: str | None = None
    browser: Any = None  # a Playwright Browser to use instead of the pool's (pytest-playwright's fixture)
    data_dir: Path | None = None  # the ticket store's folder (None: RUNBOOK_DATA or ./.runbook)
    deadline_s: float | None = None  # a wall-clock cap on the whole run, from the start of execute()
    screenshots: str = "each-step"  # result.Screenshots: each-step, on-failure or off
    # Asked between steps and while a step waits: a RunStopped to end the run with (the console's cancel).
    stop: Callable[[], RunStopped | None] | None = None


@dataclass
class _Ending:
    """How the steps ended, and what finishing needs (the context may never have opened)."""

    status: str = "error"
    outcome: str | None = None
    error: str | None = None
    exit_code: ExitCode = ExitCode.UNREACHABLE
    context: Any = None
    live_traces: Path | None = None


def _variables(loaded: LoadedRunbook, inputs: dict[str, Any], target: Target) -> dict[str, Any]:
    variables: dict[str, Any] = {
        name: inputs.get(name, spec.default) for name, spec in loaded.model.inputs.items()
    }
    variables["credentials"] = target.credentials
    return variables


def _secrets(loaded: LoadedRunbook, variables: dict[str, Any], target: Target) -> set[str]:
    """Secret inputs (as used: stripped), credentials' passwords and passwords in app URLs (user:pass@host).

    Raises ConfigError (exit 2, before a browser starts) for a password too short to mask."""
    from automation.engine.credentials import target_secrets
    from automation.redaction.canon import (
        canonical,  # imported here: the secrets' part of the runner is this function
    )

    found = {
        canonical(str(variables[n]))
        for n, spec in loaded.model.inputs.items()
        if spec.type == "secret" and variables.get(n)
    }
    return found | target_secrets(target)


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
    """Run it; returns a RunResult whose status says how it ended (never raises for a failed step).

    Raises Interrupted only for a signal that arrived while the evidence of an otherwise finished run was being
    saved: the evidence is complete, and the caller should stop."""
    started = time.monotonic()
    run_id = options.run_id or new_run_id(loaded.name)
    folder = RunFolder(options.evidence_root or evidence_root(), run_id)
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
        deadline=started + options.deadline_s if options.deadline_s else None,
        time_limit_s=options.deadline_s,
        screenshots=options.screenshots,
        stop=options.stop,
    )
    for secret in _secrets(loaded, variables, target):
        ctx.add_secret(secret)
    with guarded() as guard:
        ending = _execute_steps(ctx, options, run_id, guard)
        result = finish_evidence(
            ctx,
            ending.context,
            run_id=run_id,
            status=ending.status,
            outcome=ending.outcome,
            summary=_summary(loaded, ending.status, ending.outcome, ending.error),
            error=ending.error,
            exit_code=int(ending.exit_code),
            duration_s=time.monotonic() - started,
            live_traces=ending.live_traces,
            noted_signals=guard.noted,
        )
    if guard.noted and result.status != "aborted":
        raise guard.noted[0]  # it came while an otherwise finished run was saved: stop, now that it is safe
    return result


def _execute_steps(ctx: RunContext, options: RunOptions, run_id: str, guard: SignalGuard) -> _Ending:
    """Open the context, run the steps and the `finally:` steps; then shield what follows from signals."""
    ending = _Ending()
    try:
        try:
            browser, ending.live_traces = _browser(options)
            ending.context = _open_context(ctx, browser, run_id)
            ending.status, ending.outcome, ending.error, ending.exit_code = _run_main(ctx)
        except TargetUnreachableError as exc:
            ending.status, ending.error, ending.exit_code = "error", ctx.mask(str(exc)), ExitCode.UNREACHABLE
        except KeyboardInterrupt as exc:
            # From the first signal on, more signals are only noted: raised again inside Playwright's event
            # dispatch they print its tracebacks; the `finally:` steps have a budget of their own instead.
            guard.shield()
            name, code = describe(exc)
            ending.status, ending.exit_code = "aborted", code
            ending.error = f"interrupted ({name}); the evidence gathered so far is saved"
        if ending.context is not None:
            _cleanup_budget(ctx, ending.status)
            ending.status, ending.error, ending.exit_code = _run_finally(
                ctx, ending.status, ending.error, ending.exit_code
            )
    finally:
        guard.shield()  # from here on the evidence is being saved: a second signal is noted, not raised
    return ending


def _browser(options: RunOptions) -> tuple[Any, Path | None]:
    """The browser, and where its live traces are written (known only for the pool's own browsers)."""
    if options.browser is not None:
        return options.browser, None
    owner = pool()
    return owner.browser(headless=not options.headed, executable_path=options.chromium), owner.traces_dir


def _open_context(ctx: RunContext, browser: Any, run_id: str) -> Any:
    with translate(what="opening a browser context"):
        session = ctx.target.session_for(ctx.loaded.model.app)
        # A context prepared while the server was idle (browser.BrowserPool.prepare) is as fresh as a new one;
        # a run that starts from a saved session needs its own.
        spare = None if session else pool().take_spare(browser)
        if spare is not None:
            context, page = spare
        else:
            context = browser.new_context(viewport=VIEWPORT, storage_state=str(session) if session else None)
            page = None
        # Named, so that what was recorded before a browser crash can be found in the live traces folder.
        # No screencast: the scrubber must drop its frames whenever a secret is set (nothing reads a secret off
        # a picture), they cost about a tenth of a run, and the per-step screenshots are the pictures we keep.
        context.tracing.start(
            screenshots=False,
            snapshots=True,
            sources=False,
            name=run_id,
            title=f"{ctx.loaded.name} {run_id}",
        )
        ctx.page = page if page is not None else context.new_page()
    ctx.page.on("dialog", ctx.on_dialog)
    ctx.page.on("requestfailed", ctx.on_request_failed)
    return context


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
    except RunTimedOut as exc:
        return "timed-out", None, ctx.mask(str(exc)), ExitCode.NOT_RESOLVED
    except RunStopped as exc:
        return exc.status, None, ctx.mask(str(exc)), ExitCode.NOT_RESOLVED
    except StepFailed as exc:
        return "failed", None, ctx.mask(str(exc)), ExitCode.NOT_RESOLVED
    return "passed", None, None, ExitCode.RESOLVED


def _cleanup_budget(ctx: RunContext, status: str) -> None:
    """After a time limit, a signal or a stop, the `finally:` steps get a small budget of their own (and a
    cancelled run's cleanup is not cancelled in turn)."""
    if status not in ("timed-out", "aborted", "cancelled", "unanswered"):
        return
    ctx.stop = None
    ctx.deadline = time.monotonic() + FINALLY_BUDGET_S
    ctx.time_limit_s = FINALLY_BUDGET_S
    ctx.limit_text = "the finally: steps hit their {limit:g}s budget (cleanup after the run had stopped)"


def _run_finally(
    ctx: RunContext, status: str, error: str | None, exit_code: ExitCode
) -> tuple[str, str | None, ExitCode]:
    steps = ctx.loaded.model.finally_
    if not steps:
        return status, error, exit_code
    try:
        run_steps(ctx, steps, ("finally",), "f", HANDLERS)
    except KeyboardInterrupt as exc:  # a second signal stops the cleanup, never the save
        if status != "aborted":
            name, code = describe(exc)
            return "aborted", f"interrupted ({name}) during the finally: steps; the evidence is saved", code
    except (RunbookError, Ended) as exc:
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
