"""How a secret may be written, and how to tell one in a text: the matching and decoding rules of leakscan.py.

Standard library only, and nothing of `automation`: the proof must not share the redactor's gaps. The rules
(case, whitespace, numbers and hex, the decodings) are stated in leakscan.py's docstring; the ways this module
keeps them fast enough for a 50 MB folder are said where they are made.
"""

from __future__ import annotations

import binascii
import html
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import AnyStr, Literal, NamedTuple

__all__ = ["HEX_RUN", "MAX_STEPS", "UTF16", "Needles", "base64_decoded", "unescape_round"]

MAX_STEPS = 6  # rounds of unescaping (json, html, percent) of one text
HEX_RUN = 16  # a hex run this long is a hash or an id, not a code
_REACH = 64  # how far around a match to look for the number or hex run it is part of
UTF16 = ((b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))  # byte order marks and codecs

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
        value, changed = unescape_round(value)
        if not changed:
            break
    return tuple(images.values())


class Needles:
    """The secrets, ready to count in many texts."""

    def __init__(self, secrets: Sequence[str]) -> None:
        items = []
        for index, secret in enumerate(secrets):
            value = secret.strip()
            if not value:
                raise ValueError(f"secret #{index + 1} is empty: give the value the run used")
            cases = {value, value.lower(), value.upper(), value.casefold()}
            utf16 = {
                codec: tuple({c.encode(codec, "surrogatepass").lower() for c in cases}) for _, codec in UTF16
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

    def text_of(self, data: bytes) -> str:
        """`data` as text; of a binary blob (a picture, a base64 run decoded from the wrong offset), only its
        readable runs long enough to hold a secret, joined by NULs: no secret, however written, is in the rest,
        which is most of it, and the slowest to search."""
        text = data.decode("utf-8", "surrogateescape")
        if _JUNK_CHAR.search(text) is None:
            return text
        return "\x00".join(self.readable.findall(text))

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
        counts: dict[str, list[int]] = {codec: [] for _, codec in UTF16}
        for secret in self.items:
            found = {
                codec: {
                    start
                    for needle in secret.utf16[codec]
                    for start, end in _finds(lowered, needle)
                    if secret.kind == "text" or not _embedded_utf16(data, start, end, codec, secret.kind)
                }
                for _, codec in UTF16
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


def unescape_round(text: str) -> tuple[str, list[str]]:
    """`text` through one round of unescaping, and the layers that changed it."""
    changed = []
    for kind, decode in _ROUND:
        decoded = decode(text)
        if decoded is not text and decoded != text:
            changed.append(kind)
            text = decoded
    return text, changed


def base64_decoded(runs: Iterable[str]) -> tuple[bytes, list[bytes]]:
    """Every run decoded from each of its four possible group starts (a run may begin mid-group: "key" glued
    on, a slice of a longer value), joined; and, apart, the files among them.

    Each run is padded to whole groups, so one decoding of the joined runs from offset 1, 2 or 3 decodes every
    run from that offset; "////" between runs decodes to 0xff bytes. A long run that decodes from its first
    character to a file's magic number (a picture inline in a report, an archive, a database) is that file,
    returned whole to be opened as one, and from that start only: the other three offsets would only make
    three times its size of noise, most of a report's scanning time."""
    files, others = [], []
    for run in runs:
        starts_a_file = len(run) >= 64 and binascii.a2b_base64(run[:8].translate(_URLSAFE)).startswith(_MAGIC)
        (files if starts_a_file else others).append(run)
    joined = _padded(others)
    decoded = b"\xff\xff\xff".join(binascii.a2b_base64(joined[s:] + "AAA"[:s]) for s in range(4) if joined)
    return decoded, [binascii.a2b_base64(_padded([run])) for run in files]


def _padded(runs: list[str]) -> str:
    return "////".join(run + "AAA"[: -len(run) % 4] for run in runs).translate(_URLSAFE)


# PNG, JPEG, GIF, WebP, PDF, gzip, zip, SQLite
_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"RIFF", b"%PDF", b"\x1f\x8b\x08", b"PK\x03\x04", b"SQLite")
