"""The end of every run: trace stopped and scrubbed, context closed, run.json and report written, escalations
ticketed with that finished evidence attached."""

from __future__ import annotations

from dataclasses import asdict, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from ..environments import data_dir
from ..errors import EvidenceError, TicketError
from ..evidence import audit
from ..evidence.redact import scrub_trace
from ..result import RunResult
from .context import RunContext


def _stop_trace(ctx: RunContext, context: Any) -> str | None:
    """Stop tracing into trace.zip and scrub it; returns a note when the trace could not be kept."""
    if context is None:
        return "no browser context was opened"
    try:
        context.tracing.stop(path=str(ctx.folder.trace))
    except Exception as exc:  # noqa: BLE001 - the browser may have died: the run's other evidence stands
        return f"the trace could not be saved: {str(exc).splitlines()[0]}"
    try:
        report = scrub_trace(ctx.folder.trace, ctx.redactor)
    except EvidenceError as exc:  # fail closed: the trace is already deleted
        return f"the trace was withheld: {exc}"
    return report.summary if report.frames_dropped else None


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
    if any(folder.screenshots.glob("*.png")):
        out["screenshots"] = str(folder.screenshots)
    out["report"] = str(folder.path / "report.html")  # written next; dropped again if that fails
    return out


def finish_evidence(
    ctx: RunContext,
    context: Any,
    *,
    run_id: str,
    status: str,
    outcome: str | None,
    summary: str,
    error: str | None,
    exit_code: int,
    duration_s: float,
) -> RunResult:
    """Save everything; returns the RunResult that names it."""
    trace_note = _stop_trace(ctx, context)
    _close(context)
    result = RunResult(
        run_id=run_id,
        runbook=ctx.loaded.name,
        status=status,
        outcome=outcome,  # type: ignore[arg-type]
        summary=ctx.mask(summary) or "",
        evidence_dir=str(ctx.folder.path),
        artifacts=_artifacts(ctx),
        steps=tuple(ctx.records),
        error=ctx.mask(error),
        environment=ctx.target.name,
        duration_s=round(duration_s, 3),
        exit_code=exit_code,
    )
    result = _write_evidence(ctx, result, trace_note)
    if ctx.escalations:  # the ticket carries the finished run.json and report; then they name the ticket
        result = _write_evidence(ctx, replace(result, ticket=_open_ticket(ctx, result)), trace_note)
    _audit(ctx, result)
    return result


def _write_evidence(ctx: RunContext, result: RunResult, trace_note: str | None) -> RunResult:
    """run.json, then the report made from it; a report that cannot be written is not named."""
    _write_run_json(ctx, result, trace_note)
    if not _write_report(ctx):
        result = replace(result, artifacts={k: v for k, v in result.artifacts.items() if k != "report"})
        _write_run_json(ctx, result, trace_note)
    return result


def _masked_inputs(ctx: RunContext) -> dict[str, Any]:
    return ctx.redactor.redact_obj(
        {
            name: ("••••••" if spec.type == "secret" and ctx.variables.get(name) else ctx.variables.get(name))
            for name, spec in ctx.loaded.model.inputs.items()
        }
    )


def _audit(ctx: RunContext, result: RunResult) -> None:
    ticket = (result.ticket or {}).get("id")
    audit.append(
        (ctx.data_dir or data_dir()) / "audit.log",
        runbook=result.runbook,
        environment=result.environment,
        inputs=_masked_inputs(ctx),
        status=result.status,
        outcome=result.outcome,
        evidence_dir=result.evidence_dir,
        run_id=result.run_id,
        ticket=ticket,
    )


def _write_report(ctx: RunContext) -> bool:
    """Write report.html from run.json; False if it could not be written (the rest of the evidence stands)."""
    try:
        from ..evidence.report import write_report

        write_report(ctx.folder.path)
    except Exception as exc:  # noqa: BLE001 - a report problem must not lose the run's other evidence
        (ctx.folder.path / "report-error.txt").write_text(f"the report could not be written: {exc}\n")
        return False
    return True


def _ticket_model(ctx: RunContext, result: RunResult) -> Any:
    from ..tickets import Attachment, Ticket, TicketStep

    escalation = ctx.escalations[-1]
    folder = ctx.folder.path
    files = [
        folder / "report.html",
        folder / "run.json",
        ctx.folder.trace,
        *sorted(ctx.folder.screenshots.glob("*.png")),
    ]
    steps = [
        TicketStep(
            index=i + 1,
            label=f"{r.number} {r.label}",
            status=r.status,
            duration_s=r.duration_s,
            error=r.error,
        )
        for i, r in enumerate(result.steps)
    ]
    identity = ",".join(f"{k}={v}" for k, v in sorted(escalation.customer.items()))
    return Ticket(
        queue=escalation.queue,
        title=escalation.title,
        customer=escalation.customer,
        notes=escalation.notes,
        steps=steps,
        outcome=result.outcome or result.status,
        runbook=result.runbook,
        target=f"{ctx.target.name} {ctx.base_url}",
        run_id=result.run_id,
        evidence_dir=folder,
        attachments=[Attachment(name=f.name, path=f) for f in files if f.exists()],
        fingerprint=f"{result.outcome}:{identity}",
    )


def _open_ticket(ctx: RunContext, result: RunResult) -> dict[str, Any]:
    """Open (or add to) the escalation's ticket: locally always, then in the configured tracker."""
    from ..tickets import TicketStore, open_ticket, tracker_from_config

    ticket = _ticket_model(ctx, result)
    base = {"queue": ticket.queue, "title": ticket.title}
    try:
        store = TicketStore(ctx.data_dir or data_dir())
        tracker = tracker_from_config(ctx.target.tickets, strict=False)
        receipt = open_ticket(ticket, store=store, tracker=tracker, redact=ctx.redactor.redact_text)
    except TicketError as exc:
        # The store could not record it: keep what is needed to file it by hand next to the evidence.
        ctx.folder.write_json("ticket-unfiled.json", {**base, "error": str(exc), "notes": ticket.notes})
        return {**base, "status": "unfiled", "message": ctx.mask(str(exc))}
    return {
        **base,
        "id": receipt.local_id,
        "status": receipt.status,
        "tracker": receipt.tracker,
        "remote_id": receipt.remote_id,
        "url": receipt.url,
        "message": receipt.message,
    }


def _write_run_json(ctx: RunContext, result: RunResult, trace_note: str | None) -> Path:
    data = result.to_json()
    data["title"] = ctx.loaded.model.title
    data["started_at"] = datetime.fromtimestamp(ctx.started_at).astimezone().isoformat(timespec="seconds")
    data["runbook_sha256"] = ctx.loaded.sha256
    data["runbook_file"] = str(ctx.loaded.path) if ctx.loaded.path else None
    data["inputs"] = _masked_inputs(ctx)
    data["trace_note"] = trace_note
    data["dialogs"] = [asdict(d) for d in ctx.dialogs.seen]
    return ctx.folder.write_json("run.json", ctx.redactor.redact_obj(data))
