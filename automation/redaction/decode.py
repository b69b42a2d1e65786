"""Decoders for the canonicalising matcher (canon.py): each text as written, then as decoded.

Percent-encoding (any hex case; "+" for a space as a form posts it), HTML entities, JSON and JavaScript string
escapes, and base64 runs, stacked up to `_MAX_DEPTH` deep and breadth first. Each decoded form keeps a map
back to the characters that produced it, so a match in it can be replaced in the original: a decoded piece
maps back whole (an entity, an escape, a percent run, a base64 run).
"""

from __future__ import annotations

import base64
import binascii
import html
import re
from bisect import bisect_right
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

_MAX_DEPTH = 3  # decoders stacked: e.g. base64 of a form body, in a JSON string
_MAX_VARIANTS = 24  # a bound on decoded forms per text, whatever it holds
_MIN_BASE64 = 6  # base64 of the shortest secret (4 bytes) is 6 characters (and 2 of padding)


@dataclass(frozen=True)
class Decoder:
    name: str
    pattern: re.Pattern[
        str
    ]  # each starts with a literal where it can: the regex engine then skips ahead fast
    decode: Callable[[str], str | None]  # None: leave the match as it is
    needle: str | None = None  # a text without it has nothing for this decoder (a fast `in` test)


def _percent(text: str) -> str | None:
    return unquote_to_bytes(text).decode("utf-8", "replace")


def _form(text: str) -> str | None:
    return " " if text == "+" else _percent(text)


def _entity(text: str) -> str | None:
    decoded = html.unescape(text)
    return decoded if decoded != text else None


_JSON_SIMPLE = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


_JSON_ONE = {f"\\{k}": v for k, v in {**_JSON_SIMPLE, '"': '"', "\\": "\\", "/": "/"}.items()}


def _json(text: str) -> str | None:
    """A run of JSON (or JavaScript) string escapes; surrogate pairs are joined."""
    one = _JSON_ONE.get(text)
    if one is not None:  # most runs are one \" or \n
        return one
    units: list[str] = []
    index = 0
    while index < len(text):
        kind = text[index + 1]
        if kind == "u":
            units.append(chr(int(text[index + 2 : index + 6], 16)))
            index += 6
        elif kind == "x":
            units.append(chr(int(text[index + 2 : index + 4], 16)))
            index += 4
        else:
            units.append(_JSON_SIMPLE.get(kind, kind))
            index += 2
    return "".join(units).encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


_URLSAFE = str.maketrans("-_", "+/")


def _base64(text: str) -> str | None:
    """The run decoded at each alignment that gives text (a run may start mid-group), joined by NULs.

    Base64 of a picture or of random bytes decodes to no text, so it is not searched further."""
    if _MIXED.search(text) is None or _HEX_ONLY.fullmatch(text.rstrip("=")):
        return None
    body = text.rstrip("=").translate(_URLSAFE)
    decoded: list[str] = []
    for shift in range(4):
        part = body[shift:]
        if len(part) % 4 == 1:  # a lone last character carries no whole byte
            part = part[:-1]
        try:
            data = base64.b64decode(part + "=" * (-len(part) % 4), validate=True)
        except (binascii.Error, ValueError):
            continue
        found = _as_text(data)
        if found is not None:
            decoded.append(found)
    return "\0".join(decoded) or None


_NOT_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd]")


def _as_text(data: bytes) -> str | None:
    """`data` as text, or None when it is mostly not text (a picture, random bytes, a wrong alignment).

    A few bad characters are allowed: a run may start with bytes of something else before the secret."""
    text = data.decode("utf-8", "replace")
    bad = len(_NOT_TEXT.findall(text))
    return text if bad * 8 <= len(text) else None


_PERCENT = r"%[0-9A-Fa-f]{2}(?:%[0-9A-Fa-f]{2})*"
_ESCAPE = r"\\(?:u[0-9A-Fa-f]{4}|x[0-9A-Fa-f]{2}|[^ux])"
TEXT_DECODERS = (
    Decoder("percent", re.compile(_PERCENT), _percent, "%"),
    Decoder("form", re.compile(rf"\+|{_PERCENT}"), _form, "+"),  # without "+" it is "percent" again
    Decoder(
        "html",
        re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});?"),
        _entity,
        "&",
    ),
    Decoder("json", re.compile(rf"{_ESCAPE}(?:{_ESCAPE})*"), _json, "\\"),
)
_B64 = "A-Za-z0-9+/_-"
# A base64 run is told from words and ids by a change of case, a digit next to a letter, or "+" "/", which
# nearly every base64 run has and words rarely do; a run of hex digits is a hash or an id.
_MIXED = re.compile(r"[a-z][A-Z]|[A-Z]{2}[a-z]|[0-9][A-Za-z]|[A-Za-z][0-9]|[+/]")
_HEX_ONLY = re.compile(r"[0-9a-f-]+|[0-9A-F-]+")


