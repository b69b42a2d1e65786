"""The console's pages for runs, rendered on the server so they work with JavaScript off: a runbook's start
form, the run page (steps, the question card, cancel, the outcome), the run history and, for admins, the audit
log. static/run.js only makes the run page live (the event stream) and posts its forms to the JSON API.

Every page asks RunService (which asks permissions.allowed) and renders its refusals through error.html.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from automation.console import pages
from automation.console.context import Console, actor_of, console_of
from automation.console.evidence_routes import folder_of, outside_run
from automation.console.pages import render
from automation.console.permissions import Action, Actor, allowed
from automation.console.run_views import (
    day_range,
    field_message,
    form_fields,
    latest_screenshot,
    ordinal,
    question_hint,
    question_hints,
    seconds,
    submitted_inputs,
    timeline,
    when,
)
from automation.console.runs import audit, events
from automation.console.runs.records import RunQuery
from automation.console.runs.service import NotFound, RunService, http_status
from automation.console.security import require_csrf
from automation.errors import InputValueError, RunbookError, RunbookLoadError
from automation.loader import LoadedRunbook

router = APIRouter(dependencies=[Depends(require_csrf)], include_in_schema=False)


def may_audit(actor: Actor | None) -> bool:
    """For the header's navigation: the audit log is a site-wide grant (teams do not enter into it)."""
    return actor is not None and allowed(actor, Action.AUDIT_VIEW, None, {})


pages.templates.globals.update(may_audit=may_audit, when=when, seconds=seconds, ordinal=ordinal)


def service(console: Console) -> RunService:
    assert console.runs is not None, "create_app sets the run service"
    return console.runs


def problem(request: Request, exc: RunbookError) -> Response:
    status = http_status(exc)
    return render(request, "error.html", status, status=status, message=str(exc))


# -- starting a run -------------------------------------------------------------------------------------------


@router.get("/runbooks/{name}")
async def start_page(request: Request, name: str) -> Response:
    """The start form of a runbook the agent's team may run."""
    console, actor = console_of(request), actor_of(request)
    try:
        loaded = await run_in_threadpool(service(console).runbook, actor, name)
    except RunbookError as exc:
        return problem(request, exc)
    return render(request, "runbook_start.html", runbook=loaded.model, fields=form_fields(loaded))


@router.post("/runbooks/{name}/runs")
async def start_run(request: Request, name: str) -> Response:
    """Queue the run and go to its page; a value that will not do shows the form again, its field marked."""
    console, actor = console_of(request), actor_of(request)
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    inputs = submitted_inputs(form)
    ticket = form.get("external_ticket", "").strip() or None
    runs = service(console)
    try:
        row, _ = await run_in_threadpool(lambda: runs.start(actor, name, inputs, external_ticket=ticket))
    except InputValueError as exc:
        loaded = await run_in_threadpool(runs.runbook, actor, name)
        fields = form_fields(loaded, inputs, {exc.name: field_message(exc)})
        known = {f.name for f in fields}
        return render(
            request,
            "runbook_start.html",
            422,
            runbook=loaded.model,
            fields=fields,
            ticket=ticket or "",
            ticket_error=field_message(exc) if exc.name == "external_ticket" else None,
            error=None if exc.name in known or exc.name == "external_ticket" else str(exc),
        )
    except RunbookError as exc:
        return problem(request, exc)
    return RedirectResponse(f"/runs/{row.id}", status_code=303)


# -- the run page ---------------------------------------------------------------------------------------------


def run_view(console: Console, actor: Actor, run_id: str) -> dict[str, Any]:
    """Everything the run page shows. The events are read before the state, so the state is never older
    than the lines: the page's live stream resumes after the last event shown. Raises NotFound, Refused."""
    runs = service(console)
    runs.run(actor, run_id)  # refused before anything is read
    lines, last = timeline(events.events_after(runs.store, run_id, 0, limit=100_000))
    state = runs.state(actor, run_id)
    row = runs.run(actor, run_id)
    loaded = _loaded(console, state["runbook"])
    question = state["question"]
    folder = folder_of(console, row.id, row.result)
    artifacts = (row.result or {}).get("artifacts") or {}
    return {
        "run": state,
        "title": loaded.model.title if loaded else state["runbook"],
        "lines": lines,
        "last_event": last,
        "shot": latest_screenshot(lines),
        "question": question,
        "question_hint": question_hint(loaded, question) if question else None,
        "hints": question_hints(loaded),
        "active": row.active,
        "may_answer": console.may_run(actor, Action.RUN_ANSWER, row),
        "may_cancel": console.may_run(actor, Action.RUN_CANCEL, row),
        "has_report": "report" in artifacts or (folder / "report.html").is_file(),
        "has_trace": "trace" in artifacts or (folder / "trace.zip").is_file(),
        "screenshots": _screenshots(lines, folder),
        "external_ticket": row.external_ticket,
    }


def _loaded(console: Console, name: str) -> LoadedRunbook | None:
    try:
        return console.catalog.get(name)
    except (RunbookLoadError, OSError):
        return None


