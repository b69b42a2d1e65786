"""`use`: another runbook as a sub-procedure on the same page, with its own variables."""

from __future__ import annotations

import dataclasses
from typing import Any

from automation.engine.context import Ended, RunContext
from automation.engine.step_run import Handler, run_steps
from automation.errors import StepFailed
from automation.schema import Use
from automation.step_labels import display_path
from automation.templating import TemplateError, render_any


def run_sub(ctx: RunContext, step: Use, record: Any, handlers: dict[str, Handler]) -> None:
    """Run the sub-runbook; map its outcome (continue, or end this run) and copy its outputs back."""
    sub = ctx.catalog.get(step.use)
    try:
        given = render_any(step.with_, ctx.variables)
    except TemplateError as exc:
        raise StepFailed(str(exc)) from exc
    variables: dict[str, Any] = {"credentials": ctx.variables.get("credentials", {})}
    for name, spec in sub.model.inputs.items():
        value = given.get(name, spec.default)
        if spec.type == "secret":
            ctx.add_secret(value)
        variables[name] = value
    child = dataclasses.replace(
        ctx, loaded=sub, variables=variables, given={**ctx.given, **given}, file=display_path(sub.path)
    )
    ctx.report_early(record)
    outcome: str | None = None
    try:
        run_steps(child, sub.model.steps, ("steps",), f"{record.number}.", handlers)
    except Ended as ended:
        outcome = ended.outcome
    finally:
        if sub.model.finally_:
            run_steps(child, sub.model.finally_, ("finally",), f"{record.number}.f", handlers)
    for name in step.outputs:
        ctx.variables[name] = child.variables.get(name)
    if step.save_outcome:
        ctx.variables[step.save_outcome] = outcome
    record.detail = f"{step.use} ended in {outcome or 'its last step'}"
    _follow(ctx, step, sub.model.outcomes, outcome)


def _follow(ctx: RunContext, step: Use, outcomes: dict[str, Any], outcome: str | None) -> None:
    if outcome is None:
        return
    mapped = step.then.get(outcome)
    if mapped == "continue":
        return
    if mapped is not None:
        raise Ended(mapped)
    if outcomes[outcome].status != "resolved":
        raise Ended(outcome)  # the loader made sure this runbook declares it
