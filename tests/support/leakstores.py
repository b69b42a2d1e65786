"""Opening what leakscan.py looks into: gzip streams, zip entries (checked, and read again unchecked from their
local headers when damaged), SQLite values, and PostgreSQL's dump (COPY blocks, large objects).

Standard library only (psycopg is imported by leakscan.py where it selects); nothing of `automation`.
"""

from __future__ import annotations

import glob
import os
import re
import struct
import subprocess
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

MAX_BLOB = 256 << 20  # bytes read from one file, entry or stream: more is an unreadable finding
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
GZIP_MAGIC = b"\x1f\x8b\x08"
SQLITE_MAGIC = b"SQLite format 3\x00"


# -- gzip and zip ----------------------------------------------------------------------------------------------


def gunzip(data: bytes | memoryview) -> tuple[bytes, str | None]:
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


def salvaged_entries(data: bytes) -> Iterator[tuple[str, bytes, str | None]]:
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


def read_entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo, data: bytes) -> tuple[bytes, str | None]:
    """An entry's bytes and what failed. After a failure (a bad CRC is raised with the last data, which is then
    lost), the entry is read again from its local header without checks, and the longer reading is kept."""
    chunks: list[bytes] = []
    try:
        with archive.open(info) as entry:
            while chunk := entry.read(1 << 20):
                chunks.append(chunk)
                if sum(map(len, chunks)) > MAX_BLOB:
                    return b"".join(chunks), f"larger than {MAX_BLOB >> 20} MB: only the start was searched"
    # BadZipFile, zlib.error, EOFError, RuntimeError (encrypted), NotImplementedError: whatever the reason
    except Exception as exc:
        read = b"".join(chunks)
        unchecked = _local_entry(data, info.header_offset)
        if unchecked is not None and len(unchecked[1]) > len(read):
            read = unchecked[1]
        return read, f"{type(exc).__name__}: {exc}"
    return b"".join(chunks), None


def value_bytes(value: object) -> bytes:
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


@dataclass
class Dump:
    """pg_dump's text, taken apart: each table's values (column, row, value), each large object's bytes, and
    the rest (SET lines, comments, sequence values) as one text."""

    tables: dict[str, list[tuple[str, int, object]]] = field(default_factory=dict)
    large_objects: dict[str, bytes] = field(default_factory=dict)
    rest: str = ""


def parse_dump(text: str) -> Dump:
    dump, rest, oid = Dump(), [], "?"
    lines = iter(text.split("\n"))
    for line in lines:
        if copy := _COPY.match(line):
            columns = [c.strip().strip('"') for c in copy["columns"].split(",")]
            cells = dump.tables.setdefault(copy["table"], [])
            for n, row in enumerate(iter(lines.__next__, "\\."), 1):
                for column, value in zip(columns, row.split("\t"), strict=False):
                    if value != "\\N":
                        cells.append((column, n, pg_value(_copy_unescape(value))))
        elif opened := _LO_OPEN.match(line):
            oid = opened[1]
        elif written := _LO_WRITE.match(line):
            dump.large_objects[oid] = dump.large_objects.get(oid, b"") + bytes.fromhex(written[1])
        else:
            rest.append(line)
    dump.rest = "\n".join(rest)
    return dump


PG_TABLES = """
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


def pg_value(value: object) -> object:
    """A bytea comes as text "\\x4142…": its bytes are the value."""
    if isinstance(value, str) and value.startswith("\\x") and re.fullmatch(r"(?:[0-9a-fA-F]{2})*", value[2:]):
        return bytes.fromhex(value[2:])
    return value


def libpq_url(url: str) -> tuple[str, str | None, str]:
    """A libpq URL without its password (SQLAlchemy's "+driver" dropped), the password, and a where to show."""
    parts = urlsplit(url)
    scheme = parts.scheme.split("+")[0]
    host = parts.netloc.rpartition("@")[2]
    user = f"{parts.username}@" if parts.username else ""
    dsn = urlunsplit((scheme, user + host, parts.path, parts.query, ""))
    return dsn, parts.password, urlunsplit((scheme, user + host, parts.path, "", ""))


def pg_dump_binary() -> str | None:
    """Debian's newest pg_dump (the wrapper in /usr/bin needs a cluster of its own), if installed."""

    def version(path: str) -> tuple[int, ...]:
        return tuple(int(p) for p in re.findall(r"\d+", Path(path).parent.parent.name))

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_dump"), key=version)
    return found[-1] if found else None


def pg_dump(dsn: str, password: str | None) -> tuple[bytes | None, str]:
    """pg_dump's data-only dump, or None and why not (missing, a refused server version, an error)."""
    binary = pg_dump_binary()
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
