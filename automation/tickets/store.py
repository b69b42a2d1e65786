"""The embedded ticket store: SQLite at `<data_dir>/tickets.db`, files under `<data_dir>/tickets/<local_id>/`.

Attachments are copied in, so a ticket outlives the run folder it came from. Every ticket is recorded here
before any tracker sees it; `delivery` says where it stands: "local" (no tracker configured), "queued"
(in the outbox) or "delivered". Local ids are "RB-1", "RB-2", ...
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from ..errors import TicketError
from .models import Attachment, Delivery, Relay, StoredComment, StoredTicket, Ticket, render_body

StatusFilter = Literal["open", "closed", "local", "queued", "delivered"]
TextTransform = Callable[[str], str]

_DDL = """
CREATE TABLE IF NOT EXISTS tickets (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    idempotency_key TEXT NOT NULL UNIQUE,
    queue TEXT NOT NULL,
    runbook TEXT NOT NULL,
    target TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'open',
    delivery TEXT NOT NULL,
    created_at REAL NOT NULL,
    last_seen_at REAL NOT NULL,
    tracker TEXT,
    remote_id TEXT,
    url TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS tickets_dedupe ON tickets (runbook, target, fingerprint, state);
CREATE TABLE IF NOT EXISTS comments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id INTEGER NOT NULL REFERENCES tickets (id),
    idempotency_key TEXT NOT NULL UNIQUE,
    run_id TEXT NOT NULL,
    created_at REAL NOT NULL,
    body TEXT NOT NULL,
    attachments TEXT NOT NULL,
    relay TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);
