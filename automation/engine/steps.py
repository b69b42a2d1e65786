"""One handler per step action. Each gets the run context, the step, its record and its YAML path."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urljoin

from automation.engine.agent_steps import ask, escalate, say
from automation.engine.answers import found_in, pattern_at
from automation.engine.conditions import expectation_holds, holds, wake_on
from automation.engine.context import (
    ACTION_TIMEOUT,
    BRANCH_TIMEOUT,
    EXPECT_TIMEOUT,
    NAVIGATION_TIMEOUT,
    Ended,
    RunContext,
)
from automation.engine.locators import to_playwright
from automation.engine.pw import PlaywrightTimeout, translate
from automation.engine.rendering import render_text, template_failure
from automation.engine.step_run import Handler, run_steps
from automation.errors import StepFailed
from automation.schema import (
    Branch,
    Check,
    Click,
    DialogStep,
    End,
    Expect,
    Extract,
    Fill,
    Goto,
    Press,
    Screenshot,
    Select,
    Uncheck,
    Use,
    Wait,
    seconds,
)
from automation.templating import TemplateError

POLL_MS = 100


def _timeout_ms(ctx: RunContext, step: Any, default: float) -> float:
    """The step's timeout (or the default), cut to the time the run has left."""
    return ctx.clamp_s(seconds(step.timeout, default) or default) * 1000


def _locate(ctx: RunContext, loc: Any) -> Any:
    try:
        return to_playwright(ctx.page, loc, ctx.variables)
    except TemplateError as exc:
        raise template_failure(ctx, exc) from exc


# -- page actions -------------------------------------------------------------------------------------------


def goto(ctx: RunContext, step: Goto, record: Any, path: tuple[Any, ...]) -> None:
    from automation.schema import url_problem

    target = render_text(ctx, step.goto)
    url = (
        target
        if target.startswith(("http://", "https://"))
        else urljoin(ctx.base_url + "/", target.lstrip("/"))
    )
    problem = url_problem(url)  # a {{ value }} may have turned the path into javascript: or file:
    if problem:
        raise StepFailed(f"goto {ctx.mask(step.goto)} gave a URL that cannot be opened: {problem}")
    with translate(what=f"opening {url}"):
        response = ctx.page.goto(url, timeout=_timeout_ms(ctx, step, NAVIGATION_TIMEOUT))
    if response is not None and response.status >= 500:
        raise StepFailed(f"opening {url}: the server answered {response.status}")


def fill(ctx: RunContext, step: Fill, record: Any, path: tuple[Any, ...]) -> None:
    value = render_text(ctx, step.with_)
    field = _locate(ctx, step.fill)
    secret = step.secret or value in ctx.secrets
    if secret:
        ctx.add_secret(value)
    with translate(what="filling the field", locator=step.fill.describe()):
        field.fill(value, timeout=_timeout_ms(ctx, step, ACTION_TIMEOUT))
    if secret and ctx.screenshots != "off":  # the mark is for pictures: none are taken
        ctx.typed_secret(field)


def click(ctx: RunContext, step: Click, record: Any, path: tuple[Any, ...]) -> None:
    with translate(what="clicking", locator=step.click.describe()):
        _locate(ctx, step.click).click(timeout=_timeout_ms(ctx, step, ACTION_TIMEOUT))


def select(ctx: RunContext, step: Select, record: Any, path: tuple[Any, ...]) -> None:
    option = render_text(ctx, step.option)
    element = _locate(ctx, step.select)
    with translate(what=f"choosing '{option}'", locator=step.select.describe()):
        try:
            element.select_option(label=option, timeout=_timeout_ms(ctx, step, ACTION_TIMEOUT))
        except Exception as exc:  # noqa: BLE001 - fall back to the option's value, then report the label miss
            if "did not find some options" not in str(exc):
                raise
            element.select_option(value=option, timeout=_timeout_ms(ctx, step, ACTION_TIMEOUT))


