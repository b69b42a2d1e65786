"""Find secrets in what a run left behind, in any encoding, failing closed: the tests' proof that none leaked.

It stands apart from the product on purpose: it imports nothing of `automation` (the standard library only, and
psycopg for PostgreSQL, imported when used). The redactor decides what to mask with its own matcher and
decoders; a proof built on them would share their gaps. Every decoding here is written from the standard library.

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
A blob is searched as written, case-insensitively (casefolded, so "ß" matches "SS"), any run of whitespace
standing for a space of the secret; then as decoded by each of: percent-encoding (`unquote`, `unquote_plus`
for `+`), HTML entities (`html.unescape`), JSON string escapes (`\\uXXXX`, `\\/`, `\\"`), base64 (standard or
URL-safe, padded or not, any run in the text, starting mid-group or not, MAX_BASE64 deep), gzip, and any
stack of them (percent inside JSON inside base64 inside a zip entry); and as UTF-16 (LE and BE, BOM or not).
A secret is the value a run used: whitespace around it is not part of it.

Numbers and hex
A secret made only of digits (a verification code) matches only where it is not part of a longer number
(a run of digits, a decimal point inside it); a secret made only of hex characters (digits included) matches
only where it is not inside a longer hex run of HEX_RUN hex characters or more (a sha1, a page id; a uuid's
dashes join its groups). So "123456" is found in "code: 123456." and "x123456", but not in "1712345678901",
"3.1234567" or a trace's sha1 "…9f1234567ab…"; "deadbeef" is found in "deadbeef-2", not inside a sha1.

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

import binascii
import glob
import html
import io
import itertools
import os
import re
import sqlite3
import stat
import struct
import subprocess
import tempfile
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import AnyStr, Literal, NamedTuple
from urllib.parse import quote, urlsplit, urlunsplit

__all__ = ["Finding", "Findings", "assert_no_secrets", "scan", "scan_bytes", "scan_postgres", "scan_sqlite"]

MAX_BASE64 = 4  # base64 of base64 of base64 of base64
MAX_NESTING = 3  # containers: a zip in a zip in a zip, a gzip in a zip entry
MAX_STEPS = 6  # rounds of unescaping (json, html, percent) of one text
MAX_BLOB = 256 << 20  # bytes read from one file, entry or stream: more is an unreadable finding
MAX_GZIP_STREAMS = 32  # gzip streams looked for inside one blob
HEX_RUN = 16  # a hex run this long is a hash or an id, not a code
_REACH = 64  # how far around a match to look for the number or hex run it is part of

ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
GZIP_MAGIC = b"\x1f\x8b\x08"
SQLITE_MAGIC = b"SQLite format 3\x00"
_BOMS = ((b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))


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


# -- matching --------------------------------------------------------------------------------------------------

_DIGITS = frozenset("0123456789")
_NUMBER = _DIGITS | {"."}
_HEX = _DIGITS | frozenset("abcdefABCDEF")
_HEX_ID = _HEX | {"-"}


class _Image(NamedTuple):
    """One form a secret is looked for in: as given, or as `rounds` rounds of unescaping leave it."""

    rounds: int
    folded: str
    spaced: re.Pattern[str] | None  # when it holds whitespace: any run of whitespace, or "+", for each
    kind: Literal["digits", "hex", "text"]


class _Secret(NamedTuple):
    images: tuple[_Image, ...]
    utf16: dict[str, tuple[bytes, ...]]  # codec -> the secret as given, lower, upper and casefolded
    kind: Literal["digits", "hex", "text"]


# What a text decoded from bytes holds that no written secret does: controls and bytes that are not UTF-8.
_JUNK = "\\x00-\\x08\\x0e-\\x1f\\x7f\\udc80-\\udcff"


def _image(rounds: int, value: str) -> _Image:
    folded = value.casefold()
    parts = folded.split()
    spaced = re.compile(r"[\s+]+".join(map(re.escape, parts))) if len(parts) > 1 else None
    return _Image(rounds, folded, spaced, _kind(folded))


def _kind(folded: str) -> Literal["digits", "hex", "text"]:
    return "digits" if set(folded) <= _DIGITS else "hex" if set(folded) <= _HEX else "text"


def _images(value: str) -> tuple[_Image, ...]:
    """The secret, and what each round of unescaping makes of it: a text decoded n rounds holds the secret's
    n-round image. So a secret holding what looks like an escape ("%41", "&amp;", "\\n") is still found
    after its encoded form was decoded further than it was encoded."""
    images: dict[str, _Image] = {}
    for rounds in range(MAX_STEPS + 1):
        image = _image(rounds, value)
        images.setdefault(image.folded, image)
        value, changed = _unescape_round(value)
        if not changed:
            break
    return tuple(images.values())


class _Needles:
    """The secrets, ready to count in many texts."""

    def __init__(self, secrets: Sequence[str]) -> None:
        items = []
        for index, secret in enumerate(secrets):
            value = secret.strip()
            if not value:
                raise ValueError(f"secret #{index + 1} is empty: give the value the run used")
            cases = {value, value.lower(), value.upper(), value.casefold()}
            utf16 = {
                codec: tuple({c.encode(codec, "surrogatepass").lower() for c in cases}) for _, codec in _BOMS
            }
            items.append(_Secret(_images(value), utf16, _kind(value.casefold())))
        self.items = tuple(items)
        self.none = [0] * len(items)
        self.shortest = min((len(i.folded) for s in items for i in s.images), default=1)
        # The fewest characters a secret is written in (its whitespace collapsed): shorter readable runs of a
        # binary blob are left out of its text.
        fewest = min((len(" ".join(s.split())) for s in secrets), default=1)
        self.readable = re.compile(f"[^{_JUNK}]{{{fewest},}}")
        fewest_bytes = min((len(s.strip().encode()) for s in secrets), default=1)
        self.base64_run = re.compile(f"[A-Za-z0-9+/_-]{{{max(4, -(-4 * fewest_bytes // 3))},}}")

    def count(self, text: str, rounds: int = 0) -> list[int]:
        """How many times each secret occurs in `text`, a text unescaped `rounds` times (3: casefolding grows a
        text at most threefold)."""
        if 3 * len(text) < self.shortest:
            return self.none
        folded = text.lower() if text.isascii() else text.casefold()  # the same, faster, for ASCII
        return [
            sum(_occurrences(folded, image) for image in secret.images if image.rounds <= rounds)
            for secret in self.items
        ]

    def count_utf16(self, data: bytes) -> dict[str, list[int]]:
        """How many times each secret occurs in `data` as UTF-16 LE and BE, at either byte offset (a text may
        start at an odd one). Case-insensitive for ASCII letters (their byte lowered in the data and in the
        secret); other letters as given, in upper, lower or casefolded case."""
        lowered = data.lower()
        counts: dict[str, list[int]] = {codec: [] for _, codec in _BOMS}
        for secret in self.items:
            found = {
                codec: {
                    start
                    for needle in secret.utf16[codec]
                    for start, end in _finds(lowered, needle)
                    if secret.kind == "text" or not _embedded_utf16(data, start, end, codec, secret.kind)
                }
                for _, codec in _BOMS
            }
            counts["utf-16-be"].append(len(found["utf-16-be"]))
            # "\0a\0b\0" is "ab" in BE at 0 and in LE at 1: one occurrence, counted as BE
            counts["utf-16-le"].append(len(found["utf-16-le"] - {start + 1 for start in found["utf-16-be"]}))
        return counts


def _occurrences(folded: str, secret: _Image) -> int:
    if secret.spaced is not None:
        spans: Iterable[tuple[int, int]] = (m.span() for m in secret.spaced.finditer(folded))
    else:
        spans = _finds(folded, secret.folded)
    if secret.kind == "text":
        return sum(1 for _ in spans)
    return sum(1 for start, end in spans if not _embedded(folded, start, end, secret.kind))


def _finds(text: AnyStr, needle: AnyStr) -> Iterator[tuple[int, int]]:
    at = text.find(needle)
    while at >= 0:
        yield at, at + len(needle)
        at = text.find(needle, at + 1)


def _run(text: str, start: int, end: int, alphabet: frozenset[str]) -> str:
    first, last = max(0, start - _REACH), min(len(text), end + _REACH)
    while start > first and text[start - 1] in alphabet:
        start -= 1
    while end < last and text[end] in alphabet:
        end += 1
    return text[start:end]


def _embedded_utf16(data: bytes, start: int, end: int, codec: str, kind: str) -> bool:
    """_embedded for a match in UTF-16 bytes: decode the characters around it."""
    before = min(start, 2 * _REACH) // 2 * 2
    text = data[start - before : end + 2 * _REACH].decode(codec, "replace")
    return _embedded(text, before // 2, before // 2 + (end - start) // 2, kind)


def _embedded(text: str, start: int, end: int, kind: str) -> bool:
    """True when a digits or hex match is only part of a longer number or hex run (see the module's rule)."""
    if kind == "digits" and len(_run(text, start, end, _NUMBER).strip(".")) > end - start:
        return True
    run = _run(text, start, end, _HEX_ID)
    return len(run) > end - start and sum(c in _HEX for c in run) >= HEX_RUN


# -- decoding --------------------------------------------------------------------------------------------------

_PERCENT = re.compile(r"%[0-9A-Fa-f]{2}(?:%[0-9A-Fa-f]{2})*")  # a literal first: far faster to scan
# Named entities with their ";" (as browsers and servers write them), and the few that work without.
_ENTITY = re.compile(
    r"&(?:#[0-9]+;?|#[xX][0-9A-Fa-f]+;?|[A-Za-z][A-Za-z0-9]{1,31};|(?:amp|lt|gt|quot)(?![\w=]))"
)
_JSON_SHORT = (
    ('\\"', '"'),
    ("\\/", "/"),
    ("\\b", "\b"),
    ("\\f", "\f"),
    ("\\n", "\n"),
    ("\\r", "\r"),
    ("\\t", "\t"),
)
_JSON_UNICODE = re.compile(r"\\u[0-9A-Fa-f]{4}(?:\\u[0-9A-Fa-f]{4})*")
_JSON_HOLD = "\x00\x01\x02\x03\x04\x05\x06\x07\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19"
_URLSAFE = str.maketrans("-_", "+/")
_JUNK_CHAR = re.compile(f"[{_JUNK}]")


def _percent(text: str) -> str:
    """Percent-decoded as urllib.parse.unquote decodes (UTF-8, any hex case, partial encoding), bytes that are
    not UTF-8 kept as surrogates; a run of escapes at a time: unquote itself walks a text cut by non-ASCII
    characters (a decoded binary) piece by piece, far slower."""
    return _PERCENT.sub(_unhex, text) if "%" in text else text


def _unhex(match: re.Match[str]) -> str:
    return bytes.fromhex(match.group().replace("%", "")).decode("utf-8", "surrogateescape")


def _html(text: str) -> str:
    return _ENTITY.sub(_entity, text) if "&" in text else text


def _entity(match: re.Match[str]) -> str:
    return html.unescape(match.group())


def _json(text: str) -> str:
    """JSON string escapes decoded. An escaped backslash is held aside first, so "\\\\n" stays a backslash and
    an "n"; the rest are plain replacements, far faster on a trace than a callback per escape."""
    if "\\" not in text:
        return text
    hold = next((c for c in _JSON_HOLD if c not in text and not _escaped(c, text)), None)
    if hold is None:  # a binary blob holding every stand-in: one escape at a time
        return _JSON_ANY.sub(_json_escape, text)
    text = text.replace("\\\\", hold)
    for escape, char in _JSON_SHORT:
        text = text.replace(escape, char)
    if "\\u" in text:
        text = _JSON_UNICODE.sub(_json_escape, text)
    return text.replace(hold, "\\")


_JSON_CHARS = {**dict(_JSON_SHORT), "\\\\": "\\"}


def _escaped(char: str, text: str) -> bool:
    """Whether `text` holds a \\u escape of `char` (which would decode to the stand-in)."""
    return f"\\u{ord(char):04x}" in text or f"\\u{ord(char):04X}" in text


_JSON_ANY = re.compile(r'\\(?:u[0-9A-Fa-f]{4}(?:\\u[0-9A-Fa-f]{4})*|["\\/bfnrt])')


def _json_escape(match: re.Match[str]) -> str:
    escape = match.group()
    if escape[1] != "u":
        return _JSON_CHARS[escape[:2]]
    units = b"".join(int(escape[i + 2 : i + 6], 16).to_bytes(2, "big") for i in range(0, len(escape), 6))
    return units.decode("utf-16-be", "surrogatepass")  # a pair of escapes is one character


# One round of unescaping: the layers in the order they are usually stacked, outermost first (a JSON trace line
# holding an HTML snapshot holding a URL). Rounds repeat until nothing changes, so any other order and any
# depth are decoded too; the secret's own images (_images) are made by the same rounds.
_ROUND: tuple[tuple[str, Callable[[str], str]], ...] = (
    ("json", _json),
    ("html", _html),
    ("percent", _percent),
)


def _unescape_round(text: str) -> tuple[str, list[str]]:
    """`text` through one round of unescaping, and the layers that changed it."""
    changed = []
    for kind, decode in _ROUND:
        decoded = decode(text)
        if decoded is not text and decoded != text:
            changed.append(kind)
            text = decoded
    return text, changed


def _base64_decoded(runs: Iterable[str]) -> bytes:
    """Every run decoded from each of its four possible group starts (a run may begin mid-group: "key" glued
    on, a slice of a longer value), joined. Each run is padded to whole groups, so one decoding of the joined
    runs from offset 1, 2 or 3 decodes every run from that offset; "////" between runs decodes to 0xff bytes."""
    joined = "////".join(run + "AAA"[: -len(run) % 4] for run in runs).translate(_URLSAFE)
    return b"\xff\xff\xff".join(binascii.a2b_base64(joined[shift:] + "AAA"[:shift]) for shift in range(4))


def _gunzip(data: bytes | memoryview) -> tuple[bytes, str | None]:
    """The gzip members at the start of `data`, inflated, and what went wrong (None if nothing did)."""
    out: list[bytes] = []
    rest = memoryview(data)
    while True:
        inflater = zlib.decompressobj(31)
        try:
            out.append(inflater.decompress(rest, max(1, MAX_BLOB - sum(map(len, out)))))
            if inflater.unconsumed_tail:
                return b"".join(out), f"larger than {MAX_BLOB >> 20} MB inflated: only the start was searched"
            if not inflater.eof:
                out.append(inflater.flush())
                return b"".join(out), "the gzip stream ends early (truncated)"
        except zlib.error as exc:
            return b"".join(out), f"zlib.error: {exc}"
        if not inflater.unused_data.startswith(GZIP_MAGIC):
            return b"".join(out), None
        rest = rest[len(rest) - len(inflater.unused_data) :]


def _inflate_raw(data: bytes) -> tuple[bytes, str | None]:
    """A raw deflate stream (a salvaged zip entry), inflated as far as it goes."""
    inflater, out = zlib.decompressobj(-15), []
    try:
        for start in range(0, len(data), 1 << 16):
            out.append(inflater.decompress(data[start : start + (1 << 16)]))
            if inflater.eof or sum(map(len, out)) > MAX_BLOB:
                break
    except zlib.error as exc:
        return b"".join(out), f"zlib.error: {exc}"
    return b"".join(out), None if inflater.eof else "the entry's data ends early (truncated)"


def _salvaged(data: bytes) -> Iterator[tuple[str, bytes, str | None]]:
    """Entries of a zip whose directory cannot be read, from their local headers: (name, data, what failed)."""
    at = data.find(b"PK\x03\x04")
    while at >= 0:
        entry = _local_entry(data, at)
        if entry is None:
            return
        name, content, error, end = entry
        yield name, content, error
        at = data.find(b"PK\x03\x04", end)


def _local_entry(data: bytes, at: int) -> tuple[str, bytes, str | None, int] | None:
    """The entry whose local header is at `at`, read as the header says, no CRC checked: (name, data, what
    failed, where it ends); None if no header fits there."""
    if len(data) - at < 30:
        return None
    _, _, flags, method, _, _, _, size, _, name_len, extra_len = struct.unpack_from("<IHHHHHIIIHH", data, at)
    name = data[at + 30 : at + 30 + name_len].decode("utf-8" if flags & 0x800 else "cp437", "replace")
    body = at + 30 + name_len + extra_len
    following = data.find(b"PK\x03\x04", body)
    end = body + size if size and not flags & 0x08 else (following if following >= 0 else len(data))
    if method == 0:
        return name, data[body:end], None, end
    if method == 8:
        return name, *_inflate_raw(data[body:end]), end
    return name, b"", f"compression method {method} is not one this scanner reads", end


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

    def __init__(self, secrets: Sequence[str] | _Needles) -> None:
        self.needles = secrets if isinstance(secrets, _Needles) else _Needles(secrets)
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
            decoded, changed = _unescape_round(view)
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
                self.bytes(_base64_decoded(found), where, _join(at, "base64"), budget.less_base64())

    def bytes(self, data: bytes, where: str, form: str, budget: _Budget) -> None:
        """Count the secrets in a blob: as UTF-8 text (every decoding), as UTF-16, and in its gzip streams."""
        self.text(self._readable(data), where, form, budget)
        self._utf16(data, where, form, budget)
        if budget.nesting:
            self._gzip_streams(data, where, form, budget)

    def _readable(self, data: bytes) -> str:
        """`data` as text; of a binary blob (a picture, a decoded run at the wrong offset), only its readable
        runs long enough to hold a secret: no secret, however encoded, is in the rest, and it is most of it."""
        text = data.decode("utf-8", "surrogateescape")
        if _JUNK_CHAR.search(text) is None:
            return text
        return "\x00".join(self.needles.readable.findall(text))

    def _utf16(self, data: bytes, where: str, form: str, budget: _Budget) -> None:
        for bom, codec in _BOMS:
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
            inflated, error = _gunzip(memoryview(data)[at:])
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
            self._zip(data, where, budget.deeper())
        elif budget.nesting and data.startswith(GZIP_MAGIC):
            inflated, error = _gunzip(data)
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

    def _zip(self, data: bytes, where: str, budget: _Budget) -> None:
        try:
            archive = zipfile.ZipFile(io.BytesIO(data))
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
            self.unreadable(where, "zip", exc)
            for name, content, error in _salvaged(data):
                self._entry(name, content, error, where, "salvaged zip entry", budget)
            return
        for info in archive.infolist():
            content, error = b"", None
            if not info.is_dir():
                content, error = _read_entry(archive, info, data)
            self._entry(info.filename, content, error, where, "zip entry", budget)

    def _entry(
        self, name: str, content: bytes, error: str | None, where: str, what: str, budget: _Budget
    ) -> None:
        inner = f"{where}!{self._mask_path(name)}"
        self.text(name, inner, "name", _FULL)
        if error:
            self.unreadable(inner, what, error)
        if content:
            self.blob(content, inner, "raw", budget)

    def path(self, root: Path) -> None:
        try:
            info = os.lstat(root)
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
        values = [(cell, _value_bytes(value)) for cell, value in cells if value is not None]
        containers = [(cell, v) for cell, v in values if v.startswith((*ZIP_MAGIC, GZIP_MAGIC, SQLITE_MAGIC))]
        if self._holds(b"\x00\n".join(v for _, v in values)):
            containers = values
        for cell, value in containers:
            self.blob(value, f"{where}#{cell}", form)

    def postgres(self, url: str) -> None:
        dsn, password, where = _libpq(url)
        dump, refused = _pg_dump(dsn, password)
        if dump is not None:
            self._pg_dump_text(dump.decode("utf-8", "surrogateescape"), where)
            return
        try:
            self._pg_select(dsn, password, where)
        except Exception as exc:  # psycopg's errors, or psycopg missing: either way the database went unread
            self.unreadable(where, "postgres database", f"{type(exc).__name__}: {exc}; pg_dump: {refused}")

    def _pg_dump_text(self, dump: str, where: str) -> None:
        """Values of each COPY block by table, column and row; large objects (written in hex) by oid; the rest
        of the dump as one text."""
        other: list[str] = []
        large: dict[str, list[bytes]] = {}
        oid = "?"
        lines = iter(dump.split("\n"))
        for line in lines:
            if copy := _COPY.match(line):
                table, columns = copy["table"], [c.strip().strip('"') for c in copy["columns"].split(",")]
                rows = itertools.takewhile(lambda row: row != "\\.", lines)
                self._cells(
                    (
                        (f"{self.mask(table)}.{self.mask(column)}[row {n}]", _pg_value(_copy_unescape(field)))
                        for n, row in enumerate(rows, 1)
                        for column, field in zip(columns, row.split("\t"), strict=False)
                        if field != "\\N"
                    ),
                    where,
                    "postgres value",
                )
            elif opened := _LO_OPEN.match(line):
                oid = opened[1]
            elif written := _LO_WRITE.match(line):
                large.setdefault(oid, []).append(bytes.fromhex(written[1]))
            else:
                other.append(line)
        for oid, chunks in large.items():
            self.blob(b"".join(chunks), f"{where}#large object {oid}", "postgres value")
        self.bytes("\n".join(other).encode("utf-8", "surrogateescape"), f"{where}#(dump)", "raw", _FULL)

    def _pg_select(self, dsn: str, password: str | None, where: str) -> None:
        import psycopg
        from psycopg import sql

        with psycopg.connect(dsn, password=password, autocommit=True, connect_timeout=10) as conn:
            tables = conn.execute(_PG_TABLES).fetchall()
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
                        (f"{name}.{self.mask(column)}[row {n}]", _pg_value(value))
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


def _read_entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo, data: bytes) -> tuple[bytes, str | None]:
    """An entry's bytes and what failed. After a failure (a bad CRC is raised with the last data, which is then
    lost), the entry is read again from its local header without checks, and the longer reading is kept."""
    chunks: list[bytes] = []
    try:
        with archive.open(info) as entry:
            while chunk := entry.read(1 << 20):
                chunks.append(chunk)
                if sum(map(len, chunks)) > MAX_BLOB:
                    return b"".join(chunks), f"larger than {MAX_BLOB >> 20} MB: only the start was searched"
    except (
        Exception
    ) as exc:  # BadZipFile, zlib.error, EOFError, RuntimeError (encrypted), NotImplementedError
        read = b"".join(chunks)
        unchecked = _local_entry(data, info.header_offset)
        if unchecked is not None and len(unchecked[1]) > len(read):
            read = unchecked[1]
        return read, f"{type(exc).__name__}: {exc}"
    return b"".join(chunks), None


