"""`GET /api/runs/{id}/events`: the run's events as Server-Sent Events (sse-starlette), from the store.

Each event carries its store id: a client that reconnects sends Last-Event-ID and gets exactly what followed,
so a dropped connection loses and repeats nothing. The stream ends after `finished`. It wakes on the run's
in-process ring, and looks at the store every POLL_S anyway (a run executed by another replica or worker).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import Response
from sse_starlette.sse import EventSourceResponse
from starlette.concurrency import run_in_threadpool

from automation.console.api_runs import RUN_ERRORS, refused, service
from automation.console.context import actor_of
from automation.console.runs.events import events_after
from automation.console.runs.records import get_run
from automation.console.runs.wakeup import POLL_S
from automation.errors import RunbookError

router = APIRouter(prefix="/api", tags=["runs"])


def last_id(header: str | None, query: str | None) -> int:
    """Where to resume: the Last-Event-ID header (a reconnecting EventSource), else ?after=; 0 from the start."""
    for given in (header, query):
        if given and given.strip().isdigit():
            return int(given.strip())
    return 0


@router.get(
    "/runs/{run_id}/events",
    responses={**RUN_ERRORS, 200: {"content": {"text/event-stream": {}}, "description": "The events"}},
)
async def run_events(
    request: Request,
    run_id: str,
    last_event_id: str | None = Header(default=None, max_length=20),
    after: str | None = None,
) -> Response:
    """The run's events as they happen: status, step, say, question, answered, finished (then it ends)."""
    runs = service(request)
    try:
        await run_in_threadpool(runs.run, actor_of(request), run_id)
    except RunbookError as exc:
        return refused(exc)
    return EventSourceResponse(
        _events(request, runs, run_id, last_id(last_event_id, after)), ping=15, send_timeout=30
    )


async def _events(request: Request, runs: Any, run_id: str, after: int) -> AsyncIterator[dict[str, Any]]:
    wake = runs.wake.subscribe(run_id)
    ended = False
    try:
        while True:
            wake.clear()
            found = await run_in_threadpool(events_after, runs.store, run_id, after)
            for event in found:
                after = event.id
                yield {"id": str(event.id), "event": event.kind, "data": json.dumps(event.data)}
                if event.kind == "finished":
                    return
            if not found and not await run_in_threadpool(_live, runs, run_id):
                if ended:
                    return  # it ended before this stream resumed after its last event
                # The row is marked ended a moment before its `finished` event is written: wait for that
                # event (its ring wakes us) once, or a client would miss how the run ended.
                ended = True
            if await request.is_disconnected():
                return
            try:
                await asyncio.wait_for(wake.wait(), timeout=POLL_S)
            except TimeoutError:
                pass
    finally:
        runs.wake.unsubscribe(run_id, wake)


def _live(runs: Any, run_id: str) -> bool:
    row = get_run(runs.store, run_id)
    return row is not None and row.active
