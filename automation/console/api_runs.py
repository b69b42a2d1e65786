"""The console's JSON API for runs: start one (with an Idempotency-Key), read it, answer its question, cancel
it, search the history. The run page's buttons post to the same endpoints. Errors are `{"error": "..."}`
(422 names the field in `field`).

Every endpoint calls RunService, which asks `permissions.allowed` and writes the audit log.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from automation.console.context import actor_of, console_of
from automation.console.json_api import ERRORS, ErrorBody
from automation.console.runs.records import RunQuery
from automation.console.runs.service import RunService, http_status
from automation.console.security import require_csrf
from automation.errors import InputValueError, RunbookError

router = APIRouter(prefix="/api", dependencies=[Depends(require_csrf)], tags=["runs"])

RUN_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    404: {"model": ErrorBody, "description": "No such run (or not one you may see)"},
    409: {"model": ErrorBody, "description": "The run is not in a state for this"},
    422: {"model": ErrorBody, "description": "A value will not do; `field` names it"},
}
# What an endpoint taking a JSON body may answer besides: a body that is not even text (FastAPI's own 400)
BODY_ERRORS: dict[int | str, dict[str, Any]] = {
    **RUN_ERRORS,
    400: {"model": ErrorBody, "description": "The body could not be read: send UTF-8 JSON"},
}


class StartRun(BaseModel):
    runbook: str = Field(max_length=120, description="The runbook's name (GET /api/runbooks)")
    inputs: dict[str, str | int | bool] = Field(default_factory=dict, description="Its inputs by name")
    answers: dict[str, str | bool] = Field(
        default_factory=dict,
        description="Answers to its questions given up front, by name (never stored); the rest are asked",
    )
    external_ticket: str | None = Field(
        default=None, max_length=200, description="The helpdesk ticket the outcome is posted to"
    )


class Started(BaseModel):
    id: str
    status: str
    url: str = Field(description="The run's page on the console")


class Answer(BaseModel):
    name: str = Field(max_length=120, description="The question's name (question.name)")
    value: str | bool = Field(description="The answer; yes/no questions take true/false or yes/no")


class QuestionCard(BaseModel):
    id: int
    name: str
    prompt: str
    kind: str = Field(description="text or yes_no")
    secret: bool
    pattern: str | None = None
    pattern_hint: str | None = Field(default=None, description="The pattern's rule in words")
    step: str
    screenshot: str | None = None
    deadline: str = Field(description="When the run ends as unanswered (ISO 8601)")


class Step(BaseModel):
    number: str
    label: str
    action: str
    status: str = Field(description="running, passed, failed, warning or skipped")
    duration_s: float
    detail: str | None = None
    error: str | None = None
    screenshot: str | None = None


class RunState(BaseModel):
    id: str
    runbook: str
    status: str = Field(description="queued, running, waiting, then the final status as run.json names it")
    outcome: str | None = None
    summary: str | None = None
    error: str | None = None
    started_by: str
    inputs: dict[str, Any]
    created: str
    finished: str | None = None
    position: int | None = Field(default=None, description="Place in the queue while queued (1: next)")
    steps: list[Step]
    question: QuestionCard | None = None
    ticket: dict[str, Any] | None = Field(default=None, description="The ticket the run opened (escalated)")
    external_ticket: dict[str, Any] | None = Field(
        default=None, description="The helpdesk ticket it reports to: {id, status: pending|posted|queued|...}"
    )
    url: str


class RunListItem(BaseModel):
    id: str
    runbook: str
    status: str
    outcome: str | None = None
    started_by: str
    inputs: dict[str, Any]
    created: str
    url: str


class Cancelled(BaseModel):
    id: str
    was: str = Field(description="The status it had when cancelled")


def service(request: Request) -> RunService:
    runs = console_of(request).runs
    assert runs is not None, "create_app sets the run service"
    return runs


def refused(exc: RunbookError) -> JSONResponse:
    body: dict[str, Any] = {"error": str(exc)}
    if isinstance(exc, InputValueError):
        body["field"] = exc.name
    return JSONResponse(body, status_code=http_status(exc))


@router.post("/runs", status_code=201, response_model=Started, responses=BODY_ERRORS)
def start_run(
    request: Request,
    body: StartRun,
    idempotency_key: str | None = Header(
        default=None, max_length=200, description="A repeated request with the same key returns the same run"
    ),
) -> Response:
    """Queue a run of a runbook; 201 with its id and page. With an Idempotency-Key, a repeat is 200, same run."""
    try:
        row, created = service(request).start(
            actor_of(request),
            body.runbook,
            dict(body.inputs),
            answers=dict(body.answers),
            external_ticket=body.external_ticket,
            idempotency_key=idempotency_key,
        )
    except RunbookError as exc:
        return refused(exc)
    started = Started(id=row.id, status=row.status, url=f"/runs/{row.id}")
    return JSONResponse(started.model_dump(), status_code=201 if created else 200)


@router.get("/runs", response_model=list[RunListItem], responses=ERRORS)
def list_runs(
    request: Request,
    runbook: str | None = Query(None, max_length=120),
    outcome: str | None = Query(None, max_length=120, description="An outcome's name or a status"),
    user: str | None = Query(None, max_length=64, description="Who started it"),
    q: str | None = Query(None, max_length=200, description="Words in its inputs (a customer's email)"),
    limit: int = Query(50, ge=1, le=500),
) -> list[RunListItem]:
    """The run history you may see, newest first."""
    query = RunQuery(runbook=runbook, outcome=outcome, user=user, q=q, limit=limit)
    rows = service(request).history(actor_of(request), query)
    return [
        RunListItem(
            id=r.id,
            runbook=r.runbook,
            status=r.status,
            outcome=r.outcome,
            started_by=r.started_by,
            inputs=r.inputs,
            created=r.created.isoformat(),
            url=f"/runs/{r.id}",
        )
        for r in rows
    ]


@router.get("/runs/{run_id}", response_model=RunState, responses=RUN_ERRORS)
def get_run(request: Request, run_id: str) -> Response:
    """A run: status, outcome, its steps so far, and the question it waits on (null otherwise)."""
    try:
        return JSONResponse(service(request).state(actor_of(request), run_id))
    except RunbookError as exc:
        return refused(exc)


@router.post("/runs/{run_id}/answers", status_code=204, responses=BODY_ERRORS)
def answer(request: Request, run_id: str, body: Answer) -> Response:
    """Answer the question the run waits on; the run goes on at once."""
    try:
        service(request).answer(actor_of(request), run_id, body.name, body.value)
    except RunbookError as exc:
        return refused(exc)
    return Response(status_code=204)


@router.post("/runs/{run_id}/cancel", response_model=Cancelled, responses=RUN_ERRORS)
def cancel(request: Request, run_id: str) -> Response:
    """Stop the run: a queued one at once, a running one within a few seconds, its evidence kept."""
    try:
        was = service(request).cancel(actor_of(request), run_id)
    except RunbookError as exc:
        return refused(exc)
    return JSONResponse({"id": run_id, "was": was})
