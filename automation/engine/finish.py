"""The end of every run: trace stopped and scrubbed, context closed, escalations ticketed, run.json written."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from ..result import RunResult
from .context import RunContext


def _stop_trace(ctx: RunContext, context: Any) -> str | None:
    """Stop tracing into trace.zip; returns a note when the trace could not be kept."""
    if context is None:
        return "no browser context was opened"
    try:
        context.tracing.stop(path=str(ctx.folder.trace))
    except Exception as exc:  # noqa: BLE001 - the browser may have died: the run's other evidence stands
        return f"the trace could not be saved: {str(exc).splitlines()[0]}"
    return None


def _close(context: Any) -> None:
    if context is None:
        return
    try:
        context.close()
    except Exception:  # noqa: BLE001 - already gone
        pass


def _artifacts(ctx: RunContext) -> dict[str, str]:
    folder = ctx.folder
    out = {"folder": str(folder.path), "run_json": str(folder.path / "run.json")}
    if folder.trace.exists():
        out["trace"] = str(folder.trace)
    shots = sorted(folder.screenshots.glob("*.png"))
    if shots:
        out["screenshots"] = str(folder.screenshots)
    return out


def finish_evidence(ctx: RunContext, context: Any, *, run_id: str, status: str, outcome: str | None,
                    summary: str, error: str | None, exit_code: int, duration_s: float) -> RunResult:
    """Save everything; returns the RunResult that names it."""
    trace_note = _stop_trace(ctx, context)
    _close(context)
    result = RunResult(
        run_id=run_id, runbook=ctx.loaded.name, status=status, outcome=outcome,  # type: ignore[arg-type]
        summary=ctx.mask(summary) or "", evidence_dir=str(ctx.folder.path), artifacts=_artifacts(ctx),
        steps=tuple(ctx.records), error=ctx.mask(error), environment=ctx.target.name,
        duration_s=round(duration_s, 3), exit_code=exit_code,
    )
    ticket = _open_tickets(ctx, result)
    if ticket is not None:
        result = _with(result, ticket=ticket)
    _write_run_json(ctx, result, trace_note)
    return result


def _with(result: RunResult, **changes: Any) -> RunResult:
    return RunResult(**{**asdict(result), "steps": result.steps, **changes})


def _open_tickets(ctx: RunContext, result: RunResult) -> dict[str, Any] | None:
    if not ctx.escalations:
        return None
    escalation = ctx.escalations[-1]
    ticket = {
        "queue": escalation.queue, "title": escalation.title, "customer": escalation.customer,
        "notes": escalation.notes, "run_id": result.run_id, "outcome": result.outcome,
        "evidence_dir": result.evidence_dir,
    }
    ctx.folder.write_json("ticket.json", ticket)
    return ticket


def _write_run_json(ctx: RunContext, result: RunResult, trace_note: str | None) -> Path:
    data = result.to_json()
    data["runbook_sha256"] = ctx.loaded.sha256
    data["runbook_file"] = str(ctx.loaded.path) if ctx.loaded.path else None
    data["inputs"] = {
        name: ("••••••" if spec.type == "secret" and ctx.variables.get(name) else ctx.variables.get(name))
        for name, spec in ctx.loaded.model.inputs.items()
    }
    data["trace_note"] = trace_note
    data["dialogs"] = [asdict(d) for d in ctx.dialogs.seen]
    return ctx.folder.write_json("run.json", _masked(ctx, data))


def _masked(ctx: RunContext, value: Any) -> Any:
    if isinstance(value, str):
        return ctx.mask(value)
    if isinstance(value, dict):
        return {k: _masked(ctx, v) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(ctx, v) for v in value]
    return value