"""
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
    """Tickets, their comments and their files under one data directory (safe across processes)."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self.db_path = self.data_dir / "tickets.db"
        self.files_dir = self.data_dir / "tickets"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with self._connect() as con:
            con.executescript(_DDL)  # idempotent; executescript manages its own transaction

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.db_path, timeout=10.0, isolation_level=None)) as con:
            con.row_factory = sqlite3.Row
            con.execute("PRAGMA journal_mode=WAL")
            yield con

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        # IMMEDIATE takes the write lock up front, so two processes never interleave a create.
        with self._connect() as con:
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")

    def _rows(self, sql: str, *args: Any) -> list[sqlite3.Row]:
        with self._connect() as con:
            return con.execute(sql, args).fetchall()

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
        with self._tx() as con:
            try:
                row_id = con.execute(
                    "INSERT INTO tickets (idempotency_key, queue, runbook, target, fingerprint, delivery,"
                    " created_at, last_seen_at, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, '{}')",
                    (
                        ticket.idempotency_key,
                        ticket.queue,
                        ticket.runbook,
                        ticket.target,
                        ticket.fingerprint,
                        delivery,
                        at,
                        at,
                    ),
                ).lastrowid
            except sqlite3.IntegrityError as exc:
                raise TicketError(
                    f"a ticket with idempotency key {ticket.idempotency_key} is already recorded"
                ) from exc
            local_id = f"{_PREFIX}{row_id}"
            folder = self.files_dir / local_id
            try:
                copied = copy_attachments(ticket.attachments, folder, transform_text)
                kept = ticket.model_copy(update={"attachments": copied})
                con.execute("UPDATE tickets SET data = ? WHERE id = ?", (kept.model_dump_json(), row_id))
            except BaseException:
                shutil.rmtree(folder, ignore_errors=True)
                raise
        return self.get(local_id)

    def get(self, local_id: str) -> StoredTicket:
        """One ticket with its comments. Raises TicketError if there is no such ticket."""
        rows = self._rows("SELECT * FROM tickets WHERE id = ?", _row_id(local_id))
        if not rows:
            raise TicketError(f"no ticket {local_id} in {self.db_path}: see the list of tickets")
        return self._stored(rows[0])

    def find_by_key(self, idempotency_key: str) -> StoredTicket | None:
        """The ticket recorded under this idempotency key, if any."""
        rows = self._rows("SELECT * FROM tickets WHERE idempotency_key = ?", idempotency_key)
        return self._stored(rows[0]) if rows else None

    def find_comment_by_key(self, idempotency_key: str) -> StoredComment | None:
        """The comment recorded under this idempotency key, if any."""
        rows = self._rows("SELECT * FROM comments WHERE idempotency_key = ?", idempotency_key)
        return self._comment(rows[0]) if rows else None

    def find_open(
        self, runbook: str, target: str, fingerprint: str, *, since: datetime
    ) -> StoredTicket | None:
        """The newest open ticket for this failure last seen at or after `since`."""
        rows = self._rows(
            "SELECT * FROM tickets WHERE runbook = ? AND target = ? AND fingerprint = ? AND state = 'open'"
            " AND last_seen_at >= ? ORDER BY last_seen_at DESC, id DESC LIMIT 1",
            runbook,
            target,
            fingerprint,
            since.timestamp(),
        )
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
        with self._tx() as con:
            try:
                comment_id = con.execute(
                    "INSERT INTO comments (ticket_id, idempotency_key, run_id, created_at, body, attachments,"
                    " relay) VALUES (?, ?, ?, ?, ?, '[]', ?)",
                    (ticket_id, idempotency_key, run_id, at, body, relay),
                ).lastrowid
            except sqlite3.IntegrityError as exc:
                raise TicketError(
                    f"a comment with idempotency key {idempotency_key} is already recorded"
                ) from exc
            folder = self.files_dir / local_id / f"seen-{comment_id}"
            try:
                copied = copy_attachments(attachments, folder, transform_text)
                files = json.dumps([a.model_dump(mode="json") for a in copied])
                con.execute("UPDATE comments SET attachments = ? WHERE id = ?", (files, comment_id))
            except BaseException:
                shutil.rmtree(folder, ignore_errors=True)
                raise
            con.execute(
                "UPDATE tickets SET last_seen_at = MAX(last_seen_at, ?) WHERE id = ?", (at, ticket_id)
            )
        return self._comment(self._rows("SELECT * FROM comments WHERE id = ?", comment_id)[0])

    def mark_delivered(self, local_id: str, *, tracker: str, remote_id: str, url: str | None) -> None:
        """Record that the tracker holds this ticket; it leaves the outbox."""
        with self._tx() as con:
            con.execute(
                "UPDATE tickets SET delivery = 'delivered', tracker = ?, remote_id = ?, url = ?,"
                " attempts = attempts + 1, last_error = NULL WHERE id = ?",
                (tracker, remote_id, url, _row_id(local_id)),
            )

    def mark_failed(self, local_id: str, *, tracker: str, error: str) -> None:
        """Record a failed delivery; the ticket stays in the outbox."""
        with self._tx() as con:
            con.execute(
                "UPDATE tickets SET delivery = 'queued', tracker = ?, attempts = attempts + 1, last_error = ?"
                " WHERE id = ?",
                (tracker, error, _row_id(local_id)),
            )

    def mark_comment_relayed(self, comment_id: int) -> None:
        """Record that the tracker holds this comment."""
        with self._tx() as con:
            con.execute(
                "UPDATE comments SET relay = 'relayed', attempts = attempts + 1, last_error = NULL WHERE id = ?",
                (comment_id,),
            )

    def mark_comment_failed(self, comment_id: int, *, error: str) -> None:
        """Record a failed relay; the comment stays pending."""
        with self._tx() as con:
            con.execute(
                "UPDATE comments SET attempts = attempts + 1, last_error = ? WHERE id = ?",
                (error, comment_id),
            )

    def close(self, local_id: str) -> None:
        """Close a ticket: a new occurrence of its failure opens a new ticket. Raises TicketError."""
        self.get(local_id)
        with self._tx() as con:
            con.execute("UPDATE tickets SET state = 'closed' WHERE id = ?", (_row_id(local_id),))

    def outbox(self) -> list[StoredTicket]:
        """Tickets waiting for delivery to the configured tracker, oldest first."""
        return [
            self._stored(r) for r in self._rows("SELECT * FROM tickets WHERE delivery = 'queued' ORDER BY id")
        ]

    def pending_comments(self) -> list[StoredComment]:
        """Comments waiting to be relayed to their ticket's tracker, oldest first."""
        rows = self._rows("SELECT * FROM comments WHERE relay = 'pending' ORDER BY id")
        return [self._comment(r) for r in rows]

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

    def _stored(self, row: sqlite3.Row) -> StoredTicket:
        local_id = f"{_PREFIX}{row['id']}"
        comments = self._rows("SELECT * FROM comments WHERE ticket_id = ? ORDER BY id", row["id"])
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
            comments=[self._comment(c) for c in comments],
        )

    def _comment(self, row: sqlite3.Row) -> StoredComment:
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
        where, args = [], []
        if status in ("open", "closed"):
            where.append("state = ?")
        elif status is not None:
            where.append("delivery = ?")
        if status is not None:
            args.append(status)
        if queue is not None:
            where.append("queue = ?")
            args.append(queue)
        sql = (
            "SELECT * FROM tickets" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY id DESC"
        )
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [self._stored(r) for r in self._rows(sql, *args)]


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
