"""Find secrets in evidence: every byte of every file under a folder, inside zip and gzip files too.

A secret is looked for in every form it takes on its way through a browser, a server and a trace: raw,
URL-encoded (as urllib, HTML forms and JavaScript write it, with upper- or lower-case hex), JSON-escaped,
HTML-escaped, any two of those stacked (a URL inside a JSON string), and as base64 inside a longer
value (an `Authorization: Basic` header). `secret_forms()` is the one list; the redactor replaces exactly
what this module finds.

A hit reports where and which form, never the secret itself, so a hit can be printed, logged or shown in
a failing test without leaking what it found. Digits of a code that are only part of a longer number (a
timestamp) or of a long hex run (a sha1 resource name, a page id) are not a leak: they are left out
unless `include_embedded=True`.
"""

from __future__ import annotations

import base64
import gzip
import html
import io
import json
import os
import re
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, quote_plus

_PERCENT_HEX = re.compile(r"%[0-9A-F]{2}")
_MIN_BASE64 = 8  # shorter base64 fragments would match unrelated bytes
_MIN_HEX_RUN = 16  # a hex run this long is a hash or an id, not text
_MAX_NESTING = 3  # a zip in a zip in a zip is as deep as evidence goes
_RUN_REACH = 64  # enough to tell a hash or a number from text, and bounded on long runs

_DIGITS = frozenset(b"0123456789")
_NUMBER = _DIGITS | frozenset(b".")
_HEX = _DIGITS | frozenset(b"abcdefABCDEF")
_HEX_ID = _HEX | frozenset(b"-")  # uuids are hex runs with dashes


def _lower_hex(text: str) -> str:
    return _PERCENT_HEX.sub(lambda m: m.group(0).lower(), text)


_URL: dict[str, Callable[[str], str]] = {
    "url": lambda s: quote(s, safe=""),
    "url-plus": lambda s: quote_plus(s, safe=""),
    "url-component": lambda s: quote(s, safe="-_.!~*'()"),  # JavaScript's encodeURIComponent
    "url-path": quote,  # urllib's default keeps "/"
}
_TRANSFORMS: dict[str, Callable[[str], str]] = {
    **_URL,
    **{f"{name}-lower": (lambda s, f=f: _lower_hex(f(s))) for name, f in _URL.items()},
    "json": lambda s: json.dumps(s)[1:-1],
    "json-utf8": lambda s: json.dumps(s, ensure_ascii=False)[1:-1],
    "json-slash": lambda s: json.dumps(s)[1:-1].replace("/", "\\/"),  # PHP's json_encode
    "html": html.escape,
    "html-text": lambda s: html.escape(s, quote=False),
    "html-apos": lambda s: html.escape(s).replace("&#x27;", "&#39;"),
}


def secret_forms(secret: str) -> dict[str, str]:
    """Every form of `secret` worth looking for, by name ("raw", "json(url-plus)", "base64@1"), deduplicated."""
    found: dict[str, str] = {}

    def add(name: str, text: str) -> None:
        if text and text not in found.values():
            found[name] = text

    add("raw", secret)
    for outer, f in _TRANSFORMS.items():
        add(outer, f(secret))
    for inner, g in _TRANSFORMS.items():
        for outer, f in _TRANSFORMS.items():
            add(f"{outer}({inner})", f(g(secret)))
    for name, text in _base64_fragments(secret):
        add(name, text)
    return found