def check(ctx: RunContext, step: Check, record: Any, path: tuple[Any, ...]) -> None:
    with translate(what="ticking the box", locator=step.check.describe()):
        _locate(ctx, step.check).check(timeout=_timeout_ms(ctx, step, ACTION_TIMEOUT))


def uncheck(ctx: RunContext, step: Uncheck, record: Any, path: tuple[Any, ...]) -> None:
    with translate(what="unticking the box", locator=step.uncheck.describe()):
        _locate(ctx, step.uncheck).uncheck(timeout=_timeout_ms(ctx, step, ACTION_TIMEOUT))


def press(ctx: RunContext, step: Press, record: Any, path: tuple[Any, ...]) -> None:
    key = render_text(ctx, step.press)  # the message names the step's text, never a rendered secret
    with translate(what=f"pressing {step.press}", locator=step.on.describe() if step.on else None):
        if step.on is not None:
            _locate(ctx, step.on).press(key, timeout=_timeout_ms(ctx, step, ACTION_TIMEOUT))
        else:
            ctx.page.keyboard.press(key)


def screenshot(ctx: RunContext, step: Screenshot, record: Any, path: tuple[Any, ...]) -> None:
    record.label = step.label or f"screenshot {step.screenshot}"


# -- waiting and checking -------------------------------------------------------------------------------------


def _poll(ctx: RunContext, check_once: Any, timeout_s: float, wake: Any | None = None) -> bool:
    """Check until it holds or the time is up. Between checks, wait on `wake` (a locator of what would make it
    hold) so that the page's own change ends the wait, as Playwright's expect does, rather than the next poll;
    a check that cannot be woken (a URL, a dialog, an answer) is polled every POLL_MS."""
    deadline = time.monotonic() + ctx.clamp_s(timeout_s)
    woke = False
    while True:
        ctx.check_stop()  # a cancelled run stops waiting at the next poll, not at the wait's end
        with translate(what="checking the page"):
            if check_once():
                return True
            if time.monotonic() >= deadline:
                return False
            # Lets Playwright deliver events (dialogs) while we wait; never past the deadline.
            pause = min(POLL_MS, max((deadline - time.monotonic()) * 1000, 1))
            if wake is None or woke:  # woken, yet it does not hold: poll, rather than spin on it
                ctx.page.wait_for_timeout(pause)
                woke = False
                continue
            try:
                wake.wait_for(state="visible", timeout=pause)
                woke = True
            except PlaywrightTimeout:
                pass


def _expect(ctx: RunContext, step: Expect | Wait, exp: Any, default: float, verb: str) -> None:
    timeout_s = seconds(step.timeout, default) or default
    wake = None if exp.of is not None else wake_on(ctx.page, [exp], ctx.variables)
    if not _poll(
        ctx, lambda: expectation_holds(ctx.page, exp, ctx.variables, ctx.dialogs.seen), timeout_s, wake
    ):
        raise StepFailed(
            f"{verb} {ctx.mask(render_text(ctx, exp.describe()))}, but it did not happen within {timeout_s:g}s"
        )


def expect(ctx: RunContext, step: Expect, record: Any, path: tuple[Any, ...]) -> None:
    _expect(ctx, step, step.expect, EXPECT_TIMEOUT, "expected")


def wait(ctx: RunContext, step: Wait, record: Any, path: tuple[Any, ...]) -> None:
    _expect(ctx, step, step.wait, NAVIGATION_TIMEOUT, "waited for")


def extract(ctx: RunContext, step: Extract, record: Any, path: tuple[Any, ...]) -> None:
    with translate(what="reading the text", locator=step.extract.describe()):
        text = _locate(ctx, step.extract).inner_text(timeout=_timeout_ms(ctx, step, ACTION_TIMEOUT)).strip()
    if step.pattern:  # page text comes from outside: matched with a time limit
        found = found_in(step.pattern, text, pattern_at(ctx.loaded, ctx.file, path, "pattern"))
        if found is None:
            raise StepFailed(f"the text did not match {step.pattern}: {ctx.mask(text[:200])}")
        text = found
    if step.secret:
        ctx.add_secret(text)
    ctx.variables[step.into] = text
    record.detail = f"{step.into} = {ctx.mask(text)}"


