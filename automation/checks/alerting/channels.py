"""Alert channels: where a check's alert notifications go (a ticket, or a webhook POST to a chat tool), behind
one interface, fed through an outbox so that nothing is lost while a tracker is down. Not to be confused with
automation.tickets.webhook_tracker, a ticket *tracker* that the ticket channel may deliver to.

Every notification the policy decides on is first recorded in the history store (queued), then delivered
by its channel; a failed delivery stays queued with its error and is tried again on the next tick.

- `ticket`: one open ticket per failing check (the project's own tickets, delivered to the environment's
  tracker when one is configured). `opened` opens it with the run's evidence attached, every later failure
  is a comment on it, `recovered` adds a note saying how long the check failed and closes it. Reminders are
  not added: the ticket already has every failure.
- `webhook`: a JSON POST with a `text` field a chat tool shows. It gets `opened`, `reminder` (at most
  `remind.at_most`) and `recovered`; never a message per failure. With a key (`secret_env`) it is signed:
      X-Runbook-Timestamp: 1767258000                     (unix seconds when it was sent)
      X-Runbook-Signature: sha256=HEX                     (HMAC-SHA256 of b"1767258000." + body)
  The timestamp is inside the signature, so a receiver refuses a replay by its age alone (README: five
  minutes) without parsing the body, and nobody can freshen an old delivery without the key.

Both are read by people outside the server: they never carry a server path. With RUNBOOK_PUBLIC_URL set they
link to the run's page on the console (`url`, and the report under it); without it, the report is named by its
path under the evidence root.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from automation.checks.config.load import ChannelConfig, Check
from automation.checks.model import Notification
from automation.checks.storage.history import History
from automation.errors import RunbookError
from automation.paths import run_page_url
from automation.tickets.config import plain_http_problem

log = logging.getLogger(__name__)

KINDS = {"ticket": {"opened", "failed-again", "recovered"}, "webhook": {"opened", "reminder", "recovered"}}
Mask = Callable[[str], str]


class DeliveryFailed(Exception):
    """A channel could not deliver; the notification stays queued with this reason."""


class Channel(Protocol):
    """Delivers one notification; returns a short detail for the history, raises DeliveryFailed."""

    def deliver(self, check: Check, note: Notification) -> str: ...


def wants(channel: ChannelConfig, note: Notification) -> bool:
    return note.kind in KINDS[channel.kind]


class TicketChannel:
    """One ticket per failing check, found by its fingerprint, so a lost state never opens a second one."""

    def __init__(
        self, config: ChannelConfig, *, data_dir: Path, tracker_for: Callable[[str], Any], mask: Mask
    ):
        self.config, self.data_dir, self.tracker_for, self.mask = config, data_dir, tracker_for, mask

    def deliver(self, check: Check, note: Notification) -> str:
        from automation.tickets import TicketStore, open_ticket
        from automation.tickets.service import add_note

        store = TicketStore(self.data_dir)
        tracker = self.tracker_for(check.env)
        try:
            open_one = _open_ticket_of(store, check)
            link = run_page_url(note.run_id) if note.run_id else None  # ConfigError: stays queued, says why
            if note.kind == "opened" and open_one is None:
                receipt = open_ticket(
                    _ticket(check, note, self.config, link), store=store, tracker=tracker, redact=self.mask
                )
                return f"{receipt.local_id} {receipt.status}: {receipt.message}"
            if open_one is None:
                return "no open ticket for this check: nothing to add to"
            run_id = f"{note.kind}-{note.run_id or note.at.isoformat()}"
            body = _comment(note, link)
            close = note.kind == "recovered"
            receipt = add_note(
                open_one,
                run_id=run_id,
                body=body,
                store=store,
                tracker=tracker,
                close=close,
                redact=self.mask,
                attachments=_evidence(note) if note.kind == "failed-again" else [],
            )
            return f"{open_one}: {receipt.message}" + (" Closed." if close else "")
        except RunbookError as exc:
            raise DeliveryFailed(str(exc)) from exc


def _open_ticket_of(store: Any, check: Check) -> str | None:
    for stored in store.list(status="open"):
        if stored.ticket.fingerprint == _fingerprint(check):
            return stored.local_id
    return None


def _fingerprint(check: Check) -> str:
    return f"check:{check.name}"


def _evidence(note: Notification) -> list[Any]:
    from automation.tickets import Attachment

    if not note.evidence_dir:
        return []
    folder = Path(note.evidence_dir)
    files = [folder / "report.html", folder / "run.json", folder / "trace.zip"]
    files += sorted((folder / "screenshots").glob("*.png"))
    return [Attachment(name=f.name, path=f) for f in files if f.is_file()]


def _ticket(check: Check, note: Notification, config: ChannelConfig, link: str | None) -> Any:
    from automation.tickets import Ticket

    return Ticket(
        queue=config.queue,
        title=f"Check {check.name} is failing: {check.title}",
        notes=note.message,
        steps=_steps(note),
        outcome=note.status or "failed",
        runbook=check.runbook,
        target=f"{check.env} (scheduled check {check.name})",
        run_id=note.run_id or f"{check.name}-{note.at:%Y%m%dT%H%M%S}",
        run_url=link,
        evidence_dir=Path(note.evidence_dir) if note.evidence_dir else None,
        attachments=_evidence(note),
        fingerprint=_fingerprint(check),
    )


def _steps(note: Notification) -> list[Any]:
    """The steps of the run that opened the alert, read back from its run.json (the notification waits in the
    outbox, maybe across a restart, so it carries the folder, not the steps). None when the run has no
    evidence (it stopped before the browser started) or its run.json cannot be read."""
    from automation.tickets import TicketStep

    if not note.evidence_dir:
        return []
    try:
        data = json.loads((Path(note.evidence_dir) / "run.json").read_text(encoding="utf-8"))
        records = [s for s in data.get("steps") or [] if isinstance(s, dict)]
        return [
            TicketStep(
                index=i,
                label=f"{s.get('number', i)} {s.get('label') or s.get('action') or ''}".strip(),
                status=str(s.get("status") or "passed"),
                duration_s=float(s.get("duration_s") or 0.0),
                error=s.get("error") or None,
            )
            for i, s in enumerate(records, start=1)
        ]
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        log.warning("the steps of %s cannot be read for its ticket: %s", note.run_id, exc)
        return []


def _comment(note: Notification, link: str | None = None) -> str:
    if note.kind == "recovered":
        text = f"Recovered at {note.at:%Y-%m-%d %H:%M:%S %Z}. {note.message}"
    else:
        text = f"Failed again at {note.at:%Y-%m-%d %H:%M:%S %Z}: {note.message}"
    return f"{text}\nThe run: {link}" if link else text


class WebhookChannel:
    def __init__(
        self,
        config: ChannelConfig,
        *,
        mask: Mask,
        status_url: str | None = None,
        evidence_root: Path | None = None,
    ) -> None:
        self.config, self.mask, self.status_url = config, mask, status_url
        self.evidence_root = evidence_root

    def deliver(self, check: Check, note: Notification) -> str:
        import httpx

        url = self.config.url or os.environ.get(self.config.url_env or "", "")
        if not url:
            raise DeliveryFailed(f"${self.config.url_env} (the webhook's URL) is not set")
        if problem := plain_http_problem(url):  # a URL in the file was checked on load; a variable, only now
            raise DeliveryFailed(f"${self.config.url_env} (the webhook's URL) {problem}")
        try:
            document = payload(check, note, self.mask, evidence_root=self.evidence_root)
        except RunbookError as exc:  # RUNBOOK_PUBLIC_URL is wrong: wait in the outbox until it is fixed
            raise DeliveryFailed(str(exc)) from exc
        body = json.dumps(document, sort_keys=True).encode()
        headers = {"Content-Type": "application/json", "User-Agent": "runbook-checks"}
        secret = os.environ.get(self.config.secret_env or "", "")
        if self.config.secret_env and not secret:
            raise DeliveryFailed(f"${self.config.secret_env} (the webhook's signing key) is not set")
        if secret:
            headers.update(signature_headers(secret, body, at=time.time()))
        try:
            answer = httpx.post(url, content=body, headers=headers, timeout=10)
        except httpx.HTTPError as exc:
            raise DeliveryFailed(
                f"the webhook at {_host(url)} did not answer ({type(exc).__name__})"
            ) from exc
        if answer.status_code >= 300:
            raise DeliveryFailed(f"the webhook at {_host(url)} answered {answer.status_code}")
        return f"delivered to {_host(url)} ({answer.status_code})"


def signature_headers(secret: str, body: bytes, *, at: float) -> dict[str, str]:
    """The two headers that sign a delivery sent at `at` (unix time): its timestamp, and the signature."""
    timestamp = str(int(at))
    return {
        "X-Runbook-Timestamp": timestamp,
        "X-Runbook-Signature": "sha256=" + sign(secret, timestamp, body),
    }


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The hex HMAC-SHA256 of `timestamp + "." + body`: receivers compare it with hmac.compare_digest."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def payload(
    check: Check, note: Notification, mask: Mask, *, evidence_root: Path | None = None
) -> dict[str, Any]:
    """The webhook's JSON body. Raises ConfigError when RUNBOOK_PUBLIC_URL is not an http(s) address."""
    icon = {"opened": "ALERT", "reminder": "STILL FAILING", "recovered": "RECOVERED"}.get(
        note.kind, note.kind
    )
    link = run_page_url(note.run_id) if note.run_id else None
    text = f"[{icon}] {check.name}: {note.message}" + (f"\n{link}" if link else "")
    return {
        "check": check.name,
        "title": check.title,
        "runbook": check.runbook,
        "env": check.env,
        "kind": note.kind,
        "status": note.status,
        "at": note.at.isoformat(),
        "message": mask(note.message),
        "text": mask(text),
        "downtime_s": note.downtime_s,
        "reminder": note.reminder,
        "run_id": note.run_id,
        "url": link,
        "report": f"{link}/report" if link else _report_path(note.evidence_dir, evidence_root),
    }


