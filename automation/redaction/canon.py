"""Find a secret however it was written: decode the text first, then match, then widen to the whole value.

A browser, a server and a trace write the same secret in many ways: percent-encoded by a form post (any hex
case, `+` for a space, only some characters encoded), HTML entities in a page, JSON escapes in a trace line,
base64 in a header or body, in upper case on a page that shouts, with its spaces collapsed by a title. Listing
encodings always misses one, so this module canonicalises instead:

- the secret is kept in one form (`canonical`: surrounding whitespace stripped, the value a run uses), and
  matched case-insensitively with any run of whitespace standing for its spaces;
- each text is matched as written and as decoded by each decoder whose trigger characters it holds,
  stacked a few decoders deep (decode.py: a URL-encoded value inside a JSON string inside HTML);
- a match in a decoded form is mapped back to the characters of the text that produced it, and widened
  to the whole value around it (a query value, a token, a base64 run), so no piece of the secret survives.

Digits of a code inside a longer number (a timestamp) or inside a long hex run (a sha1, a page id) are not
the secret: such matches are "embedded" and left alone, so ids and references keep working.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from automation.redaction.decode import TEXT_DECODERS, decoders_for, variants

MIN_SECRET_LENGTH = 4  # shorter values occur by chance in names, labels, run ids and URLs
_MIN_HEX_RUN = 16  # a hex run this long is a hash or an id, not text
_RUN_REACH = 64  # how far to look around a match to tell a longer number or hash from text
_WIDEN_REACH = 512  # how far a match is widened to its whole value (bounded, to stay linear)

# What ends a value: whitespace, quotes, markup, and the separators of URLs, forms, headers and JSON.
# Inside a value ("-", ".", "_", "~", "%", "+", "*", "!") nothing ends it, so an encoded rest goes too.
_VALUE_END = frozenset(" \t\r\n\f\v\"'`<>&=?#;,()[]{}|\\/:@")


class SecretTooShort(ValueError):
    """A secret under MIN_SECRET_LENGTH characters: masking it would rewrite the evidence's own texts."""


def canonical(value: str) -> str:
    """The one form a secret is kept and used in: without surrounding whitespace."""
    return value.strip()


def check_secret(value: str) -> str:
    """The canonical form of `value`. Raises SecretTooShort, saying why, if it is too short to mask."""
    text = canonical(value)
    if len(text) < MIN_SECRET_LENGTH:
        raise SecretTooShort(
            f"a secret must be at least {MIN_SECRET_LENGTH} characters long (this one has {len(text)}): "
            "a shorter value occurs by chance in names, labels, run ids and URLs, and masking it would "
            "destroy the evidence. Give the full value"
        )
    return text


# -- the matcher -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Match:
    """One occurrence: the span of the original text to replace (whole value), which secret, which form."""

    start: int
    end: int
    secret: int
    form: str
    embedded: bool = False


def _pattern(form: str) -> str:
    """A regex for one form of a secret: its whitespace may be any run of whitespace (titles collapse it)."""
    return r"\s+".join(re.escape(part) for part in re.split(r"\s+", form))


def _case_forms(secret: str) -> set[str]:
    """The secret and each of its case mappings: all of them, as the search runs over lower-cased text, where
    IGNORECASE's equivalences are lost ("µ" upper-cases to the Greek "Μ", which lowers to "μ", not "µ")."""
    return {secret, secret.upper(), secret.lower(), secret.casefold()}