def _value_bytes(value: object) -> bytes:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a code stored as REAL is still the code
    return str(value).encode("utf-8", "surrogateescape")


# -- PostgreSQL ------------------------------------------------------------------------------------------------

_COPY = re.compile(r"^COPY (?P<table>\S+) \((?P<columns>.*)\) FROM stdin;$")
_LO_OPEN = re.compile(r"^SELECT pg_catalog\.lo_open\('(\d+)'")
_LO_WRITE = re.compile(r"^SELECT pg_catalog\.lowrite\(0, '\\x((?:[0-9a-fA-F]{2})*)'\);$")
_COPY_ESCAPE = re.compile(r"\\(?:([0-7]{1,3})|x([0-9A-Fa-f]{1,2})|(.))", re.DOTALL)
_COPY_SHORT = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}
_PG_TABLES = """
SELECT n.nspname, c.relname, array_agg(a.attname::text ORDER BY a.attnum)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.relkind IN ('r', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'
GROUP BY n.nspname, c.relname ORDER BY 1, 2
"""


def _copy_unescape(field: str) -> str:
    """A field of pg_dump's COPY text as its value (octal and hex escapes are bytes in UTF-8)."""

    def one(match: re.Match[str]) -> str:
        octal, hexa, char = match.groups()
        if char is not None:
            return _COPY_SHORT.get(char, char)
        return bytes([int(octal, 8) & 0xFF if octal else int(hexa, 16)]).decode("utf-8", "surrogateescape")

    unescaped = _COPY_ESCAPE.sub(one, field) if "\\" in field else field
    return unescaped.encode("utf-8", "surrogateescape").decode("utf-8", "surrogateescape")


