"""Find secrets in what a run left behind, in any encoding, failing closed: the tests' proof that none leaked.

It stands apart from the product on purpose: it imports nothing of `automation` (the standard library only, and
psycopg for PostgreSQL, imported when used). The redactor decides what to mask with its own matcher and
decoders; a proof built on them would share their gaps. Every decoding here is written from the standard library:
leakforms.py matches and decodes, leakstores.py opens containers and stores, this module walks and reports.

Where it looks
- a folder, walked recursively: the bytes of every file, and the name of every file and folder below it;
- zip files (by magic number, whatever their name), entry by entry and entry names too, nested MAX_NESTING
  deep; an archive whose directory cannot be read is also salvaged from its local headers;
- gzip files, and gzip streams anywhere inside a blob;
- SQLite databases (by magic number): every value of every table (sqlite_master included) through sqlite3,
  read-only, which reads the committed frames of a -wal file beside the database even while a writer holds it
  open; and the raw bytes of the database, its -wal and its -journal;
- PostgreSQL: Debian's `pg_dump --data-only` (/usr/lib/postgresql/*/bin), or, when pg_dump is missing or
  refuses the server's version, `SELECT column::text` of every user table (and large object) through psycopg.

How a secret may be written
A text is searched as written, case-insensitively (casefolded: "ß" matches "SS"), a run of whitespace or of "+"
(a form post's space, as unquote_plus reads it) standing for each space of the secret. Then it is unescaped in
rounds: JSON string escapes (`\\uXXXX`, `\\/`, `\\"`), HTML entities (`html.unescape`: named ones with their
";", decimal, hex), percent-encoding (as `unquote`: any hex case, partial encoding); round after round until
nothing changes, so any stack of the three in any order is decoded, and searched after each round. A secret
that itself holds what looks like an escape ("%41") is also looked for as the same rounds leave it. Base64 runs
(standard or URL-safe, padded or not, anywhere in a text, from each of the four offsets a group may start at)
are decoded MAX_BASE64 deep, gzip streams inflated wherever they start, and each decoded blob searched the same
way again: percent inside JSON inside base64 inside a zip entry is found. Bytes are also searched for the
secret in UTF-16 (LE and BE, at either byte offset; a document with a BOM is decoded like any text). Of a
binary blob, only the readable runs as long as a secret are searched as text: every written form is one.
A secret is the value a run used: whitespace around it is not part of it.

Numbers and hex
A secret made only of digits (a verification code) matches only where it is not part of a longer number
(a run of digits, a decimal point inside it); a secret made only of hex characters (digits included) matches
only where it is not inside a longer hex run of leakforms.HEX_RUN (16) hex characters or more: a sha1, a page
id, a uuid (its dashes join its groups). So "123456" is found in "code: 123456." and "x123456", but not in
"1712345678901", "3.1234567" or a trace's sha1 "…9f1234567ab…"; "deadbeef" is found in "deadbeef-2" (a short
hex neighbour is text, as the product's own scanner has it: the proof is not the weaker) but not inside a sha1.

Bounds
MAX_BASE64, MAX_NESTING, leakforms.MAX_STEPS, MAX_BLOB and MAX_GZIP_STREAMS keep the work linear: 50 MB like a
day of runs (pictures, reports with the pictures inline, traces, a database) take about 5 s of CPU; 50 MB of
zipped traces alone (some 200 MB of JSON lines full of ids, the slowest kind) about 30 s.

Failing closed
What cannot be read is itself a finding ("unreadable"): a path, a folder, a file, a zip or one of its entries
(bad CRC, truncated, encrypted), a gzip that ends early or cannot be inflated, a database or one of its tables,
a blob over MAX_BLOB. The hits from everything that could be read are kept beside it.

Never the secret
A finding says where (the file, zip entries joined with "!", "#table.column[rowid=N]" in a database) and which
decoding revealed it ("raw", "base64>percent", "utf-16-le", "sqlite value>json"), never the secret: a file,
entry, table or column name holding one is shown as "<name holding secret #N>", an error message holding one is
withheld. So a failing assert may print the findings.
"""