def dialog(ctx: RunContext, step: DialogStep, record: Any, path: tuple[Any, ...]) -> None:
    timeout_s = seconds(step.timeout, EXPECT_TIMEOUT) or EXPECT_TIMEOUT
    if not _poll(ctx, lambda: any(not d.consumed for d in ctx.dialogs.seen), timeout_s):
        raise StepFailed(f"expected a native dialog, but none appeared within {timeout_s:g}s")
    seen = next(d for d in ctx.dialogs.seen if not d.consumed)
    seen.consumed = True
    record.detail = ctx.mask(f'{seen.kind} "{seen.message}" ({seen.answered})')  # a page may alert a secret
    if step.message and render_text(ctx, step.message).lower() not in seen.message.lower():
        raise StepFailed(f'the dialog said "{seen.message}", not "{step.message}"')
    if step.save:
        ctx.variables[step.save] = seen.message


# -- decisions --------------------------------------------------------------------------------------------------


def branch(ctx: RunContext, step: Branch, record: Any, path: tuple[Any, ...]) -> None:
    arms = step.branch.when
    timeout_s = seconds(step.timeout, BRANCH_TIMEOUT) or BRANCH_TIMEOUT
    if all(arm.equals is not None for arm in arms):
        timeout_s = 0  # only answers are tested: nothing on the page will change them
    chosen: list[int] = []

    def decide() -> bool:
        for index, arm in enumerate(arms):
            if holds(ctx.page, arm, ctx.variables, ctx.dialogs.seen):
                chosen.append(index)
                return True
        return False

    if _poll(ctx, decide, timeout_s, wake_on(ctx.page, arms, ctx.variables)):
        index = chosen[0]
        arm = arms[index]
        record.detail = (
            f"matched {ctx.mask(render_text(ctx, arm.describe()))} (when #{index + 1} of {len(arms)})"
        )
        if arm.dialog is not None:
            seen = next(
                d
                for d in ctx.dialogs.seen
                if not d.consumed and render_text(ctx, arm.dialog).lower() in d.message.lower()
            )
            seen.consumed = True
            if arm.save:
                ctx.variables[arm.save] = seen.message
        ctx.report_early(record)
        _run_arm(ctx, arm.steps, arm.end, path + ("branch", "when", index, "steps"), record.number)
        return
    if step.branch.else_ is None:
        expected = "; ".join(ctx.mask(render_text(ctx, a.describe())) or "" for a in arms)
        raise StepFailed(
            f"none of the expected answers appeared within {timeout_s:g}s (expected one of: {expected})"
        )
    record.detail = f"took else: none of the {len(arms)} expected answers appeared within {timeout_s:g}s"
    ctx.report_early(record)
    _run_arm(
        ctx, step.branch.else_.steps, step.branch.else_.end, path + ("branch", "else", "steps"), record.number
    )


def _run_arm(ctx: RunContext, steps: list[Any], end: str | None, path: tuple[Any, ...], number: str) -> None:
    run_steps(ctx, steps, path, f"{number}.", HANDLERS)
    if end is not None:
        raise Ended(end)


def end(ctx: RunContext, step: End, record: Any, path: tuple[Any, ...]) -> None:
    raise Ended(step.end)


def use(ctx: RunContext, step: Use, record: Any, path: tuple[Any, ...]) -> None:
    from automation.engine.subrunbook import run_sub

    run_sub(ctx, step, record, HANDLERS)


HANDLERS: dict[str, Handler] = {
    "goto": goto,
    "fill": fill,
    "click": click,
    "select": select,
    "check": check,
    "uncheck": uncheck,
    "press": press,
    "screenshot": screenshot,
    "expect": expect,
    "wait": wait,
    "extract": extract,
    "dialog": dialog,
    "branch": branch,
    "end": end,
    "say": say,
    "ask": ask,
    "escalate": escalate,
    "use": use,
}