def _pg_value(value: object) -> object:
    """A bytea comes as text "\\x4142…": its bytes are the value."""
    if isinstance(value, str) and value.startswith("\\x") and re.fullmatch(r"(?:[0-9a-fA-F]{2})*", value[2:]):
        return bytes.fromhex(value[2:])
    return value


def _libpq(url: str) -> tuple[str, str | None, str]:
    """A libpq URL without its password (SQLAlchemy's "+driver" dropped), the password, and a where to show."""
    parts = urlsplit(url)
    scheme = parts.scheme.split("+")[0]
    host = parts.netloc.rpartition("@")[2]
    user = f"{parts.username}@" if parts.username else ""
    dsn = urlunsplit((scheme, user + host, parts.path, parts.query, ""))
    return dsn, parts.password, urlunsplit((scheme, user + host, parts.path, "", ""))


def _pg_dump_binary() -> str | None:
    """Debian's newest pg_dump (the wrapper in /usr/bin needs a cluster of its own), if installed."""

    def version(path: str) -> tuple[int, ...]:
        return tuple(int(p) for p in re.findall(r"\d+", Path(path).parent.parent.name))

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_dump"), key=version)
    return found[-1] if found else None


def _pg_dump(dsn: str, password: str | None) -> tuple[bytes | None, str]:
    """pg_dump's data-only dump, or None and why not (missing, a refused server version, an error)."""
    binary = _pg_dump_binary()
    if binary is None:
        return None, "not installed"
    env = {**os.environ, **({"PGPASSWORD": password} if password else {})}
    argv = [binary, "--data-only", "--no-owner", "--no-privileges", "--encoding=UTF8", f"--dbname={dsn}"]
    try:
        done = subprocess.run(argv, capture_output=True, env=env, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"{type(exc).__name__}: {exc}"
    if done.returncode != 0:
        lines = done.stderr.decode(errors="replace").strip().splitlines()
        return None, f"exit {done.returncode}: {lines[-1] if lines else ''}"
    return done.stdout, ""