from __future__ import annotations

import io
import os
import sqlite3
import stat
import tempfile
import zipfile
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, NamedTuple
from urllib.parse import quote

from support.leakforms import MAX_STEPS, UTF16, Needles, base64_decoded, unescape_round
from support.leakstores import (
    GZIP_MAGIC,
    MAX_BLOB,
    PG_TABLES,
    SQLITE_MAGIC,
    ZIP_MAGIC,
    gunzip,
    libpq_url,
    parse_dump,
    pg_dump,
    pg_value,
    read_entry,
    salvaged_entries,
    value_bytes,
)

__all__ = ["Finding", "Findings", "assert_no_secrets", "scan", "scan_bytes", "scan_postgres", "scan_sqlite"]

MAX_BASE64 = 4  # base64 of base64 of base64 of base64
MAX_NESTING = 3  # containers: a zip in a zip in a zip, a gzip in a zip entry
MAX_GZIP_STREAMS = 32  # gzip streams looked for inside one blob


# -- results ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """A secret found (which one, where, revealed by which decoding), or something that could not be read."""

    kind: Literal["secret", "unreadable"]
    where: str  # file, "!zip entry", "#table.column[rowid=N]"; names holding a secret are masked
    form: str  # the decodings that revealed the secret, outermost first; for "unreadable", what failed
    detail: str = ""
    secret: int | None = None  # index of the secret in the sequence given

    def __str__(self) -> str:
        if self.kind == "secret":
            return f"secret #{(self.secret or 0) + 1} in {self.where} ({self.form}): {self.detail}"
        return f"unreadable {self.form}: {self.where}: {self.detail}"


@dataclass(frozen=True)
class Findings:
    """Everything a scan found; empty when no secret is anywhere and everything could be read."""

    items: tuple[Finding, ...] = ()

    @property
    def secrets(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.items if f.kind == "secret")

    @property
    def unreadable(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.items if f.kind == "unreadable")

    @property
    def clean(self) -> bool:
        return not self.items

    def __iter__(self) -> Iterator[Finding]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __add__(self, other: Findings) -> Findings:
        return Findings(self.items + other.items)

    def __str__(self) -> str:
        if self.clean:
            return "no secret found, and everything was read"
        head = f"{len(self.secrets)} secret finding(s), {len(self.unreadable)} unreadable:"
        return "\n".join([head, *(f"  {f}" for f in self.items)])


# -- the public API --------------------------------------------------------------------------------------------


def scan(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]], secrets: Sequence[str]
) -> Findings:
    """Every secret in the files and folders `paths` (recursively), and everything that could not be read.

    Raises ValueError if a secret is empty."""
    scanner = _Scanner(secrets)
    for path in [paths] if isinstance(paths, str | os.PathLike) else paths:
        scanner.path(Path(path))
    return scanner.findings()


def scan_bytes(data: bytes | str, secrets: Sequence[str], where: str = "<data>") -> Findings:
    """Every secret in one blob (zip, gzip and SQLite included), as `scan` finds it in a file."""
    scanner = _Scanner(secrets)
    scanner.blob(data.encode("utf-8", "surrogateescape") if isinstance(data, str) else data, where, "raw")
    return scanner.findings()


def scan_sqlite(db: str | os.PathLike[str], secrets: Sequence[str]) -> Findings:
    """Every secret in an SQLite database: each value through sqlite3 (WAL included), and the raw bytes of the
    database, its -wal and its -journal. A file that is not an SQLite database is an unreadable finding."""
    scanner = _Scanner(secrets)
    path = Path(db)
    try:
        with open(path, "rb") as file:
            magic = file.read(len(SQLITE_MAGIC))
    except OSError as exc:
        scanner.unreadable(scanner.where(path), "sqlite database", exc)
        return scanner.findings()
    if magic != SQLITE_MAGIC:
        scanner.unreadable(scanner.where(path), "sqlite database", "not an SQLite database (no magic)")
    for each in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-journal")):
        if each == path or each.exists():
            scanner.file(each)
    return scanner.findings()