def _screenshots(lines: list[Any], folder: Any) -> list[dict[str, str]]:
    """The run's pictures, each with the step it shows (the folder's files when the steps name none)."""
    named = [
        {"path": line.data["screenshot"], "caption": f"Step {line.data['number']}: {line.data['label']}"}
        for line in lines
        if line.kind == "step" and line.data.get("screenshot")
    ]
    if named:
        return named
    shots = sorted((folder / "screenshots").glob("*.png")) if (folder / "screenshots").is_dir() else []
    return [{"path": f"screenshots/{p.name}", "caption": p.stem} for p in shots]


def outside_view(data: dict[str, Any]) -> dict[str, Any]:
    """A run the console did not start, read-only, from its run.json."""
    steps = [
        {**s, "error": (s.get("error") or "").splitlines()[0] if s.get("error") else None}
        for s in data.get("steps") or []
        if isinstance(s, dict)
    ]
    artifacts = data.get("artifacts") or {}
    return {
        "data": data,
        "steps": steps,
        "has_report": "report" in artifacts,
        "has_trace": "trace" in artifacts,
    }


@router.get("/runs/{run_id}")
async def run_page(request: Request, run_id: str, answer_error: str | None = None) -> Response:
    """The run: its steps, the question it waits on, cancel, and at the end its outcome."""
    console, actor = console_of(request), actor_of(request)
    try:
        view = await run_in_threadpool(run_view, console, actor, run_id)
    except NotFound as exc:
        outside = await run_in_threadpool(outside_run, actor, console, run_id)
        if outside is None:
            return problem(request, exc)
        return render(request, "run_outside.html", run_id=run_id, **outside_view(outside))
    except RunbookError as exc:
        return problem(request, exc)
    return render(request, "run.html", **view)


@router.post("/runs/{run_id}/answer")
async def answer(request: Request, run_id: str) -> Response:
    """The question card's form without JavaScript: answer, then back to the run."""
    console, actor = console_of(request), actor_of(request)
    form = await request.form()
    name, value = str(form.get("name", "")), str(form.get("value", ""))
    try:
        await run_in_threadpool(service(console).answer, actor, run_id, name, value)
    except InputValueError as exc:
        view = await run_in_threadpool(run_view, console, actor, run_id)
        return render(request, "run.html", 422, answer_error=field_message(exc), **view)
    except RunbookError as exc:
        return problem(request, exc)
    return RedirectResponse(f"/runs/{run_id}", status_code=303)


@router.post("/runs/{run_id}/cancel")
async def cancel(request: Request, run_id: str) -> Response:
    console, actor = console_of(request), actor_of(request)
    try:
        await run_in_threadpool(service(console).cancel, actor, run_id)
    except RunbookError as exc:
        return problem(request, exc)
    return RedirectResponse(f"/runs/{run_id}", status_code=303)


# -- history and audit ----------------------------------------------------------------------------------------


@router.get("/runs")
async def history(
    request: Request,
    runbook: str = "",
    outcome: str = "",
    user: str = "",
    q: str = "",
    since: str = "",
    until: str = "",
) -> Response:
    """The runs the actor may see, searched by runbook, outcome, agent, dates and words of their inputs."""
    console, actor = console_of(request), actor_of(request)
    start, end, errors = day_range(since, until)
    query = RunQuery(
        runbook=runbook[:120] or None,
        outcome=outcome.strip()[:120] or None,
        user=user.strip()[:64] or None,
        q=q.strip()[:200] or None,
        since=start,
        until=end,
        limit=200,
    )
    found = [] if errors else await run_in_threadpool(service(console).history, actor, query)
    runbooks = await run_in_threadpool(console.runbooks_for, actor)
    search = {"runbook": runbook, "outcome": outcome, "user": user, "q": q, "since": since, "until": until}
    return render(
        request,
        "runs.html",
        422 if errors else 200,
        runs=found,
        runbooks=[r.name for r in runbooks],
        search=search,
        errors=errors,
    )


@router.get("/audit")
async def audit_page(
    request: Request, actor_name: str = "", action: str = "", run_id: str = "", q: str = ""
) -> Response:
    """The audit log, for those who may read it (admins): who started, answered and cancelled what."""
    console, actor = console_of(request), actor_of(request)
    if not allowed(actor, Action.AUDIT_VIEW, None, console.config.teams):
        return render(
            request, "error.html", 403, status=403, message="Only an administrator may read the audit log."
        )
    entries = await run_in_threadpool(
        lambda: audit.search_audit(
            console.store,
            actor=actor_name.strip()[:64] or None,
            action=action if action in audit.ACTIONS else None,
            run_id=run_id.strip()[:200] or None,
            q=q.strip()[:200] or None,
        )
    )
    search = {"actor_name": actor_name, "action": action, "run_id": run_id, "q": q}
    return render(request, "audit.html", entries=entries, actions=audit.ACTIONS, search=search)
