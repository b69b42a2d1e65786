"""The end of every run: trace stopped and scrubbed, context closed, run.json and report written, escalations
ticketed with that finished evidence attached.

A trace is either scrubbed or absent: Playwright writes it under a temporary name, which becomes trace.zip
only once scrubbed, and is deleted on every other path. When the browser died before the trace could be
stopped, the part Playwright had already written to the live traces folder is packed and scrubbed instead.
"""

from __future__ import annotations

import os
import shutil
import zipfile
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from automation.engine.context import RunContext
from automation.errors import EvidenceError, TicketError
from automation.evidence import audit
from automation.paths import data_dir
from automation.redaction.redactor import scrub_trace
from automation.result import RunResult

UNSCRUBBED = ".trace-unscrubbed.zip"  # never named as evidence; renamed to trace.zip once scrubbed


@dataclass(frozen=True)
class TraceNote:
    """What became of the trace: `text` for run.json; `lost` when the user must be told what is missing."""

    text: str | None = None
    lost: bool = False


def _stop_trace(ctx: RunContext, context: Any, run_id: str, live: Path | None) -> TraceNote:
    """Stop tracing, scrub, and only then name the file trace.zip; returns what became of the trace."""
    if context is None:
        return TraceNote("no browser context was opened")
    partial = ctx.folder.path / UNSCRUBBED
    try:
        recovered = False
        try:
            context.tracing.stop(path=str(partial))
        except Exception as exc:  # noqa: BLE001 - the browser may have died: keep what was recorded
            recovered = live is not None and _pack_live_trace(live, run_id, partial)
            if not recovered:
                why = str(exc).splitlines()[0] if str(exc).strip() else type(exc).__name__
                return TraceNote(
                    f"trace.zip was lost: the browser was gone before it could be saved ({why})", True
                )
        try:
            report = scrub_trace(partial, ctx.redactor)
        except EvidenceError as exc:  # fail closed: the unscrubbed file is already deleted
            return TraceNote(f"trace.zip was withheld: {exc}", True)
        os.replace(partial, ctx.folder.trace)
        if recovered:
            return TraceNote(
                "trace.zip holds what was recorded until the browser died (its end is missing)", True
            )
        summary = report.summary.replace(UNSCRUBBED, ctx.folder.trace.name)
        return TraceNote(summary if report.frames_dropped else None)
    finally:
        partial.unlink(missing_ok=True)
        if live is not None:
            _clear_live(live)


def _pack_live_trace(live: Path, run_id: str, dest: Path) -> bool:
    """Zip the events and resources Playwright had written for this run's trace, as tracing.stop() would."""
    events, network = live / f"{run_id}.trace", live / f"{run_id}.network"
    if not events.is_file():
        return False
    listed = events.read_bytes() + (network.read_bytes() if network.is_file() else b"")
    try:
        with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as out:
            out.write(events, "trace.trace")
            if network.is_file():
                out.write(network, "trace.network")
            for resource in sorted((live / "resources").glob("*")):
                if resource.name.encode() in listed:  # only this run's: the folder is the pool's
                    out.write(resource, f"resources/{resource.name}")
    except OSError:
        dest.unlink(missing_ok=True)
        return False
    return True


def _clear_live(live: Path) -> None:
    """Unscrubbed trace parts must not outlive the run: the pool runs one context at a time."""
    for entry in live.iterdir() if live.is_dir() else ():
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


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
    live_traces: Path | None = None,
    noted_signals: list[Any] | None = None,
) -> RunResult:
    """Save everything; returns the RunResult that names it."""
    note = _stop_trace(ctx, context, run_id, live_traces)
    _close(context)
    if note.lost and status != "passed":
        error = f"{error}\n  evidence: {note.text}; run.json, report.html and the screenshots are saved"
    trace_note = note.text
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
        base_urls={app: ctx.mask(url) or "" for app, url in ctx.target.apps.items()},
        duration_s=round(duration_s, 3),
        exit_code=exit_code,
    )
    result = _write_evidence(ctx, result, trace_note)
    if ctx.escalations:  # the ticket carries the finished run.json and report; then they name the ticket
        result = _write_evidence(ctx, replace(result, ticket=_open_ticket(ctx, result)), trace_note)
    _audit(ctx, result)
    if noted_signals:  # a signal came while saving: say so, now that everything is saved
        names = " and ".join(sorted({s.name for s in noted_signals}))
        said = f"{names} came again while the evidence was being saved ({len(noted_signals)} times); "
        result = replace(result, error=f"{result.error or ''}\n  {said}the save was finished first".strip())
        _write_run_json(ctx, result, trace_note)
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
        from automation.evidence.report import write_report

        write_report(ctx.folder.path)
    except Exception as exc:  # noqa: BLE001 - a report problem must not lose the run's other evidence
        (ctx.folder.path / "report-error.txt").write_text(f"the report could not be written: {exc}\n")
        return False
    return True


def _ticket_model(ctx: RunContext, result: RunResult) -> Any:
    from automation.tickets import Attachment, Ticket, TicketStep

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
        target=ctx.mask(f"{ctx.target.name} {ctx.base_url}") or "",  # a URL may carry user:pass@
        run_id=result.run_id,
        evidence_dir=folder,
        attachments=[Attachment(name=f.name, path=f) for f in files if f.exists()],
        fingerprint=f"{result.outcome}:{identity}",
    )


def _open_ticket(ctx: RunContext, result: RunResult) -> dict[str, Any]:
    """Open (or add to) the escalation's ticket: locally always, then in the configured tracker."""
    import sqlite3

    from automation.tickets import (
        TicketStore,
        TrackerConfigError,
        UnusableTracker,
        open_ticket,
        tracker_from_config,
    )

    ticket = _ticket_model(ctx, result)
    base = {"queue": ticket.queue, "title": ticket.title}
    try:
        store = TicketStore(ctx.data_dir or data_dir())
        try:
            tracker = tracker_from_config(ctx.target.tickets, strict=False)
        except TrackerConfigError as exc:
            # A tracker that cannot be built must not lose the ticket: stored, queued with the reason.
            config = ctx.target.tickets if isinstance(ctx.target.tickets, dict) else {}
            tracker = UnusableTracker(str(config.get("type", "tracker"))[:40], exc)
        receipt = open_ticket(ticket, store=store, tracker=tracker, redact=ctx.redactor.redact_text)
    except (TicketError, OSError, sqlite3.Error) as exc:
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
