"""The comment a console run leaves on the helpdesk ticket it was started from (`external_ticket`).

A helpdesk integration starts a run with the id of the ticket it is working on; when the run ends, the
ticket gets one comment with the status and outcome, the summary (what to tell the customer), the run's
report attached and, with a public URL (RUNBOOK_PUBLIC_URL), a link to the run's page on the console.

It goes through the ticket store like every other ticket traffic: the helpdesk ticket is recorded once as a
ticket already delivered to the environment's tracker, and each run adds a note to it. A tracker that is
down (or a credential variable that is unset) leaves the note pending in the outbox, where
`runbook tickets retry --env NAME` posts it later. Nothing here ever stops or changes the run's own ending.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any, Literal

from automation.console.runs.records import RunRow
from automation.errors import RunbookError
from automation.result import RunResult

log = logging.getLogger("runbook.console")

Posted = Literal["posted", "queued", "skipped", "error"]
# A ticket id goes into the tracker's URL path (/api/v2/tickets/{id}.json): letters, digits and - _ . only,
# never a path (Jira keys SUP-12, Zendesk numbers, a webhook's own ids).
TICKET_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
REPORT = "report"


def post_outcome(row: RunRow, result: RunResult, public_url: str | None = None) -> dict[str, Any]:
    """Comment on the run's external ticket, if it has one. Returns {"external_ticket": {id, status,
    message}} to keep beside the run's result, or {} when the run names no ticket. Never raises: a failure
    is logged and told in the returned status."""
    if not row.external_ticket:
        return {}
    ticket_id = row.external_ticket
    try:
        status, message = _post(row, result, ticket_id, public_url)
    except Exception:  # noqa: BLE001 - the run has ended: a fault here must not change how it ended
        log.exception("the outcome of run %s was not posted to ticket %s", row.id, ticket_id)
        status, message = "error", "an unexpected fault stopped the comment; the server log has the details"
    if status == "error":
        log.warning("run %s: ticket %s: %s", row.id, ticket_id, message)
    return {"external_ticket": {"id": ticket_id, "status": status, "message": message}}


def _post(row: RunRow, result: RunResult, ticket_id: str, public_url: str | None) -> tuple[Posted, str]:
    from automation.paths import data_dir
    from automation.tickets import TicketStore, TrackerConfigError, tracker_from_config
    from automation.tickets.service import add_note

    if not TICKET_ID.fullmatch(ticket_id) or ".." in ticket_id:
        return "error", f"'{ticket_id[:80]}' is not a ticket id (letters, digits and - _ . only)"
    environment, tickets = _tracker_config(row, result)
    try:
        tracker = tracker_from_config(tickets, strict=False)  # an unset credential: queued, naming it
    except TrackerConfigError as exc:
        return "error", str(exc)
    if tracker is None:
        return "skipped", f"environment '{environment}' has no tracker (tickets:) to post to"
    try:
        store = TicketStore(data_dir())
        local_id = _helpdesk_ticket(store, environment, tracker.name, ticket_id, row)
        report = _report(result)
        receipt = add_note(
            local_id,
            run_id=row.id,
            body=comment_body(row, result, _run_link(row.id, public_url), [a.name for a in report]),
            attachments=report,
            store=store,
            tracker=tracker,
        )
    except RunbookError as exc:  # the local store could not record it (TicketError and the like)
        return "error", str(exc)
    if receipt.status == "queued":
        return "queued", receipt.message
    return "posted", f"comment added to {tracker.name} ticket {ticket_id}"


def _tracker_config(row: RunRow, result: RunResult) -> tuple[str, dict[str, Any] | None]:
    """The environment the run ran in and its `tickets:` section (None: the local store only)."""
    from automation.environments import load_config

    config = load_config()
    # result.environment is the target's name; a run sent to --base-url URLs has none in the file
    for name in (result.environment, row.environment, config.default):
        if name in config.environments:
            return name, config.environments[name].tickets
    return result.environment, None


def _helpdesk_ticket(store: Any, environment: str, tracker: str, ticket_id: str, row: RunRow) -> str:
    """The local record of the helpdesk's ticket (made on its first run): a ticket already delivered to the
    tracker under its own id, so notes added to it are relayed there, or wait in the outbox."""
    from automation.tickets import Ticket

    key = f"external:{environment}:{tracker}:{ticket_id}"
    found = store.find_by_key(key)
    if found is None:
        found = store.create(
            Ticket(
                queue="helpdesk",
                title=f"{tracker} ticket {ticket_id} (runs started from it on the console)",
                outcome="helpdesk",
                runbook=row.runbook,
                # the first word is the environment: `runbook tickets retry` finds the tracker by it
                target=f"{environment} {tracker}",
                run_id=row.id,
                idempotency_key=key,
            ),
            delivery="delivered",
        )
    if found.remote_id != ticket_id:
        store.mark_delivered(found.local_id, tracker=tracker, remote_id=ticket_id, url=None)
    return str(found.local_id)


def _report(result: RunResult) -> list[Any]:
    from automation.tickets import Attachment

    path = result.artifacts.get(REPORT)
    if not path or not Path(path).is_file():
        return []
    return [Attachment(name=f"report-{result.run_id}.html", path=Path(path), content_type="text/html")]


def _run_link(run_id: str, public_url: str | None = None) -> str | None:
    """The run's page: under the console's own public_url (console.yaml) when it has one, else
    RUNBOOK_PUBLIC_URL's."""
    from automation.errors import ConfigError
    from automation.paths import run_page_url

    if public_url:
        return f"{public_url.rstrip('/')}/runs/{run_id}"
    try:
        return run_page_url(run_id)
    except ConfigError as exc:  # a wrong address must not lose the comment: post it without the link
        log.warning("the comment of run %s has no link to it: %s", run_id, exc)
        return None


def comment_body(row: RunRow, result: RunResult, link: str | None, attached: list[str]) -> str:
    """The comment as the helpdesk shows it (plain text / Markdown). The summary and error are the ones the
    engine wrote, with the run's secrets already masked; nothing else of the run's inputs is added."""
    outcome = f", outcome {result.outcome}" if result.outcome else ""
    lines = [
        f"Runbook {result.runbook} ended: {result.status}{outcome}.",
        "",
        result.summary or "(no summary)",
        "",
        f"- run: {result.run_id}, started by {row.started_by} on the console",
        f"- steps: {len(result.steps)}, in {result.duration_s:.0f} s",
    ]
    failed = next((step for step in result.steps if step.status == "failed"), None)
    if failed is not None:
        lines.append(f"- failed at step {failed.number}: {failed.label}")
    if result.error:
        lines.append(f"- error: {result.error.splitlines()[0]}")
    if result.ticket and result.ticket.get("id"):
        lines.append(f"- escalated as {result.ticket['id']}")
    if link:
        lines.append(f"- the run on the console: {link}")
    if attached:
        lines.append(f"- attached: {', '.join(attached)}")
    return "\n".join(lines) + "\n"
