"""The ticket store: SQLite at `<data_dir>/tickets.db` (or the shared database), files under `<data_dir>/tickets/<local_id>/`.

Attachments are copied in, so a ticket outlives the run folder it came from. Every ticket is recorded here
before any tracker sees it; `delivery` says where it stands: "local" (no tracker configured), "queued"
(in the outbox) or "delivered". Local ids are "RB-1", "RB-2", ...
"""

from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import case, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from automation.errors import TicketError
from automation.store.database import is_sqlite, make_engine, shared_url
from automation.store.migrations import upgrade
from automation.store.tables.tickets import comments, tickets
from automation.tickets.models import (
    Attachment,
    Delivery,
    Relay,
    StoredComment,
    StoredTicket,
    Ticket,
    render_body,
)

StatusFilter = Literal["open", "closed", "local", "queued", "delivered"]
TextTransform = Callable[[str], str]

_PREFIX = "RB-"
_TEXT_SUFFIXES = {".txt", ".log", ".json", ".har", ".md", ".html", ".htm", ".csv", ".xml", ".yaml", ".yml"}
_TEXT_TYPES = {"application/json", "application/xml", "application/x-ndjson", "application/yaml"}


def _epoch(moment: datetime | None) -> float:
    return time.time() if moment is None else moment.timestamp()


def _moment(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)


def _is_text(attachment: Attachment) -> bool:
    kind = attachment.content_type.split(";")[0].strip().lower()
    return kind.startswith("text/") or kind in _TEXT_TYPES or attachment.path.suffix.lower() in _TEXT_SUFFIXES


def _unique_name(name: str, taken: set[str]) -> str:
    stem, dot, suffix = name.partition(".")
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{stem}-{n}{dot}{suffix}"
    taken.add(candidate)
    return candidate


def copy_attachments(
    attachments: Sequence[Attachment], dest: Path, transform_text: TextTransform | None = None
) -> list[Attachment]:
    """Copy files into `dest`, passing text files through `transform_text`. Raises TicketError."""
    copied, taken = [], set[str]()
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise TicketError(f"attachments could not be copied into {dest} ({exc.strerror})") from exc
    for attachment in attachments:
        target = dest / _unique_name(attachment.name, taken)
        try:
            if transform_text is not None and _is_text(attachment):
                text = attachment.path.read_bytes().decode("utf-8", errors="replace")
                target.write_text(transform_text(text), encoding="utf-8")
            else:
                shutil.copyfile(attachment.path, target)
        except OSError as exc:
            raise TicketError(
                f"attachment {attachment.name} could not be copied from {attachment.path} ({exc.strerror})"
            ) from exc
        copied.append(attachment.model_copy(update={"name": target.name, "path": target}))
    return copied


