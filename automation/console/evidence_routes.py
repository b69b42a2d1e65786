"""A run's evidence on the console: its report (inline), its screenshots and run.json, its trace (a download).

Who may see the run (RUN_VIEW, through RunService.run) may see its evidence. A run the console did not start (a
`runbook run` in a terminal, a scheduled check) has only its folder under the evidence root: those open for the
roles that see every run (operations, admin), so the links of alerts and tickets lead somewhere.

Only the files the engine writes are served (report.html, run.json, trace.zip, screenshots/*.png), and only
from inside the run's own folder: a path that leaves it is 404, as is anything else.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from automation.console.context import Console, actor_of, console_of
from automation.console.permissions import Action, Actor, RunbookRef, RunRef, allowed
from automation.console.runs.service import NotFound, http_status
from automation.console.security import require_csrf
from automation.errors import RunbookError
from automation.paths import evidence_root

# GET only; the CSRF check all the same, so a route added here later cannot forget it
router = APIRouter(dependencies=[Depends(require_csrf)], include_in_schema=False)

RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")
SCREENSHOT = re.compile(r"screenshots/[A-Za-z0-9][A-Za-z0-9._-]*\.png")
SERVED = {"report.html": "text/html; charset=utf-8", "run.json": "application/json", "trace.zip": None}
# The report is the engine's own page, with its own inline style and lightbox script: it gets a policy of its
# own, sandboxed (an opaque origin: its script cannot reach the console's cookie or API).
REPORT_POLICY = "; ".join(
    (
        "default-src 'none'",
        "style-src 'unsafe-inline'",
        "script-src 'unsafe-inline'",
        "img-src 'self' data:",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
        "sandbox allow-scripts allow-popups allow-popups-to-escape-sandbox",
    )
)


def runs_root(console: Console) -> Path:
    """Where the console's runs keep their evidence: the executor's evidence root, else RUNBOOK_TRACES."""
    runs = console.runs
    configured = runs.executor.settings.evidence_root if runs is not None else None
    return Path(configured) if configured else evidence_root()


def folder_of(console: Console, run_id: str, result: dict[str, Any] | None) -> Path:
    """The run's evidence folder: where its result says, else <evidence root>/<run id> (a run in flight)."""
    named = (result or {}).get("evidence_dir")
    return Path(named) if named else runs_root(console) / run_id


def outside_run(actor: Actor, console: Console, run_id: str) -> dict[str, Any] | None:
    """run.json of a run the console did not start, for an actor who may see every run; else None."""
    if not RUN_ID.fullmatch(run_id):
        return None
    found = runs_root(console) / run_id / "run.json"
    try:
        data = json.loads(found.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    # No one started it from the console and no team owns it: only an "every run" grant reaches it.
    ref = RunRef(RunbookRef(str(data.get("runbook", ""))), started_by="", team=None)
    return data if allowed(actor, Action.RUN_VIEW, ref, console.config.teams) else None


def evidence_folder(console: Console, actor: Actor, run_id: str) -> Path:
    """The folder of a run the actor may see. Raises NotFound, Refused."""
    runs = console.runs
    assert runs is not None, "create_app sets the run service"
    try:
        row = runs.run(actor, run_id)
    except NotFound:
        if outside_run(actor, console, run_id) is None:
            raise
        return runs_root(console) / run_id
    return folder_of(console, row.id, row.result)


def served_file(folder: Path, path: str) -> Path | None:
    """The file `path` names inside `folder`, if it is one the console serves; None otherwise."""
    if path not in SERVED and not SCREENSHOT.fullmatch(path):
        return None
    root = folder.resolve()
    target = (root / path).resolve()
    if not target.is_relative_to(root) or not target.is_file():  # a link out of the folder, or nothing
        return None
    return target


async def _file(request: Request, run_id: str, path: str) -> Path:
    console, actor = console_of(request), actor_of(request)
    try:
        folder = await run_in_threadpool(evidence_folder, console, actor, run_id)
    except RunbookError as exc:
        raise HTTPException(http_status(exc), str(exc)) from None
    found = served_file(folder, path)
    if found is None:
        raise HTTPException(404, f"run '{run_id[:120]}' has no evidence file '{path[:120]}'")
    return found


@router.get("/runs/{run_id}/evidence/{path:path}")
async def evidence(request: Request, run_id: str, path: str) -> Response:
    """One file of the run's evidence: the report inline, a screenshot, run.json; the trace downloads."""
    found = await _file(request, run_id, path)
    if path == "trace.zip":
        return FileResponse(found, media_type="application/zip", filename=f"{run_id}-trace.zip")
    if path == "report.html":
        return FileResponse(
            found, media_type=SERVED[path], headers={"content-security-policy": REPORT_POLICY}
        )
    return FileResponse(found, media_type=SERVED.get(path) or "image/png")


@router.get("/runs/{run_id}/report")
async def report(request: Request, run_id: str) -> Response:
    """The report, at the address from which its own links (screenshots/...) resolve."""
    await _file(request, run_id, "report.html")
    return RedirectResponse(f"/runs/{run_id}/evidence/report.html", status_code=307)


@router.get("/runs/{run_id}/trace")
async def trace(request: Request, run_id: str) -> Response:
    """The Playwright trace as a download (`runbook trace <id>` opens it on the server)."""
    found = await _file(request, run_id, "trace.zip")
    return FileResponse(found, media_type="application/zip", filename=f"{run_id}-trace.zip")