def _base64_fragments(secret: str) -> Iterator[tuple[str, str]]:
    """The part of base64(prefix + secret + suffix) that depends on the secret alone, for each alignment."""
    data = secret.encode()
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + data).decode()
        whole = 4 * ((shift + len(data)) // 3)  # groups after this one also hold the suffix
        fragment = encoded[4 if shift else 0 : whole]
        if len(fragment) >= _MIN_BASE64:
            yield f"base64@{shift}", fragment
            urlsafe = fragment.replace("+", "-").replace("/", "_")
            if urlsafe != fragment:
                yield f"base64url@{shift}", urlsafe


@dataclass(frozen=True)
class Hit:
    """One occurrence of a secret: file, zip entry (nested entries joined by "!"), form name, byte offset.

    `secret` is the index of the secret in the sequence given; `offset` is -1 when the hit is in a name.
    """

    path: Path
    entry: str | None
    form: str
    offset: int
    secret: int = 0
    embedded: bool = False

    def __str__(self) -> str:
        where = f"{self.path}!{self.entry}" if self.entry else str(self.path)
        at = "in the name" if self.offset < 0 else f"at byte {self.offset}"
        return f"{where}: secret #{self.secret + 1} ({self.form} form) {at}"


@dataclass(frozen=True)
class _Needle:
    pattern: bytes
    secret: int
    form: str
    digits: bool
    hex: bool


class _Needles:
    """The byte patterns of a set of secrets, ready to search; build once, search many blobs."""

    def __init__(self, secrets: Iterable[str]) -> None:
        seen: set[bytes] = set()
        needles: list[_Needle] = []
        for index, secret in enumerate(secrets):
            for form, text in (secret_forms(secret) if secret else {}).items():
                pattern = text.encode()
                if pattern not in seen:
                    seen.add(pattern)
                    needles.append(
                        _Needle(pattern, index, form, _only(pattern, _DIGITS), _only(pattern, _HEX))
                    )
        self._needles = tuple(needles)

    def __bool__(self) -> bool:
        return bool(self._needles)

    def search(self, data: bytes, path: Path, entry: str | None) -> list[Hit]:
        """Every occurrence of every pattern in `data`, overlaps included."""
        hits: list[Hit] = []
        for needle in self._needles:
            start = data.find(needle.pattern)
            while start != -1:
                embedded = _embedded(data, start, start + len(needle.pattern), needle)
                hits.append(Hit(path, entry, needle.form, start, needle.secret, embedded))
                start = data.find(needle.pattern, start + 1)
        return hits

    def search_name(self, name: str, path: Path, entry: str | None) -> list[Hit]:
        """Hits in a file or entry name, reported with offset -1."""
        return [
            Hit(path, entry, hit.form, -1, hit.secret, hit.embedded)
            for hit in self.search(name.encode(), path, entry)
        ]


def _only(pattern: bytes, alphabet: frozenset[int]) -> bool:
    return all(byte in alphabet for byte in pattern)


def _run(data: bytes, start: int, end: int, alphabet: frozenset[int]) -> bytes:
    """The run of `alphabet` bytes around data[start:end], looking at most _RUN_REACH bytes each way."""
    first, last = max(0, start - _RUN_REACH), min(len(data), end + _RUN_REACH)
    while start > first and data[start - 1] in alphabet:
        start -= 1
    while end < last and data[end] in alphabet:
        end += 1
    return data[start:end]


def _embedded(data: bytes, start: int, end: int, needle: _Needle) -> bool:
    """True when the match is only part of a longer number or of a hash/id, so it is not the secret."""
    size = end - start
    if needle.digits and len(_run(data, start, end, _NUMBER).strip(b".")) > size:
        return True
    if needle.hex:
        run = _run(data, start, end, _HEX_ID)
        hex_digits = sum(byte in _HEX for byte in run)
        return hex_digits >= _MIN_HEX_RUN and len(run) > size
    return False


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
            unpacked = None  # not really gzip: the raw bytes are all there is
        if unpacked is not None:
            return _search_blob(needles, unpacked, path, _join(entry, "<gunzip>"), depth - 1)
    return needles.search(data, path, entry)


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
            except (zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError):
                # An entry we cannot unpack cannot be shown to be clean: search its stored bytes instead.
                return None
            hits += _search_blob(needles, content, path, name, depth - 1)
    return hits


def _join(outer: str | None, inner: str) -> str:
    return f"{outer}!{inner}" if outer else inner