def scan_postgres(url: str, secrets: Sequence[str]) -> Findings:
    """Every secret in a PostgreSQL database (a libpq or SQLAlchemy URL): its pg_dump, or every user table."""
    scanner = _Scanner(secrets)
    scanner.postgres(url)
    return scanner.findings()


def assert_no_secrets(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    secrets: Sequence[str],
    *,
    databases: Iterable[str] = (),
) -> None:
    """Fail (AssertionError listing where and in which form, never the secret) if any secret is in `paths` or
    the PostgreSQL `databases`, or if anything there could not be read."""
    findings = scan(paths, secrets)
    for url in databases:
        findings += scan_postgres(url, secrets)
    assert findings.clean, str(findings)


# -- the scanner -----------------------------------------------------------------------------------------------


class _Budget(NamedTuple):
    base64: int = MAX_BASE64
    nesting: int = MAX_NESTING

    def less_base64(self) -> _Budget:
        return self._replace(base64=self.base64 - 1)

    def deeper(self) -> _Budget:
        return self._replace(nesting=self.nesting - 1)


_FULL = _Budget()


def _join(form: str, *steps: str) -> str:
    return ">".join(s for s in (form, *steps) if s and s != "raw") or "raw"


class _Scanner:
    """One scan: walks, opens and decodes, counting hits by (where, form, secret) and noting what failed."""

    def __init__(self, secrets: Sequence[str] | Needles) -> None:
        self.needles = secrets if isinstance(secrets, Needles) else Needles(secrets)
        self.hits: Counter[tuple[str, str, int]] = Counter()
        self.problems: dict[tuple[str, str], str] = {}
        self._masks: dict[str, str] = {}

    def findings(self) -> Findings:
        found = [
            Finding("secret", where, form, f"{n} occurrence{'s' * (n > 1)}", index)
            for (where, form, index), n in self.hits.items()
        ]
        found += [
            Finding("unreadable", where, what, detail) for (where, what), detail in self.problems.items()
        ]
        return Findings(tuple(found))

    # -- reporting, with names and messages that hold a secret masked

    def hit(self, where: str, form: str, now: list[int], before: list[int] | None = None) -> None:
        for index, count in enumerate(now):
            new = count - (before[index] if before else 0)  # a decoding also keeps what was already there
            if new > 0:
                self.hits[where, form, index] += new

    def unreadable(self, where: str, what: str, error: BaseException | str) -> None:
        detail = f"{type(error).__name__}: {error}" if isinstance(error, BaseException) else error
        held = self._held(detail)
        if held is not None:
            detail = f"{type(error).__name__} (message withheld: it holds secret #{held + 1})"
        self.problems.setdefault((where, what), detail)

    def where(self, path: Path | str, *inner: str) -> str:
        """`path` and the zip entries inside it joined by "!", each name that holds a secret masked."""
        return "!".join(self._mask_path(part) for part in (str(path), *inner))

    def _mask_path(self, path: str) -> str:
        return "/".join(map(self.mask, path.split("/")))

    def mask(self, name: str) -> str:
        if name not in self._masks:
            held = self._held(name)
            self._masks[name] = name if held is None else f"<name holding secret #{held + 1}>"
        return self._masks[name]

    def _held(self, text: str) -> int | None:
        """The first secret `text` holds in any form, if any."""
        probe = _Scanner(self.needles)
        probe.text(text, "", "raw", _FULL)
        return min((index for _, _, index in probe.hits), default=None)

    def _holds(self, data: bytes) -> bool:
        probe = _Scanner(self.needles)
        probe.bytes(data, "", "raw", _FULL)
        return bool(probe.hits)

    # -- decoding one blob or text

    def text(self, text: str, where: str, form: str, budget: _Budget) -> None:
        """Count the secrets in `text` as written and after each round of unescaping, then in its base64."""
        counts = self.needles.count(text)
        self.hit(where, form, counts)
        view, stack = text, ()
        for rounds in range(1, MAX_STEPS + 1):
            decoded, changed = unescape_round(view)
            if not changed:
                break
            view, stack = decoded, (*stack, *changed)
            now = self.needles.count(view, rounds)
            self.hit(where, _join(form, *stack), now, counts)
            counts = now
        if budget.base64:
            self._base64(text, (view, stack), where, form, budget)

    def _base64(
        self, text: str, deepest: tuple[str, tuple[str, ...]], where: str, form: str, budget: _Budget
    ) -> None:
        # Unescaping never breaks a base64 run (it holds no %, & or \), it can only join one split by
        # escapes ("\/", "%2B"): runs are taken as written and from the most decoded view.
        runs = set(self.needles.base64_run.findall(text))
        view, steps = deepest
        extra = set(self.needles.base64_run.findall(view)) - runs if steps else set()
        for found, at in ((runs, form), (extra, _join(form, *steps))):
            if found:
                decoded, files = base64_decoded(found)
                self.bytes(decoded, where, _join(at, "base64"), budget.less_base64())
                for file in files:
                    self.blob(file, where, _join(at, "base64"), budget.less_base64())

    def bytes(self, data: bytes, where: str, form: str, budget: _Budget) -> None:
        """Count the secrets in a blob: as UTF-8 text (every decoding), as UTF-16, and in its gzip streams."""
        self.text(self.needles.text_of(data), where, form, budget)
        self._utf16(data, where, form, budget)
        if budget.nesting:
            self._gzip_streams(data, where, form, budget)

    def _utf16(self, data: bytes, where: str, form: str, budget: _Budget) -> None:
        for bom, codec in UTF16:
            if data.startswith(bom):  # a UTF-16 document: decoded like any text
                text = data[2 : len(data) // 2 * 2].decode(codec, "replace")
                self.text(text, where, _join(form, codec), budget)
                return
        for codec, counts in self.needles.count_utf16(data).items():
            self.hit(where, _join(form, codec), counts)

    def _gzip_streams(self, data: bytes, where: str, form: str, budget: _Budget) -> None:
        # Inside a blob, magic bytes may be chance: a stream that does not inflate is not an error here.
        at, streams = data.find(GZIP_MAGIC), 0
        while at >= 0 and streams < MAX_GZIP_STREAMS:
            inflated, error = gunzip(memoryview(data)[at:])
            if inflated:
                streams += 1
                if error and error.startswith("larger"):
                    self.unreadable(where, "gzip stream", error)
                self.blob(inflated, where, _join(form, "gzip"), budget.deeper())
            at = data.find(GZIP_MAGIC, at + 1)

    def blob(self, data: bytes, where: str, form: str, budget: _Budget = _FULL) -> None:
        """A whole file, entry or value: opened as the container its magic says (zip, gzip, SQLite), then
        searched as bytes."""
        if budget.nesting and data.startswith(ZIP_MAGIC):
            self._zip(data, where, form, budget.deeper())
        elif budget.nesting and data.startswith(GZIP_MAGIC):
            inflated, error = gunzip(data)
            if error:
                self.unreadable(where, "gzip", error)
            self.blob(inflated, where, _join(form, "gzip"), budget.deeper())
            return  # the compressed bytes say nothing
        elif data.startswith(SQLITE_MAGIC):
            with tempfile.TemporaryDirectory(prefix="leakscan-") as folder:
                copy = Path(folder, "copy.db")
                copy.write_bytes(data)
                self.sqlite(copy, where)
        self.bytes(data, where, form, budget)

    # -- containers

    def _zip(self, data: bytes, where: str, form: str, budget: _Budget) -> None:
        try:
            archive = zipfile.ZipFile(io.BytesIO(data))
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
            self.unreadable(where, "zip", exc)
            for name, content, error in salvaged_entries(data):
                self._entry(name, content, error, where, ("salvaged zip entry", form), budget)
            return
        for info in archive.infolist():
            content, error = b"", None
            if not info.is_dir():
                content, error = read_entry(archive, info, data)
            self._entry(info.filename, content, error, where, ("zip entry", form), budget)

    def _entry(
        self, name: str, content: bytes, error: str | None, where: str, kind: tuple[str, str], budget: _Budget
    ) -> None:
        """One zip entry: its name, what failed reading it, and its bytes, found as the zip was (`kind`: what
        the entry is, and the form the zip was found in: "raw", or "base64" for a zip inline in a text)."""
        what, form = kind
        inner = f"{where}!{self._mask_path(name)}"
        self.text(name, inner, "name", _FULL)
        if error:
            self.unreadable(inner, what, error)
        if content:
            self.blob(content, inner, form, budget)

    def path(self, root: Path) -> None:
        try:
            info = os.stat(root)  # a path given is followed if it is a link; links below are not
        except OSError as exc:
            self.unreadable(self.where(root), "path", exc)
            return
        if not stat.S_ISDIR(info.st_mode):
            self.file(root)
            return

        def failed(exc: OSError) -> None:
            self.unreadable(self.where(exc.filename or root), "folder", exc)

        for folder, dirs, files in os.walk(root, onerror=failed):
            for name in dirs + files:
                path = Path(folder, name)
                self.text(name, self.where(path), "name", _FULL)
                if name in files:
                    self.file(path)
                elif path.is_symlink():
                    self.unreadable(self.where(path), "folder", "a link to a folder is not followed: scan it")

    def file(self, path: Path) -> None:
        where = self.where(path)
        try:
            if not stat.S_ISREG(os.stat(path).st_mode):
                self.unreadable(where, "file", "not a regular file")
                return
            with open(path, "rb") as file:
                data = file.read(MAX_BLOB + 1)
        except OSError as exc:
            self.unreadable(where, "file", exc)
            return
        if len(data) > MAX_BLOB:
            self.unreadable(where, "file", f"larger than {MAX_BLOB >> 20} MB: only the start was searched")
            data = data[:MAX_BLOB]
        if data.startswith(SQLITE_MAGIC):
            self.sqlite(path, where)
            self.bytes(data, where, "raw", _FULL)  # and the raw pages: free pages, deleted rows
        else:
            self.blob(data, where, "raw")

    # -- databases

    def sqlite(self, db: Path, where: str) -> None:
        """Every value of every table, read-only (the committed WAL frames too, a writer open or not)."""
        try:
            conn = sqlite3.connect(f"file:{quote(str(db))}?mode=ro", uri=True, timeout=10)
        except sqlite3.Error as exc:
            self.unreadable(where, "sqlite database", exc)
            return
        try:
            conn.text_factory = bytes  # text that is not UTF-8 is read, not refused
            master = conn.execute("SELECT type, name, sql FROM sqlite_master").fetchall()
        except sqlite3.Error as exc:
            self.unreadable(where, "sqlite database", exc)
            conn.close()
            return
        # A virtual table's rows live in its shadow tables, which are tables of their own.
        tables = ["sqlite_master"] + [
            name.decode("utf-8", "replace")
            for kind, name, sql in master
            if kind == b"table" and not (sql or b"").lstrip().upper().startswith(b"CREATE VIRTUAL")
        ]
        for table in tables:
            self._sqlite_table(conn, table, where)
        conn.close()

    def _sqlite_table(self, conn: sqlite3.Connection, table: str, where: str) -> None:
        quoted = '"' + table.replace('"', '""') + '"'
        rows: list[tuple[object, ...]] = []
        columns: list[str] = []
        try:
            try:
                cursor = conn.execute(f"SELECT rowid, * FROM {quoted}")
            except sqlite3.OperationalError:  # a WITHOUT ROWID table
                cursor = conn.execute(f"SELECT NULL, * FROM {quoted}")
            columns = [d[0] for d in cursor.description[1:]]
            for row in cursor:
                rows.append(row)
        except sqlite3.Error as exc:
            self.unreadable(f"{where}#{self.mask(table)}", "sqlite table", exc)
        cells = [
            (
                f"{self.mask(table)}.{self.mask(column)}[rowid={rowid if rowid is not None else f'#{n}'}]",
                value,
            )
            for n, (rowid, *values) in enumerate(rows, 1)
            for column, value in zip(columns, values, strict=True)
        ]
        self._cells(cells, where, "sqlite value")

    def _cells(self, cells: Iterable[tuple[str, object]], where: str, form: str) -> None:
        """Search database values; most tables hold no secret, so all values are searched together first."""
        values = [(cell, value_bytes(value)) for cell, value in cells if value is not None]
        containers = [(cell, v) for cell, v in values if v.startswith((*ZIP_MAGIC, GZIP_MAGIC, SQLITE_MAGIC))]
        if self._holds(b"\x00\n".join(v for _, v in values)):
            containers = values
        for cell, value in containers:
            self.blob(value, f"{where}#{cell}", form)

    def postgres(self, url: str) -> None:
        dsn, password, where = libpq_url(url)
        dump, refused = pg_dump(dsn, password)
        if dump is not None:
            self._pg_dump_text(dump.decode("utf-8", "surrogateescape"), where)
            return
        try:
            self._pg_select(dsn, password, where)
        except Exception as exc:  # psycopg's errors, or psycopg missing: either way the database went unread
            self.unreadable(where, "postgres database", f"{type(exc).__name__}: {exc}; pg_dump: {refused}")

    def _pg_dump_text(self, text: str, where: str) -> None:
        dump = parse_dump(text)
        for table, cells in dump.tables.items():
            name = self.mask(table)
            self._cells(
                ((f"{name}.{self.mask(c)}[row {n}]", v) for c, n, v in cells), where, "postgres value"
            )
        for oid, data in dump.large_objects.items():
            self.blob(data, f"{where}#large object {oid}", "postgres value")
        self.bytes(dump.rest.encode("utf-8", "surrogateescape"), f"{where}#(dump)", "raw", _FULL)

    def _pg_select(self, dsn: str, password: str | None, where: str) -> None:
        import psycopg
        from psycopg import sql

        with psycopg.connect(dsn, password=password, autocommit=True, connect_timeout=10) as conn:
            tables = conn.execute(PG_TABLES).fetchall()
            for schema, table, columns in tables:
                name = f"{self.mask(schema)}.{self.mask(table)}"
                query = sql.SQL("SELECT {} FROM {}").format(
                    sql.SQL(", ").join(sql.SQL("{}::text").format(sql.Identifier(c)) for c in columns),
                    sql.Identifier(schema, table),
                )
                rows: list[tuple[object, ...]] = []
                try:
                    rows = conn.execute(query).fetchall()
                except psycopg.Error as exc:
                    self.unreadable(f"{where}#{name}", "postgres table", exc)
                self._cells(
                    (
                        (f"{name}.{self.mask(column)}[row {n}]", pg_value(value))
                        for n, row in enumerate(rows, 1)
                        for column, value in zip(columns, row, strict=True)
                    ),
                    where,
                    "postgres value",
                )
            try:
                for (oid,) in conn.execute("SELECT oid FROM pg_largeobject_metadata").fetchall():
                    data = conn.execute("SELECT lo_get(%s)", (oid,)).fetchone()
                    self.blob(
                        bytes(data[0]) if data else b"", f"{where}#large object {oid}", "postgres value"
                    )
            except psycopg.Error as exc:
                self.unreadable(f"{where}#large objects", "postgres large objects", exc)