def _report_path(evidence_dir: str | None, evidence_root: Path | None) -> str | None:
    """The report named under the evidence root (check/run-id/report.html): the server's own folders are
    nobody's business in a chat tool, and mean nothing on another machine."""
    if not evidence_dir:
        return None
    folder = Path(evidence_dir)
    if evidence_root is not None:
        try:
            return (folder.resolve().relative_to(evidence_root.resolve()) / "report.html").as_posix()
        except ValueError:
            pass
    # Runs of checks keep their evidence in <root>/<check>/<run-id>: the last two parts name it anywhere.
    return (Path(*folder.parts[-2:]) / "report.html").as_posix()


def _host(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).hostname or "the webhook"


class Notifier:
    """Queues each notification for each channel that wants it, then delivers what waits (the outbox)."""

    def __init__(self, history: History, channels: Callable[[ChannelConfig], Channel]) -> None:
        self.history, self.channels = history, channels

    def queue(self, check: Check, notes: list[Notification]) -> None:
        for note in notes:
            for config in check.channels:
                if wants(config, note):
                    self.history.add_notification(note, config.id)

    def flush(
        self, checks: dict[str, Check], *, on_sent: Callable[[Check, str, str], None] | None = None
    ) -> int:
        """Deliver every queued notification of these checks, each check's in order per channel; returns how
        many are still waiting. Passes repeat while one delivers something: a notification held back behind
        an earlier one (another worker was still sending it) goes out once that one is delivered."""
        while True:
            delivered, waiting = self._pass(checks, on_sent)
            if not delivered:
                return waiting

    def _pass(
        self, checks: dict[str, Check], on_sent: Callable[[Check, str, str], None] | None
    ) -> tuple[int, int]:
        delivered = waiting = 0
        held: set[tuple[str, str]] = set()  # (check, channel) whose earlier notification is not delivered
        for number, channel_id, note in self.history.pending_notifications():
            check = checks.get(note.check)
            config = next((c for c in check.channels if c.id == channel_id), None) if check else None
            if check is None or config is None:
                continue  # a check or channel no longer configured: kept in history, not sent
            key = (note.check, channel_id)
            if key in held or self.history.earlier_undelivered(number, note.check, channel_id):
                held.add(key)
                waiting += 1
                continue
            if not self.history.take_notification(number):
                held.add(key)  # another worker is delivering it: what follows waits for it
                continue
            try:
                detail = self.channels(config).deliver(check, note)
            except DeliveryFailed as exc:
                self.history.mark_notification(number, "failed", str(exc))
                log.warning("%s for %s waits in the outbox: %s", note.kind, check.name, exc)
                held.add(key)
                waiting += 1
                continue
            self.history.mark_notification(number, "delivered", detail)
            delivered += 1
            if on_sent is not None:
                on_sent(check, config.kind, note.kind)
        return delivered, waiting
