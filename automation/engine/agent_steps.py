"""The steps that talk to the agent: `say` an instruction, `ask` a question (an answer given up front, the
mailbox, or the agent through the prompter), `escalate` with the agent's notes."""

from __future__ import annotations

import time
from typing import Any

from automation.engine.answers import Question, how_to_give, normalise, pattern_at, read_mailbox
from automation.engine.context import BRANCH_TIMEOUT, Escalation, RunContext
from automation.engine.rendering import render_text
from automation.errors import MissingAnswerError, StepFailed
from automation.schema import Ask, Escalate, Say, seconds
from automation.templating import TemplateError, render_any


def say(ctx: RunContext, step: Say, record: Any, path: tuple[Any, ...]) -> None:
    text = ctx.mask(render_text(ctx, step.say)) or ""
    record.label = step.label or text
    ctx.reporter.say(text)


MAILED = "mail outbox"  # the source an answer read from the sandbox's outbox is shown with


def _answer(ctx: RunContext, step: Ask, path: tuple[Any, ...]) -> tuple[Any, str]:
    if step.ask in ctx.given and ctx.given[step.ask] not in (None, ""):
        return ctx.given[step.ask], "given"
    if step.from_mail is not None and ctx.mailbox:
        timeout_s = seconds(step.timeout, BRANCH_TIMEOUT) or BRANCH_TIMEOUT
        found = read_mailbox(
            ctx.mailbox,
            step.from_mail,
            ctx.variables,
            timeout_s=ctx.clamp_s(timeout_s),
            # mails from before the run (or the step) are someone else's, or an older code
            since=ctx.started_at if step.from_mail.since == "run" else time.time(),
            where=pattern_at(ctx.loaded, ctx.file, path, "from_mail", "pattern"),
        )
        if found is None:
            raise StepFailed(
                f"no mail to {render_text(ctx, step.from_mail.to)} matched {step.from_mail.pattern} "
                f"within {timeout_s:g}s (mails that arrived since the {step.from_mail.since} started, in "
                f"{getattr(ctx.mailbox, 'describe', lambda: f'the mail outbox at {ctx.mailbox}')()})"
            )
        return found, MAILED if isinstance(ctx.mailbox, str) else "mailbox"
    if ctx.prompter is None:
        is_input = step.ask in ctx.loaded.model.inputs
        raise MissingAnswerError(
            f"'{step.ask}' is needed ({step.prompt}) and there is no terminal to ask on: "
            f"{how_to_give(step.ask, is_input)}"
        )
    for _ in range(3):
        question = Question(
            name=step.ask,
            prompt=render_text(ctx, step.prompt),
            kind=step.kind,
            secret=step.secret,
            pattern=step.pattern,
            pattern_hint=step.pattern_hint,
            step=ctx.records[-1].number if ctx.records else "",
        )
        raw = ctx.prompter.ask(question)
        try:
            return normalise(step, raw, where=pattern_at(ctx.loaded, ctx.file, path, "pattern")), "agent"
        except ValueError as exc:
            ctx.reporter.say(f"That answer won't do: {exc}.")
    raise StepFailed(f"no valid answer for '{step.ask}' after 3 tries")


def ask(ctx: RunContext, step: Ask, record: Any, path: tuple[Any, ...]) -> None:
    raw, source = _answer(ctx, step, path)
    # a mailed code is a secret even if the runbook forgot to say so
    secret = step.secret or source in (MAILED, "mailbox")
    if secret:
        ctx.add_secret(str(raw))
    try:
        value = normalise(step, raw, where=pattern_at(ctx.loaded, ctx.file, path, "pattern"))
    except ValueError as exc:
        raise StepFailed(f"the answer for '{step.ask}' ({source}) won't do: {exc}") from exc
    ctx.variables[step.ask] = value
    shown = "••••••" if secret else ("yes" if value is True else "no" if value is False else value)
    record.detail = f"{step.ask} = {shown} (from {source})"


def escalate(ctx: RunContext, step: Escalate, record: Any, path: tuple[Any, ...]) -> None:
    spec = step.escalate
    try:
        title = ctx.mask(render_text(ctx, spec.title)) or ""
        customer = {k: ctx.mask(v) or "" for k, v in render_any(spec.customer, ctx.variables).items()}
        notes = ctx.mask(render_text(ctx, spec.notes or "")) or ""
    except TemplateError as exc:
        raise StepFailed(str(exc)) from exc
    if spec.ask_notes:
        extra = ctx.given.get("notes")
        if extra is None and ctx.prompter is not None:
            extra = ctx.prompter.ask(
                Question("notes", "Your notes for the ticket (what the customer said, what you tried)")
            )
        if extra:
            notes = (notes + "\n\nAgent's notes: " + (ctx.mask(str(extra)) or "")).strip()
    ctx.escalations.append(Escalation(spec.queue, title, customer, notes, record.number))
    record.detail = f"ticket to {spec.queue} opened when the run ends, with its evidence"
