"""Opening tickets: record locally first, merge repeats of an open failure, deliver, keep what fails.

`open_ticket` is what the engine's `escalate` step calls; `retry_outbox` is what `runbook tickets retry`
(and the scheduler) call. Neither loses a ticket: the store has it before any tracker is tried, and a
retry reuses the ticket's idempotency key, so a delivery whose answer was lost is found, not repeated.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from automation.errors import ConfigError, TicketError, TrackerUnavailable
from automation.paths import run_page_url
from automation.tickets.base import Tracker, TrackerAuthError, TrackerConfigError
from automation.tickets.models import Attachment, Ticket, TicketReceipt, render_body, render_comment
from automation.tickets.store import StoredComment, StoredTicket, TicketStore

log = logging.getLogger(__name__)

RETRY_COMMAND = "runbook tickets retry"
Redact = Callable[[str], str]


def _identity(text: str) -> str:
    return text


def redact_ticket(ticket: Ticket, redact: Redact) -> Ticket:
    """A copy of the ticket with `redact` applied to every free text it carries."""
    steps = [
        step.model_copy(
            update={
                "label": redact(step.label),
                "status": redact(step.status),
                "error": _maybe(redact, step.error),
            }
        )
        for step in ticket.steps
    ]
    return ticket.model_copy(
        update={
            "title": redact(ticket.title),
            "customer": {key: redact(value) for key, value in ticket.customer.items()},
            "notes": redact(ticket.notes),
            "outcome": redact(ticket.outcome),
            "target": redact(ticket.target),
            "fingerprint": redact(ticket.fingerprint),
            "steps": steps,
        }
    )


def _linked(ticket: Ticket) -> Ticket:
    """The ticket with its run's console page, when the server has a public address and the caller gave none
    (an escalation from a run: its reader opens the run from the tracker)."""
    if ticket.run_url:
        return ticket
    try:
        link = run_page_url(ticket.run_id)
    except ConfigError as exc:  # a wrong address must not lose the escalation: file it without the link
        log.warning("the ticket of %s has no link to the run: %s", ticket.run_id, exc)
        return ticket
    return ticket.model_copy(update={"run_url": link}) if link else ticket


def _maybe(redact: Redact, text: str | None) -> str | None:
    return None if text is None else redact(text)


def _without_missing_files(ticket: Ticket) -> tuple[Ticket, list[str]]:
    # A screenshot that was never written must not stop an escalation: keep the rest, say what is missing.
    present = [a for a in ticket.attachments if a.path.is_file()]
    missing = [a.name for a in ticket.attachments if not a.path.is_file()]
    return ticket.model_copy(update={"attachments": present}), missing


def open_ticket(
    ticket: Ticket,
    *,
    store: TicketStore,
    tracker: Tracker | None,
    dedupe_window_s: float = 3600,
    now: datetime | None = None,
    redact: Redact | None = None,
) -> TicketReceipt:
    """Record the ticket locally, merge it into an open duplicate or deliver it; never loses it.

    Tracker failures do not raise: the receipt says "queued" and why. Raises TicketError only when the
    local store cannot record the ticket (unwritable data dir, unreadable attachment).
    """
    scrub = redact or _identity
    moment = now or datetime.now(UTC)
    clean, missing = _without_missing_files(redact_ticket(_linked(ticket), scrub))
    receipt = _repeat_of_recorded(clean, store, tracker, scrub)
    if receipt is None and clean.fingerprint:
        since = moment - timedelta(seconds=dedupe_window_s)
        original = store.find_open(clean.runbook, clean.target, clean.fingerprint, since=since)
        if original is not None:
            receipt = _merge(clean, original, store, tracker, moment, scrub)
    if receipt is None:
        stored = store.create(
            clean, delivery="queued" if tracker else "local", now=moment, transform_text=redact
        )
        receipt = _deliver(stored, store, tracker, scrub)[0] if tracker else _local_receipt(stored)
    if missing:
        note = f" Missing attachment(s) not kept: {', '.join(missing)}."
        receipt = receipt.model_copy(update={"message": receipt.message + note})
    return receipt


def retry_outbox(
    *, store: TicketStore, tracker: Tracker | None, redact: Redact | None = None
) -> list[TicketReceipt]:
    """Deliver queued tickets, then relay pending comments; one receipt per item tried or skipped.

    Stops trying once the tracker is down or refuses the credentials (the rest stay queued). Never raises
    for tracker failures; with no tracker configured there is nothing to deliver to and it returns [].
    """
    if tracker is None:
        return []
    scrub = redact or _identity
    receipts: list[TicketReceipt] = []
    blocked: TicketError | None = None
    for stored in store.outbox():
        if blocked is not None:
            receipts.append(_not_attempted(stored.local_id, tracker, blocked))
            continue
        receipt, error = _deliver(stored, store, tracker, scrub)
        receipts.append(receipt)
        blocked = error if _tracker_wide(error) else None
    for comment in store.pending_comments():
        parent = store.get(comment.local_id)
        if parent.delivery != "delivered" or parent.tracker != tracker.name:
            continue
        if blocked is not None:
            receipts.append(_not_attempted(comment.local_id, tracker, blocked))
            continue
        receipt, error = _relay(comment, parent, store, tracker, scrub)
        receipts.append(receipt)
        blocked = error if _tracker_wide(error) else None
    return receipts


def _tracker_wide(error: TicketError | None) -> bool:
    # These fail every item the same way; a plain TicketError (e.g. HTTP 400) is about one ticket.
    return isinstance(error, TrackerUnavailable | TrackerAuthError | TrackerConfigError)


def _repeat_of_recorded(
    ticket: Ticket, store: TicketStore, tracker: Tracker | None, scrub: Redact
) -> TicketReceipt | None:
    """The same run escalating twice gets the first answer (and a delivery retry if it waits)."""
    recorded = store.find_by_key(ticket.idempotency_key)
    if recorded is not None:
        if recorded.delivery == "queued" and tracker is not None:
            return _deliver(recorded, store, tracker, scrub)[0]
        return _state_receipt(recorded, f"run {ticket.run_id} is already recorded as {recorded.local_id}.")
    comment = store.find_comment_by_key(ticket.idempotency_key)
    if comment is not None:
        return TicketReceipt(
            local_id=comment.local_id,
            status="deduplicated",
            tracker=tracker.name if tracker else "local",
            message=f"run {ticket.run_id} is already recorded on {comment.local_id}.",
        )
    return None


def _merge(
    ticket: Ticket,
    original: StoredTicket,
    store: TicketStore,
    tracker: Tracker | None,
    moment: datetime,
    scrub: Redact,
) -> TicketReceipt:
    """Add the repeat to the open ticket as a comment, relayed at once if that ticket was delivered."""
    comment = store.add_comment(
        original.local_id,
        run_id=ticket.run_id,
        body=scrub(render_comment(ticket)),
        attachments=ticket.attachments,
        idempotency_key=ticket.idempotency_key,
        relay="local" if original.delivery == "local" else "pending",
        now=moment,
        transform_text=scrub,
    )
    prefix = f"same failure as open ticket {original.local_id}: added run {ticket.run_id} to it."
    if original.delivery == "delivered" and tracker is not None and original.tracker == tracker.name:
        receipt, _ = _relay(comment, original, store, tracker, scrub)
        return receipt.model_copy(update={"status": "deduplicated", "message": f"{prefix} {receipt.message}"})
    later = ""
    if comment.relay == "pending" and original.delivery == "queued":
        later = " It reaches the tracker with the ticket."
    elif comment.relay == "pending":
        later = f" It is relayed when {original.tracker} is the configured tracker again."
    return TicketReceipt(
        local_id=original.local_id,
        status="deduplicated",
        tracker=original.tracker or (tracker.name if tracker else "local"),
        remote_id=original.remote_id,
        url=original.url,
        message=prefix + later,
    )


def _deliver(
    stored: StoredTicket, store: TicketStore, tracker: Tracker, scrub: Redact
) -> tuple[TicketReceipt, TicketError | None]:
    """Try the tracker once; on failure the ticket stays queued with the error recorded."""
    body = scrub(render_body(stored.ticket))
    try:
        ref = tracker.create(stored.ticket, body, stored.ticket.attachments)
    except TicketError as exc:
        error = scrub(str(exc))
        store.mark_failed(stored.local_id, tracker=tracker.name, error=error)
        log.warning("ticket %s queued: %s", stored.local_id, error)
        return _queued(stored.local_id, tracker, exc, error), exc
    store.mark_delivered(stored.local_id, tracker=tracker.name, remote_id=ref.remote_id, url=ref.url)
    where = ref.url or ref.remote_id
    receipt = TicketReceipt(
        local_id=stored.local_id,
        status="delivered",
        tracker=tracker.name,
        remote_id=ref.remote_id,
        url=ref.url,
        message=f"{stored.local_id} delivered to {tracker.name} as {where}.",
    )
    return receipt, None


def _relay(
    comment: StoredComment, parent: StoredTicket, store: TicketStore, tracker: Tracker, scrub: Redact
) -> tuple[TicketReceipt, TicketError | None]:
    """Send one pending comment to the tracker holding its ticket."""
    remote_id = parent.remote_id or ""
    try:
        tracker.comment(remote_id, comment.body, comment.attachments, idempotency_key=comment.idempotency_key)
    except TicketError as exc:
        error = scrub(str(exc))
        store.mark_comment_failed(comment.id, error=error)
        log.warning("comment on %s queued: %s", parent.local_id, error)
        return _queued(parent.local_id, tracker, exc, error, what="the comment"), exc
    store.mark_comment_relayed(comment.id)
    receipt = TicketReceipt(
        local_id=parent.local_id,
        status="delivered",
        tracker=tracker.name,
        remote_id=parent.remote_id,
        url=parent.url,
        message=f"comment from run {comment.run_id} added to {tracker.name} {remote_id}.",
    )
    return receipt, None


def _queued(
    local_id: str, tracker: Tracker, exc: TicketError, error: str, what: str | None = None
) -> TicketReceipt:
    subject = what or local_id
    if isinstance(exc, TrackerUnavailable):
        message = (
            f"{subject} is saved locally and waits in the outbox: {error}. `{RETRY_COMMAND}` delivers it."
        )
    else:
        message = (
            f"{subject} is saved locally but {tracker.name} did not accept it: {error}. "
            f"Fix this, then run `{RETRY_COMMAND}`."
        )
    return TicketReceipt(local_id=local_id, status="queued", tracker=tracker.name, message=message)


def _not_attempted(local_id: str, tracker: Tracker, blocked: TicketError) -> TicketReceipt:
    return TicketReceipt(
        local_id=local_id,
        status="queued",
        tracker=tracker.name,
        message=f"{local_id} still waits in the outbox: not tried, as {tracker.name} just failed ({blocked}).",
    )


def _local_receipt(stored: StoredTicket) -> TicketReceipt:
    return TicketReceipt(
        local_id=stored.local_id,
        status="delivered",
        tracker="local",
        message=f"{stored.local_id} recorded in the local ticket store (no tracker configured).",
    )


def _state_receipt(stored: StoredTicket, message: str) -> TicketReceipt:
    status = "queued" if stored.delivery == "queued" else "delivered"
    return TicketReceipt(
        local_id=stored.local_id,
        status=status,
        tracker=stored.tracker or "local",
        remote_id=stored.remote_id,
        url=stored.url,
        message=message,
    )


def add_note(
    local_id: str,
    *,
    run_id: str,
    body: str,
    store: TicketStore,
    tracker: Tracker | None,
    attachments: Sequence[Attachment] | None = None,
    close: bool = False,
    redact: Redact | None = None,
    now: datetime | None = None,
) -> TicketReceipt:
    """Add a comment to a recorded ticket (relayed at once if the ticket was delivered), and close it if asked.

    Scheduled checks use it for later failures and for the recovery note. Raises TicketError only when
    the local store cannot record it; tracker failures leave the comment pending for `runbook tickets retry`.
    """
    scrub = redact or _identity
    original = store.get(local_id)
    existing = store.find_comment_by_key(f"note:{run_id}:{int(close)}")
    comment = existing or store.add_comment(
        local_id,
        run_id=run_id,
        body=scrub(body),
        attachments=attachments or [],
        idempotency_key=f"note:{run_id}:{int(close)}",
        relay="local" if original.delivery == "local" else "pending",
        now=now,
        transform_text=scrub,
    )
    receipt = TicketReceipt(
        local_id=local_id,
        status="delivered" if comment.relay != "pending" else "queued",
        tracker=original.tracker or "local",
        remote_id=original.remote_id,
        url=original.url,
        message=f"note added to {local_id}.",
    )
    if comment.relay == "pending" and original.delivery == "delivered" and tracker is not None:
        if original.tracker == tracker.name:
            receipt, _ = _relay(comment, original, store, tracker, scrub)
    if close:
        store.close(local_id)
    return receipt
