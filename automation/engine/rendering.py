"""A step's text rendered with the run's variables, and a template failure a person can act on."""

from __future__ import annotations

from automation.engine.context import RunContext
from automation.errors import StepFailed
from automation.templating import TemplateError, render


def render_text(ctx: RunContext, text: str) -> str:
    try:
        return render(text, ctx.variables)
    except TemplateError as exc:
        raise template_failure(ctx, exc) from exc


def template_failure(ctx: RunContext, exc: TemplateError) -> StepFailed:
    """A login reached on this path only (so not checked before the run) whose variable is unset names it."""
    head, _, rest = (exc.name or "").partition(".")
    cred, _, part = rest.partition(".")
    variable = ctx.target.credential_env.get(cred, {}).get(part) if head == "credentials" else None
    if variable:
        return StepFailed(
            f"credentials '{cred}' has no {part}: the environment variable {variable} is not set. "
            f"Set it (or put it in the secrets file) and run again."
        )
    return StepFailed(str(exc))