def decoders_for(secret_bytes: int) -> tuple[Decoder, ...]:
    """The decoders for secrets of at least `secret_bytes` UTF-8 bytes: shorter base64 runs cannot hold one."""
    least = max(_MIN_BASE64, -(-4 * secret_bytes // 3) - 3)
    # Possessive: a match can only start where a run starts, so no look-behind is needed.
    run = re.compile(rf"[{_B64}]{{{least},65536}}+={{0,2}}")
    return (*TEXT_DECODERS, Decoder("base64", run, _base64))


# -- decoded forms with a way back to the original ------------------------------------------------------


@dataclass(frozen=True)
class _Map:
    """Where each decoded piece came from: (decoded start, decoded end, source start, source end)."""

    segments: tuple[tuple[int, int, int, int], ...]
    starts: tuple[int, ...]

    def back(self, start: int, end: int) -> tuple[int, int]:
        """The source span of decoded[start:end] (end > start): a piece touched at all maps back whole."""
        return self._point(start, False), self._point(end - 1, True)

    def _point(self, index: int, is_end: bool) -> int:
        k = bisect_right(self.starts, index) - 1
        if k < 0:
            return index + is_end
        new_start, new_end, src_start, src_end = self.segments[k]
        if index < new_end:
            return src_end if is_end else src_start
        return src_end + (index - new_end) + is_end


@dataclass(frozen=True)
class Variant:
    text: str
    form: str  # "raw", "percent", "json>percent" (decoded by json, then by percent)
    maps: tuple[_Map, ...]  # innermost last
    base64_done: bool = False

    def back(self, start: int, end: int) -> tuple[int, int]:
        for mapping in reversed(self.maps):
            start, end = mapping.back(start, end)
        return start, end


def _apply(decoder: Decoder, text: str, mapped: bool) -> tuple[str, _Map | None] | None:
    """`text` with every match of the decoder decoded, and (if `mapped`) the map back; None if unchanged."""
    if not mapped:  # the fast path, for asking whether a secret is there at all
        decode = decoder.decode
        decoded = decoder.pattern.sub(lambda m: decode(m.group()) or m.group(), text)
        return (decoded, None) if decoded != text else None
    pieces: list[str] = []
    segments: list[tuple[int, int, int, int]] = []
    last = size = 0
    for match in decoder.pattern.finditer(text):
        decoded = decoder.decode(match.group())
        if decoded is None or decoded == match.group():
            continue
        pieces.append(text[last : match.start()])
        size += match.start() - last
        segments.append((size, size + len(decoded), match.start(), match.end()))
        pieces.append(decoded)
        size += len(decoded)
        last = match.end()
    if not segments:
        return None
    pieces.append(text[last:])
    return "".join(pieces), _Map(tuple(segments), tuple(s[0] for s in segments))


def variants(text: str, decoders: tuple[Decoder, ...], *, mapped: bool = True) -> Iterator[Variant]:
    """`text` as written, then each decoded form (breadth first, deduplicated, bounded).

    Without `mapped`, the variants carry no way back (their `back` must not be used): cheaper."""
    first = Variant(text, "raw", ())
    yield first
    seen = {text}
    level = [first]
    count = 1
    for _ in range(_MAX_DEPTH):
        following: list[Variant] = []
        for variant in level:
            for decoder in decoders:
                if decoder.needle is not None and decoder.needle not in variant.text:
                    continue
                if decoder.name == "base64" and variant.base64_done:
                    continue  # base64 inside base64 is not how anyone sends a secret
                applied = _apply(decoder, variant.text, mapped)
                if applied is None or applied[0] in seen:
                    continue
                decoded, mapping = applied
                seen.add(decoded)
                form = decoder.name if variant.form == "raw" else f"{variant.form}>{decoder.name}"
                maps = variant.maps + (mapping,) if mapping is not None else ()
                child = Variant(decoded, form, maps, variant.base64_done or decoder.name == "base64")
                yield child
                following.append(child)
                count += 1
                if count >= _MAX_VARIANTS:
                    return
        level = following
        if not level:
            return