def _base64_fragments(secret: str) -> Iterator[str]:
    """The part of base64(prefix + secret + suffix) that depends on the secret alone, for each alignment.

    A base64 run may start anywhere before the secret; decoding finds it only when the run starts
    on a group boundary, so these catch a long secret in a run that does not."""
    data = secret.encode()
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + data).decode()
        fragment = encoded[4 if shift else 0 : 4 * ((shift + len(data)) // 3)]
        if len(fragment) >= 12:
            yield fragment
            yield fragment.replace("+", "-").replace("/", "_")


class Matcher:
    """Finds secrets in text in every form; build once per set of secrets, use on many strings.

    `base64=False` leaves base64 out (for texts that carry no header or body, e.g. DOM snapshots): it is
    the slowest decoder, and is where a secret is least likely to be."""

    __slots__ = ("_secrets", "_any", "_lower", "_each", "_decoders", "shortest")

    def __init__(self, secrets: Iterable[str], *, strict: bool = True) -> None:
        """Raises SecretTooShort if `strict` and a secret is too short to mask (see check_secret)."""
        self._secrets = tuple(dict.fromkeys(canonical(s) for s in secrets if s and canonical(s)))
        for secret in self._secrets if strict else ():
            check_secret(secret)
        each: list[tuple[re.Pattern[str], re.Pattern[str] | None]] = []
        forms: set[str] = set()
        for secret in self._secrets:
            cases, fragments = _case_forms(secret), set(_base64_fragments(secret))
            forms |= cases | fragments
            each.append((_compile(cases), _compile(fragments) if fragments else None))
        self._each = tuple(each)
        self._any = _compile(forms) if forms else None
        # The same, over lower-cased text: literal patterns without IGNORECASE let the engine skip ahead.
        self._lower = _compile({f.lower() for f in forms}, ignore_case=False) if forms else None
        self.shortest = min((len(" ".join(f.split())) for f in forms), default=0)
        self._decoders = decoders_for(min((len(s.encode()) for s in self._secrets), default=0))

    @property
    def secrets(self) -> tuple[str, ...]:
        return self._secrets

    def __bool__(self) -> bool:
        return self._any is not None

    def mentions(self, text: str, *, base64: bool = True) -> bool:
        """True if any secret occurs in `text` in any form (embedded digits included: this only gates)."""
        if self._any is None or len(text) < self.shortest:
            return False
        decoders = self._decoders if base64 else TEXT_DECODERS
        return any(self._search(v.text) for v in variants(text, decoders, mapped=False))

    def find(self, text: str, *, base64: bool = True) -> list[Match]:
        """Every occurrence of every secret in `text`, as spans of `text` widened to whole values.

        A value seen again through another decoder is reported once, in the first form it was found in."""
        found: list[Match] = []
        for match in self._all(text, base64):
            if not any(match.start < m.end and m.start < match.end for m in found):
                found.append(match)
        return found

    def redact(self, text: str, marker: str, *, base64: bool = True) -> tuple[str, int]:
        """`text` with each whole value holding a secret replaced by `marker`, and how many were."""
        spans = sorted((m.start, m.end) for m in self._all(text, base64) if not m.embedded)
        if not spans:
            return text, 0
        merged: list[list[int]] = []
        for start, end in spans:
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        pieces, last = [], 0
        for start, end in merged:
            pieces += [text[last:start], marker]
            last = end
        pieces.append(text[last:])
        return "".join(pieces), len(merged)

    def _search(self, text: str) -> bool:
        lower = text.lower()
        if len(lower) == len(text) and self._lower is not None:
            return self._lower.search(lower) is not None
        return self._any is not None and self._any.search(text) is not None  # "İ" lowers to two

    def _spans(self, text: str) -> Iterator[tuple[int, int]]:
        assert self._any is not None and self._lower is not None
        lower = text.lower()
        found = self._lower.finditer(lower) if len(lower) == len(text) else self._any.finditer(text)
        return (hit.span() for hit in found)

    def _all(self, text: str, base64: bool) -> Iterator[Match]:
        if not self.mentions(text, base64=base64):  # most texts hold no secret: tell without maps first
            return
        for variant in variants(text, self._decoders if base64 else TEXT_DECODERS):
            for start, end in self._spans(variant.text):
                secret, fragment = self._which(variant.text[start:end])
                form = variant.form if not fragment else f"{variant.form}>base64".removeprefix("raw>")
                embedded = _embedded(variant.text, start, end)
                yield Match(*_widen(text, *variant.back(start, end)), secret, form, embedded)

    def _which(self, matched: str) -> tuple[int, bool]:
        """Which secret `matched` is, and whether it matched as a base64 fragment of it."""
        for index, (cases, fragments) in enumerate(self._each):
            if cases.fullmatch(matched) or cases.fullmatch(matched.lower()):
                return index, False
            if fragments is not None and fragments.fullmatch(matched):
                return index, True
        return 0, False


def _compile(forms: Iterable[str], *, ignore_case: bool = True) -> re.Pattern[str]:
    # Longest first, so that a longer form wins over a form it starts with.
    ordered = sorted(forms, key=lambda f: (-len(f), f))
    return re.compile("|".join(_pattern(f) for f in ordered), re.IGNORECASE if ignore_case else 0)


_DIGITS = frozenset("0123456789")
_NUMBER = _DIGITS | {"."}
_HEX = _DIGITS | frozenset("abcdefABCDEF")
_HEX_ID = _HEX | {"-"}  # uuids are hex runs with dashes


def _run(text: str, start: int, end: int, alphabet: frozenset[str]) -> str:
    """The run of `alphabet` characters around text[start:end], looking at most _RUN_REACH each way."""
    first, last = max(0, start - _RUN_REACH), min(len(text), end + _RUN_REACH)
    while start > first and text[start - 1] in alphabet:
        start -= 1
    while end < last and text[end] in alphabet:
        end += 1
    return text[start:end]


def _embedded(text: str, start: int, end: int) -> bool:
    """True when the match is only part of a longer number or of a hash/id, so it is not the secret."""
    matched, size = text[start:end], end - start
    if set(matched) <= _DIGITS and len(_run(text, start, end, _NUMBER).strip(".")) > size:
        return True
    if set(matched) <= _HEX:
        run = _run(text, start, end, _HEX_ID)
        return sum(c in _HEX for c in run) >= _MIN_HEX_RUN and len(run) > size
    return False


_BASE64_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_-")


def _widen(text: str, start: int, end: int) -> tuple[int, int]:
    """Widen text[start:end] to the whole value around it (bounded), so no part of the secret is left.

    A match in base64 is widened over the whole run first: its neighbouring groups carry bits of it."""
    first, last = max(0, start - _WIDEN_REACH), min(len(text), end + _WIDEN_REACH)
    if end - start >= 12 and set(text[start:end]) <= _BASE64_CHARS:
        start, end = _grow(text, start, end, first, last, lambda c: c in _BASE64_CHARS)
    return _grow(text, start, end, first, last, lambda c: c not in _VALUE_END)


def _grow(
    text: str, start: int, end: int, first: int, last: int, inside: Callable[[str], bool]
) -> tuple[int, int]:
    while start > first and inside(text[start - 1]):
        start -= 1
    while end < last and inside(text[end]):
        end += 1
    return start, end
