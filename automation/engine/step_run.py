"""The wrapper every step goes through: one step's options, timing, picture and failure report.

It gives each step the same options (label, optional, timeout, retry), records it, takes its screenshot, and
turns a failure into a report a person can act on: the step's number, label and YAML line, the locator, what
the page showed instead, the variables it used (secrets masked), the screenshot.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from automation.engine.context import CHANGES_PAGE, STILL_LOADING, RunContext
from automation.errors import (
    Interrupted,
    RunbookError,
    RunStopped,
    RunTimedOut,
    StepFailed,
    TargetUnreachableError,
)
from automation.result import StepRecord
from automation.schema import Branch, DialogStep, StepBase, seconds
from automation.step_labels import describe_step, display_path


class StepReported(StepFailed):
    """A step failed and its failure is recorded; enclosing steps (branch, use) let it pass through."""


def _dialog_response(step: StepBase | None) -> str | None:
    if isinstance(step, DialogStep):
        return step.dialog
    if isinstance(step, Branch):
        arms = [arm for arm in step.branch.when if arm.dialog is not None]
        return arms[0].respond if arms else None
    return None


Handler = Callable[[RunContext, Any, StepRecord, tuple[Any, ...]], None]


def run_steps(
    ctx: RunContext, steps: list[Any], path: tuple[Any, ...], prefix: str, handlers: dict[str, Handler]
) -> None:
    """Run steps in order; an `end` raises Ended; a failure raises StepFailed after recording it."""
    for index, step in enumerate(steps):
        following = steps[index + 1] if index + 1 < len(steps) else None
        ctx.dialogs.policy = _dialog_response(step) or _dialog_response(following)
        number = f"{prefix}{index + 1}"
        run_step(ctx, step, path + (index,), number, handlers)


def run_step(
    ctx: RunContext, step: StepBase, path: tuple[Any, ...], number: str, handlers: dict[str, Handler]
) -> None:
    record = StepRecord(
        number=number,
        action=step.action,
        label=ctx.mask(step.label or describe_step(step)) or "",
        line=ctx.loaded.line_of(path),
        file=ctx.file or display_path(ctx.loaded.path),
    )
    locator = getattr(step, step.action, None)
    if hasattr(locator, "describe") and step.action not in ("branch", "expect", "wait", "escalate"):
        record.locator = locator.describe()
    ctx.records.append(record)
    ctx.reporter.step_started(record)
    started = ctx.step_started = time.monotonic()
    try:
        _attempts(ctx, step, record, path, handlers)
    except StepReported:
        raise
    except (TargetUnreachableError, RunTimedOut, RunStopped) as exc:
        _fault(ctx, record, exc)
        raise
    except KeyboardInterrupt as exc:
        name = exc.name if isinstance(exc, Interrupted) else "Ctrl-C"
        record.status, record.error = "failed", f"interrupted ({name}) during this step"
        raise
    finally:
        record.duration_s = round(time.monotonic() - started, 3)
        record.variables = ctx.masked_variables(step)
        if _pictured(ctx, step) and record.screenshot is None and record.status != "failed":
            ctx.screenshot(record)
        if id(record) not in ctx.reported:
            ctx.reporter.step_finished(record)


def _attempts(
    ctx: RunContext, step: StepBase, record: StepRecord, path: tuple[Any, ...], handlers: dict[str, Handler]
) -> None:
    """The step's attempts (retry), each bounded by the run's time limit; optional misses are warnings."""
    from automation.engine.pw import translate

    attempts = step.retry.attempts if step.retry else 1
    interval = seconds(step.retry.interval, 1.0) if step.retry else 0.0
    for attempt in range(1, attempts + 1):
        record.attempts = attempt
        try:
            _check_time(ctx, record)
            with translate(what=f"step {record.number}"):  # any Playwright error a handler let through
                handlers[step.action](ctx, step, record, path)
            _check_target(ctx)
            _raise_unexpected_dialog(ctx)
            return
        except StepReported:
            raise
        except StepFailed as exc:
            _check_time(ctx, record)  # a wait cut short by the time limit is the limit's failure
            _check_target(ctx)  # a page that became chrome-error:// means the target, not the step
            if attempt < attempts:
                failed = f"attempt {attempt} of {attempts} failed: {ctx.mask(str(exc))}"
                record.detail = (
                    f"{record.detail}; {failed}" if record.detail else failed
                )  # every attempt kept
                time.sleep(ctx.clamp_s(interval or 0))
                continue
            if step.optional:
                record.status, record.error = "warning", ctx.mask(str(exc))
                return
            _fail(ctx, step, record, exc)


def _check_time(ctx: RunContext, record: StepRecord) -> None:
    """Raise RunStopped if the run was cancelled, RunTimedOut once its time limit is reached."""
    ctx.check_stop()
    if ctx.out_of_time():
        reached = ctx.limit_text.format(limit=ctx.time_limit_s or 0)
        raise RunTimedOut(f"{reached} during step {record.number} ({record.label})")


def _check_target(ctx: RunContext) -> None:
    """Raise TargetUnreachableError if the page became Chromium's error page (the target stopped answering)."""
    try:
        url = ctx.page.url if ctx.page is not None else ""
    except Exception:  # noqa: BLE001 - a closed page is reported by the call that needed it
        return
    if not url.startswith("chrome-error://"):
        return
    failure = ctx.net.failure or "no answer"
    where = f"loading {ctx.mask(ctx.net.url)}" if ctx.net.url else "loading the next page"
    raise TargetUnreachableError(
        f"the target stopped answering: {where} failed ({failure}). Is it up? Check it and run again."
    )


