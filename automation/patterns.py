"""Every regular expression a runbook's YAML gives, matched with a bound: the one place such a pattern meets text.

A pattern in a runbook (an input's or an `ask`'s `pattern`, a `from_mail` pattern, an `extract` pattern) meets
text from outside: a value typed on a form, a mail anyone can send to a monitored mailbox, a page's text. A
pattern that backtracks catastrophically on that text (`^(a|aa)+$` on forty a's and a '!') would hold a core,
and on the console a server thread, for minutes. So every match here runs with the `regex` module's `timeout`
(the module keeps the syntax our runbooks use, lookaheads included; compiled with the V0 flag it behaves like
`re`) and on a text of bounded length:

    what the text is                          time per match      text length
    an input value, an answer (typed text)    0.25 s              10,000 characters: a longer one is refused
    page text (extract), a mail's text        1 s                 the first 200,000 characters are searched

A match lets go of the GIL while it runs (`concurrent`: the text is an immutable str), so the console's other
threads answer meanwhile. A timeout raises PatternTimeout naming the pattern's place in its file
(runbooks/portal/x.yaml:18) and what to do; a typed value over its cap raises TextTooLong. The `regex` module
checks its clock every so many steps, so a timeout can overrun its limit a little (under a second here).
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import regex

from automation.errors import PatternTimeout, TextTooLong
from automation.yamlfile import display_path

TYPED_TIMEOUT_S = 0.25  # an input value or an answer: a person waits on the answer
TYPED_MAX_CHARS = 10_000  # no input or answer a runbook checks is longer; a longer one is refused
FOUND_TIMEOUT_S = 1.0  # page text and mail: longer texts, read once per poll
FOUND_MAX_CHARS = 200_000  # a mail or an element's text past this is searched on its beginning only


@lru_cache(maxsize=256)
def compiled(pattern: str) -> regex.Pattern[str]:
    """The pattern compiled once (V0: the semantics of Python's `re`). Raises regex.error if it is invalid."""
    return regex.compile(pattern, regex.V0)


def compile_error(pattern: str) -> str | None:
    """Why `pattern` is not a valid regular expression, or None (the loader names the file:line).

    The language stays Python's `re` (what README documents): what `re` refuses, `regex`'s extensions included
    (\\p{L}, variable-width look-behind), is refused, so the matching engine could change back without a
    runbook breaking."""
    try:
        re.compile(pattern)
        compiled(pattern)
    except (re.error, regex.error) as exc:
        return str(exc)
    return None


def place(file: Path | str | None, line: int | None) -> str:
    """Where a pattern is written, as errors name it: "runbooks/portal/x.yaml:18"."""
    name = display_path(file) if isinstance(file, Path) else (file or "<runbook>")
    return f"{name}:{line}" if line is not None else name


def _typed(text: str, where: str) -> str:
    if len(text) > TYPED_MAX_CHARS:
        raise TextTooLong(
            f"is {len(text):,} characters long; at most {TYPED_MAX_CHARS:,} are checked against the pattern "
            f"at {where}: give a shorter value"
        )
    return text


def fullmatch(pattern: str, text: str, *, where: str) -> regex.Match[str] | None:
    """The whole of a typed value (an input, an answer) against `pattern` from `where` ("file.yaml:18").

    Raises TextTooLong past TYPED_MAX_CHARS, PatternTimeout past TYPED_TIMEOUT_S."""
    text = _typed(text, where)
    try:
        return compiled(pattern).fullmatch(text, timeout=TYPED_TIMEOUT_S, concurrent=True)
    except TimeoutError:
        raise PatternTimeout(pattern, where, TYPED_TIMEOUT_S) from None


def search(pattern: str, text: str, *, where: str) -> regex.Match[str] | None:
    """The first match of `pattern` from `where` in found text (a page's, a mail's), of which the first
    FOUND_MAX_CHARS characters are searched. Raises PatternTimeout past FOUND_TIMEOUT_S."""
    try:
        return compiled(pattern).search(text[:FOUND_MAX_CHARS], timeout=FOUND_TIMEOUT_S, concurrent=True)
    except TimeoutError:
        raise PatternTimeout(pattern, where, FOUND_TIMEOUT_S) from None


def kept(match: regex.Match[str]) -> str:
    """What a match hands back to a runbook: its first group, else the whole match."""
    return str(match.group(1) if match.groups() else match.group(0))
