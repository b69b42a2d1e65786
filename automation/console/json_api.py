"""The console's JSON API, so far the runbooks: the list an actor may run, and one runbook's inputs as a
helpdesk needs them to build its own form (rundeck#9072). The pages use the same answers.

Authenticated by the gate (a session or `Authorization: Bearer`); `permissions.allowed` decides what each
actor sees: a runbook the actor's team may not run is 403. Errors are `{"error": "..."}`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field

from automation.console.context import actor_of, console_of
from automation.console.permissions import Action
from automation.console.security import require_csrf
from automation.errors import RunbookLoadError
from automation.loader import LoadedRunbook
from automation.schema import Input

router = APIRouter(prefix="/api", dependencies=[Depends(require_csrf)], tags=["runbooks"])


class ErrorBody(BaseModel):
    error: str = Field(description="What went wrong, for the person who must act")


class RunbookSummary(BaseModel):
    name: str
    title: str
    description: str | None = None
    source: str | None = Field(default=None, description="The knowledge-base article it follows")
    tags: list[str] = Field(default_factory=list)


class InputInfo(BaseModel):
    """One input of a runbook: enough to build a field for it."""

    name: str
    type: str = Field(description="string, email, enum, int, bool or secret")
    help: str | None = None
    required: bool
    default: Any = None
    pattern: str | None = Field(default=None, description="A regular expression the value must match")
    pattern_hint: str | None = Field(default=None, description="The pattern's rule in words")
    choices: list[str] | None = Field(default=None, description="The values an enum accepts")
    secret: bool = Field(description="Typed without echo; never stored or shown again")
    from_server: bool = Field(
        description="Supplied by the server's configuration (a credential): not asked of the agent"
    )


class RunbookDetail(RunbookSummary):
    inputs: list[InputInfo]
    outcomes: list[str] = Field(description="The outcomes a run of it can end with")


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "No session and no valid API token"},
    403: {"model": ErrorBody, "description": "The actor's team may not run it"},
}


def summary(runbook: LoadedRunbook) -> RunbookSummary:
    model = runbook.model
    return RunbookSummary(
        name=model.name,
        title=model.title,
        description=model.description,
        source=model.source,
        tags=list(model.tags),
    )


def input_info(name: str, spec: Input) -> InputInfo:
    return InputInfo(
        name=name,
        type=spec.type,
        help=spec.help,
        required=spec.required,
        default=None if spec.type == "secret" else spec.default,
        pattern=spec.pattern,
        pattern_hint=spec.pattern_hint,
        choices=spec.choices,
        secret=spec.type == "secret",
        from_server=spec.from_env is not None,
    )


def detail(runbook: LoadedRunbook) -> RunbookDetail:
    model = runbook.model
    inputs = [input_info(name, spec) for name, spec in model.inputs.items()]
    return RunbookDetail(**summary(runbook).model_dump(), inputs=inputs, outcomes=list(model.outcomes))


@router.get("/runbooks", response_model=list[RunbookSummary], responses=ERRORS)
def list_runbooks(
    request: Request, q: str = Query("", max_length=200, description="Words to search for")
) -> list[RunbookSummary]:
    """The runbooks the caller may run, by name; `q` keeps those whose text has every word."""
    found = console_of(request).runbooks_for(actor_of(request), q)
    return [summary(runbook) for runbook in found]


@router.get(
    "/runbooks/{name}",
    response_model=RunbookDetail,
    responses={**ERRORS, 404: {"model": ErrorBody, "description": "No runbook of that name"}},
)
def get_runbook(request: Request, name: str) -> RunbookDetail:
    """One runbook with its inputs (type, pattern, choices, help, default, required, secret)."""
    console = console_of(request)
    if name not in console.catalog.names():
        raise HTTPException(404, f"no runbook named '{name[:80]}': GET /api/runbooks lists yours")
    try:
        runbook = console.catalog.get(name)
    except RunbookLoadError as exc:  # the file is broken: the server's operator must fix it
        raise HTTPException(404, f"runbook '{name}' does not load ({exc.message})") from None
    if not console.may(actor_of(request), Action.RUNBOOK_VIEW, runbook):
        raise HTTPException(403, f"your team may not run '{name}'")
    return detail(runbook)