class TicketStore:
    """Tickets, their comments and their files under one data directory (safe across processes).

    The rows live in `<data_dir>/tickets.db`, or in the fleet's shared database when `url` (or
    RUNBOOK_DATABASE_URL) names one; the copied files stay under `<data_dir>/tickets/`."""

    def __init__(self, data_dir: Path, *, url: str | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.db_path = self.data_dir / "tickets.db"
        self.files_dir = self.data_dir / "tickets"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.url = url or shared_url() or f"sqlite:///{self.db_path}"
        self.engine = make_engine(self.url)
        upgrade(self.engine, "tickets")  # a tickets.db made before migrations keeps its tickets

    @property
    def where(self) -> str:
        """Where the rows are, for messages (never the URL's password)."""
        return str(self.db_path) if is_sqlite(self.url) else self.engine.url.render_as_string()

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        # SQLite: BEGIN IMMEDIATE takes the write lock up front, so two processes never interleave a create.
        with self.engine.connect() as conn:
            conn.execution_options(runbook_immediate=True)
            with conn.begin():
                yield conn

    def _rows(self, query: Any) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.execute(query).mappings().all())

    def create(
        self,
        ticket: Ticket,
        *,
        delivery: Delivery,
        now: datetime | None = None,
        transform_text: TextTransform | None = None,
    ) -> StoredTicket:
        """Record a ticket and copy its attachments in. Raises TicketError (duplicate key, unreadable file)."""
        at = _epoch(now)
        values = {
            "idempotency_key": ticket.idempotency_key,
            "queue": ticket.queue,
            "runbook": ticket.runbook,
            "target": ticket.target,
            "fingerprint": ticket.fingerprint,
            "delivery": delivery,
            "created_at": at,
            "last_seen_at": at,
            "data": "{}",
        }
        with self._tx() as con:
            try:
                key = con.execute(insert(tickets).values(**values)).inserted_primary_key
            except IntegrityError as exc:
                raise TicketError(
                    f"a ticket with idempotency key {ticket.idempotency_key} is already recorded"
                ) from exc
            assert key is not None
            row_id = int(key[0])
            local_id = f"{_PREFIX}{row_id}"
            folder = self.files_dir / local_id
            try:
                copied = copy_attachments(ticket.attachments, folder, transform_text)
                kept = ticket.model_copy(update={"attachments": copied})
                con.execute(update(tickets).where(tickets.c.id == row_id).values(data=kept.model_dump_json()))
            except BaseException:
                shutil.rmtree(folder, ignore_errors=True)
                raise
        return self.get(local_id)

    def get(self, local_id: str) -> StoredTicket:
        """One ticket with its comments. Raises TicketError if there is no such ticket."""
        rows = self._rows(select(tickets).where(tickets.c.id == _row_id(local_id)))
        if not rows:
            raise TicketError(f"no ticket {local_id} in {self.where}: see the list of tickets")
        return self._stored(rows[0])

    def find_by_key(self, idempotency_key: str) -> StoredTicket | None:
        """The ticket recorded under this idempotency key, if any."""
        rows = self._rows(select(tickets).where(tickets.c.idempotency_key == idempotency_key))
        return self._stored(rows[0]) if rows else None

    def find_comment_by_key(self, idempotency_key: str) -> StoredComment | None:
        """The comment recorded under this idempotency key, if any."""
        rows = self._rows(select(comments).where(comments.c.idempotency_key == idempotency_key))
        return self._comment(rows[0]) if rows else None

    def find_open(
        self, runbook: str, target: str, fingerprint: str, *, since: datetime
    ) -> StoredTicket | None:
        """The newest open ticket for this failure last seen at or after `since`."""
        t = tickets.c
        query = (
            select(tickets)
            .where(t.runbook == runbook, t.target == target, t.fingerprint == fingerprint)
            .where(t.state == "open", t.last_seen_at >= since.timestamp())
            .order_by(t.last_seen_at.desc(), t.id.desc())
            .limit(1)
        )
        rows = self._rows(query)
        return self._stored(rows[0]) if rows else None

    def add_comment(
        self,
        local_id: str,
        *,
        run_id: str,
        body: str,
        attachments: Sequence[Attachment] = (),
        idempotency_key: str,
        relay: Relay,
        now: datetime | None = None,
        transform_text: TextTransform | None = None,
    ) -> StoredComment:
        """Add a "seen again" entry (files copied in) and refresh the ticket's last-seen time.

        Raises TicketError (unknown ticket, duplicate key, unreadable file).
        """
        ticket_id, at = _row_id(local_id), _epoch(now)
        self.get(local_id)
        values = {
            "ticket_id": ticket_id,
            "idempotency_key": idempotency_key,
            "run_id": run_id,
            "created_at": at,
            "body": body,
            "attachments": "[]",
            "relay": relay,
        }
        with self._tx() as con:
            try:
                key = con.execute(insert(comments).values(**values)).inserted_primary_key
            except IntegrityError as exc:
                raise TicketError(
                    f"a comment with idempotency key {idempotency_key} is already recorded"
                ) from exc
            assert key is not None
            comment_id = int(key[0])
            folder = self.files_dir / local_id / f"seen-{comment_id}"
            try:
                copied = copy_attachments(attachments, folder, transform_text)
                files = json.dumps([a.model_dump(mode="json") for a in copied])
                con.execute(update(comments).where(comments.c.id == comment_id).values(attachments=files))
            except BaseException:
                shutil.rmtree(folder, ignore_errors=True)
                raise
            seen = tickets.c.last_seen_at
            con.execute(
                update(tickets)
                .where(tickets.c.id == ticket_id)
                .values(last_seen_at=case((seen < at, at), else_=seen))
            )
        return self._comment(self._rows(select(comments).where(comments.c.id == comment_id))[0])

    def mark_delivered(self, local_id: str, *, tracker: str, remote_id: str, url: str | None) -> None:
        """Record that the tracker holds this ticket; it leaves the outbox."""
        self._update_ticket(
            local_id, delivery="delivered", tracker=tracker, remote_id=remote_id, url=url, last_error=None
        )

    def mark_failed(self, local_id: str, *, tracker: str, error: str) -> None:
        """Record a failed delivery; the ticket stays in the outbox."""
        self._update_ticket(local_id, delivery="queued", tracker=tracker, last_error=error)

    def mark_comment_relayed(self, comment_id: int) -> None:
        """Record that the tracker holds this comment."""
        self._update_comment(comment_id, relay="relayed", last_error=None)

    def mark_comment_failed(self, comment_id: int, *, error: str) -> None:
        """Record a failed relay; the comment stays pending."""
        self._update_comment(comment_id, last_error=error)

    def close(self, local_id: str) -> None:
        """Close a ticket: a new occurrence of its failure opens a new ticket. Raises TicketError."""
        self.get(local_id)
        with self._tx() as con:
            con.execute(update(tickets).where(tickets.c.id == _row_id(local_id)).values(state="closed"))

    def outbox(self) -> list[StoredTicket]:
        """Tickets waiting for delivery to the configured tracker, oldest first."""
        query = select(tickets).where(tickets.c.delivery == "queued").order_by(tickets.c.id)
        return [self._stored(r) for r in self._rows(query)]

    def pending_comments(self) -> list[StoredComment]:
        """Comments waiting to be relayed to their ticket's tracker, oldest first."""
        query = select(comments).where(comments.c.relay == "pending").order_by(comments.c.id)
        return [self._comment(r) for r in self._rows(query)]

    def _update_ticket(self, local_id: str, **values: Any) -> None:
        query = update(tickets).where(tickets.c.id == _row_id(local_id))
        with self._tx() as con:
            con.execute(query.values(attempts=tickets.c.attempts + 1, **values))

    def _update_comment(self, comment_id: int, **values: Any) -> None:
        query = update(comments).where(comments.c.id == comment_id)
        with self._tx() as con:
            con.execute(query.values(attempts=comments.c.attempts + 1, **values))

    def export(self, local_id: str, dest_dir: Path) -> Path:
        """Write ticket.json, body.md and attachments/ for one ticket into `dest_dir`. Raises TicketError."""
        stored = self.get(local_id)
        dest = Path(dest_dir)
        try:
            dest.mkdir(parents=True, exist_ok=True)
            (dest / "ticket.json").write_text(stored.model_dump_json(indent=2) + "\n", encoding="utf-8")
            (dest / "body.md").write_text(_export_body(stored), encoding="utf-8")
            copy_attachments(stored.ticket.attachments, dest / "attachments")
            for comment in stored.comments:
                copy_attachments(comment.attachments, dest / "attachments" / f"seen-{comment.id}")
        except OSError as exc:
            raise TicketError(f"cannot export {local_id} to {dest}: {exc.strerror}") from exc
        return dest

    def _stored(self, row: Any) -> StoredTicket:
        local_id = f"{_PREFIX}{row['id']}"
        seen = self._rows(select(comments).where(comments.c.ticket_id == row["id"]).order_by(comments.c.id))
        return StoredTicket(
            local_id=local_id,
            ticket=Ticket.model_validate_json(row["data"]),
            state=row["state"],
            delivery=row["delivery"],
            created_at=_moment(row["created_at"]),
            last_seen_at=_moment(row["last_seen_at"]),
            tracker=row["tracker"],
            remote_id=row["remote_id"],
            url=row["url"],
            attempts=row["attempts"],
            last_error=row["last_error"],
            comments=[self._comment(c) for c in seen],
        )

    def _comment(self, row: Any) -> StoredComment:
        return StoredComment(
            id=row["id"],
            local_id=f"{_PREFIX}{row['ticket_id']}",
            created_at=_moment(row["created_at"]),
            run_id=row["run_id"],
            idempotency_key=row["idempotency_key"],
            body=row["body"],
            attachments=[Attachment.model_validate(a) for a in json.loads(row["attachments"])],
            relay=row["relay"],
            last_error=row["last_error"],
        )

    # Defined last: inside the class body the name `list` means this method from here on.
    def list(
        self, *, status: StatusFilter | None = None, queue: str | None = None, limit: int | None = None
    ) -> list[StoredTicket]:
        """Tickets newest first; `status` is a state (open, closed) or a delivery (local, queued, delivered)."""
        query = select(tickets).order_by(tickets.c.id.desc())
        if status in ("open", "closed"):
            query = query.where(tickets.c.state == status)
        elif status is not None:
            query = query.where(tickets.c.delivery == status)
        if queue is not None:
            query = query.where(tickets.c.queue == queue)
        if limit is not None:
            query = query.limit(int(limit))
        return [self._stored(r) for r in self._rows(query)]


def _row_id(local_id: str) -> int:
    # At most 18 digits: SQLite integers are 64-bit, and no store will hold a quintillion tickets.
    match = re.fullmatch(rf"(?i)(?:{_PREFIX})?([0-9]{{1,18}})", local_id.strip())
    if match is None:
        raise TicketError(f"{local_id!r} is not a ticket id: ids look like {_PREFIX}12")
    return int(match.group(1))


def _export_body(stored: StoredTicket) -> str:
    parts = [f"# {stored.local_id}: {stored.ticket.title}\n", render_body(stored.ticket)]
    for comment in stored.comments:
        parts.append(f"\n## Seen again ({comment.created_at:%Y-%m-%d %H:%M} UTC, run {comment.run_id})\n")
        parts.append(comment.body)
    return "".join(parts)
