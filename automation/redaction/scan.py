"""Find secrets in evidence: every byte of every file under a folder, inside zip and gzip files too.

A secret is looked for the way the redactor looks for it (canon.py), so the scan is never weaker than what it
checks: each blob is read as text (bytes that are not UTF-8 kept as they are), matched as written and as
decoded (percent-encoding in any hex case, `+` for a space, partial encoding, HTML entities, JSON escapes,
base64 runs, and any stack of those), case-insensitively and with any run of whitespace for a space.

A hit reports where and which form, never the secret itself, so a hit can be printed, logged or shown in
a failing test without leaking what it found. Digits of a code that are only part of a longer number (a
timestamp) or of a long hex run (a sha1 resource name, a page id) are not a leak: they are left out
unless `include_embedded=True`.
"""

from __future__ import annotations

import gzip
import io
import os
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from automation.redaction.canon import Matcher, canonical

_MAX_NESTING = 3  # a zip in a zip in a zip is as deep as evidence goes
UNREADABLE = "unreadable"


@dataclass(frozen=True)
class Hit:
    """One occurrence of a secret: file, zip entry (nested entries joined by "!"), form name, byte offset.

    `secret` is the index of the secret in the sequence given; `offset` is -1 when the hit is in a name.
    `form` names the decoders that revealed it, outermost first ("raw", "percent", "json>form", "base64").
    An entry that cannot be unpacked cannot be shown to be clean: it is a hit of its own, form "unreadable"
    (secret -1), so a scan fails closed and the hits of the entries around it are kept.
    """

    path: Path
    entry: str | None
    form: str
    offset: int
    secret: int = 0
    embedded: bool = False

    @property
    def unreadable(self) -> bool:
        return self.form == UNREADABLE

    def __str__(self) -> str:
        where = f"{self.path}!{self.entry}" if self.entry else str(self.path)
        if self.unreadable:
            return f"{where}: cannot be unpacked, so it cannot be shown to hold no secret"
        at = "in the name" if self.offset < 0 else f"at byte {self.offset}"
        return f"{where}: secret #{self.secret + 1} ({self.form} form) {at}"


class _Needles:
    """The secrets, ready to search blobs and names with; build once, search many."""

    def __init__(self, secrets: Iterable[str]) -> None:
        given = list(secrets)
        # A scan looks for what it is given, however short: only the redactor refuses short secrets.
        self._matcher = Matcher(given, strict=False)
        first: dict[str, int] = {}
        for index, secret in enumerate(given):
            first.setdefault(canonical(secret or ""), index)
        self._index = tuple(first[s] for s in self._matcher.secrets)  # back to the caller's numbering

    def __bool__(self) -> bool:
        return bool(self._matcher)

    def search(self, data: bytes, path: Path, entry: str | None) -> list[Hit]:
        """Every occurrence of every secret in `data`, in every form."""
        text = data.decode("utf-8", "surrogateescape")
        return [
            Hit(path, entry, m.form, _byte_offset(text, m.start), self._index[m.secret], m.embedded)
            for m in self._matcher.find(text)
        ]

    def search_name(self, name: str, path: Path, entry: str | None) -> list[Hit]:
        """Hits in a file or entry name, reported with offset -1."""
        return [
            Hit(path, entry, m.form, -1, self._index[m.secret], m.embedded) for m in self._matcher.find(name)
        ]


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8", "surrogateescape"))


def find_secrets(root: Path, secrets: Iterable[str], *, include_embedded: bool = False) -> list[Hit]:
    """Every hit of every secret under `root` (a folder or one file), in names, bytes and archive entries.

    Raises OSError if a file cannot be read.
    """
    needles = _Needles(secrets)
    if not needles:
        return []
    root = Path(root)
    hits: list[Hit] = []
    for path in _files(root):
        if path != root:
            hits += needles.search_name(str(path.relative_to(root)), path, None)
        hits += _search_blob(needles, path.read_bytes(), path, None, _MAX_NESTING)
    if not include_embedded:
        hits = [hit for hit in hits if not hit.embedded]
    return sorted(hits, key=lambda h: (str(h.path), h.entry or "", h.offset, h.form))


def _files(root: Path) -> Iterator[Path]:
    if root.is_file():
        yield root
        return
    for folder, dirs, names in os.walk(root):  # does not follow symlinked folders
        dirs.sort()
        for name in sorted(names):
            path = Path(folder, name)
            if path.is_file() and not path.is_symlink():
                yield path


def _search_blob(needles: _Needles, data: bytes, path: Path, entry: str | None, depth: int) -> list[Hit]:
    """Search `data`, or, when it is a readable zip or gzip, what it holds."""
    if depth > 0 and data[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        inner = _search_zip(needles, data, path, entry, depth)
        if inner is not None:
            return inner
    if depth > 0 and data[:2] == b"\x1f\x8b":
        try:
            unpacked = gzip.decompress(data)
        except (OSError, EOFError, zlib.error):
            # A gzip that cannot be unpacked cannot be shown to be clean: say so, and search its raw bytes.
            return [_unreadable(path, entry), *needles.search(data, path, entry)]
        return _search_blob(needles, unpacked, path, _join(entry, "<gunzip>"), depth - 1)
    return needles.search(data, path, entry)


def _unreadable(path: Path, entry: str | None) -> Hit:
    return Hit(path, entry, UNREADABLE, -1, secret=-1)


def _search_zip(
    needles: _Needles, data: bytes, path: Path, entry: str | None, depth: int
) -> list[Hit] | None:
    """Hits in each entry's name and content and in the archive comment; None if it is not a zip."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        return None
    hits: list[Hit] = []
    with archive:
        hits += needles.search(archive.comment, path, _join(entry, "<comment>"))
        for info in archive.infolist():
            name = _join(entry, info.filename)
            hits += needles.search_name(info.filename, path, name)
            try:
                content = archive.read(info)
            except (zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError, EOFError):
                # An entry we cannot unpack cannot be shown to be clean: a finding of its own, and the other
                # entries are still searched (their hits are kept).
                hits.append(_unreadable(path, name))
                continue
            hits += _search_blob(needles, content, path, name, depth - 1)
    return hits


def _join(outer: str | None, inner: str) -> str:
    return f"{outer}!{inner}" if outer else inner