def _fault(ctx: RunContext, record: StepRecord, exc: RunbookError) -> None:
    """The step in flight when a fault ends the run: failed, with what the page showed if it still can.

    Only the innermost step records it; the steps around it (a branch, a `use`) keep what they did."""
    if getattr(exc, "located", False):
        return
    record.status = "failed"
    record.error = ctx.mask(str(exc))
    if "the browser closed or crashed" not in str(exc):  # a dead browser has nothing left to show
        record.page_url, record.page_text = ctx.page_state()
        if record.page_text != STILL_LOADING and ctx.screenshots != "off":
            ctx.screenshot(record, own=True)
    if isinstance(exc, RunStopped):  # stopped from outside: who or what stopped it, and where; no page dump
        exc.args = (f"{record.error} at step {record.number} ({record.label})",)
        exc.located = True  # type: ignore[attr-defined]
        return
    lines = failure_message(record).splitlines()
    if isinstance(exc, RunTimedOut):
        where = f"{record.file}:{record.line}" if record.line else (record.file or "")
        lines[0] = f"{record.error} (at {where})"
    exc.args = ("\n".join(lines),)
    exc.located = True  # type: ignore[attr-defined]


def _raise_unexpected_dialog(ctx: RunContext) -> None:
    seen, ctx.dialogs.unexpected = ctx.dialogs.unexpected, None
    if seen is not None:
        raise StepFailed(
            f'an unexpected {seen.kind} appeared: "{seen.message}". It was dismissed. Handle it with a '
            "`dialog:` step or a `when: {dialog: ...}` arm right after this step."
        )


def _fail(ctx: RunContext, step: StepBase, record: StepRecord, exc: RunbookError) -> None:
    from automation.engine.locators import nearest_names, step_locator

    record.status = "failed"
    loc = step_locator(step)
    # a locator that matched nothing: the names of that kind the page does have ("did you mean 'Username'?")
    hint = nearest_names(ctx.page, loc, ctx.variables) if loc and "did not appear" in str(exc) else ""
    record.error = ctx.mask(str(exc) + hint)
    record.page_url, record.page_text = ctx.page_state()  # bounded: the page may still be loading
    # a loading page has nothing new to show; the trace has its frames
    if record.page_text != STILL_LOADING and ctx.screenshots != "off":
        ctx.screenshot(record, own=True)
    raise StepReported(failure_message(record)) from exc


def _pictured(ctx: RunContext, step: StepBase) -> bool:
    """Whether this step gets its picture under the run's screenshot policy (an explicit `screenshot:` step
    always does, unless pictures are off)."""
    if ctx.screenshots == "off" or step.action not in CHANGES_PAGE:
        return False
    return ctx.screenshots == "each-step" or step.action == "screenshot"


def failure_message(record: StepRecord) -> str:
    where = f"{record.file}:{record.line}" if record.line else (record.file or "")
    lines = [f"step {record.number} ({record.label}) failed at {where}: {record.error}"]
    if record.locator:
        lines.append(f"  locator: {record.locator}")
    if record.page_url:
        lines.append(f"  page: {record.page_url}")
    if record.page_text:
        lines.append(f"  the page showed: {record.page_text[:300]}")
    if record.variables:
        lines.append("  variables: " + ", ".join(f"{k}={v}" for k, v in record.variables.items()))
    if record.screenshot:
        lines.append(f"  screenshot: {record.screenshot}")
    return "\n".join(lines)
