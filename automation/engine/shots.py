"""Screenshots that never show a secret: what to mask when one is taken, and what to withhold afterwards.

A screenshot is a picture: nothing can read a secret off it later. So what the page showed is read as text
when the picture is taken (its visible text, and the value and placeholder of every field), and kept in
memory only. That text decides the masks (fields typed a secret into, fields pre-filled with a secret,
elements showing one in any form), and, when a secret is learned later (an `extract ... secret: true`, an
answer, a sub-runbook's input), which earlier screenshots showed it: those are deleted and their steps say so.

The reads, the masks and the pictures go through the engine's Lens (automation/engine/lens.py): they leave no
action in the trace, and a page that did not change is not read in full again.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from automation.engine.lens import Lens, LensError, PageView
from automation.redaction.redactor import Redactor
from automation.result import StepRecord

WITHHELD = "screenshot withheld: the page showed a value that was later found to be secret"
UNSTEADY = "screenshot withheld: the page kept changing while it showed a secret, so it could not be masked"
ATTEMPTS = 3  # pictures of a page that keeps changing, before it is given up on


@dataclass
class Shot:
    """A screenshot taken, and what its page showed (None: it could not be read, so it may show anything)."""

    record: StepRecord
    path: Path
    seen: str | None


def mask_plan(view: PageView, redactor: Redactor) -> tuple[list[int], list[str]]:
    """What to paint over: the fields holding a secret (by index), and the texts to find on the page.

    A text the page does not show is not searched for element by element (on a large page that search is most
    of a picture's cost); a page whose text could not be read, or that keeps some in shadow roots, is searched
    for all of them."""
    if not redactor:
        return [], []
    fields = [
        i
        for i, (v, p) in enumerate(view.fields or [])
        if i in view.typed or redactor.mentions(v) or redactor.mentions(p)
    ]
    # An encoded form shown on the page (a URL-encoded token, an entity) is found by the words it really shows.
    shown = set(redactor.secrets) | _shown(view.text, redactor)
    needles = sorted(text.strip() for text in shown if text.strip())
    if view.text is not None and not view.shadows:
        letters = _memo("letters", view.text, None, lambda: _letters(view.text or ""))
        needles = [needle for needle in needles if _letters(needle) in letters]
    return fields, needles


# What a page's text was last found to hold, per thread (each run has a thread of its own): the lens hands back
# the same text object while the page's text does not change, so a step that only typed into a field does not
# search a large page's text again (about 50 ms a search on a 3 MB form).
_MEMO = threading.local()


def _memo(kind: str, text: str, key: Any, work: Callable[[], Any]) -> Any:
    last = getattr(_MEMO, kind, None)
    if last is not None and last[0] is text and last[1] == key:
        return last[2]
    value = work()
    setattr(_MEMO, kind, (text, key, value))
    return value


def _shown(text: str | None, redactor: Redactor) -> frozenset[str]:
    """The forms of a secret the text shows (whole values only)."""
    if not text:
        return frozenset()
    return _memo(
        "shown",
        text,
        redactor.secrets,
        lambda: frozenset(text[m.start : m.end] for m in redactor.find(text) if not m.embedded),
    )


def _letters(text: str) -> str:
    """Text with no whitespace and its case folded: looser than the page's own search (whitespace collapsed,
    case lowered), so that a needle is left out only when the page's search could not find it either."""
    return re.sub(r"[\s\u200b\ufeff]+", "", text).casefold()


def _picture(lens: Lens, path: Path, plan: tuple[list[int], list[str]], masked: bool) -> PageView:
    """The picture with its masks painted for the capture only; the page as it is after it.

    Fields typed a secret into are always painted."""
    if masked:
        lens.paint(*plan)
    try:
        lens.capture(path)
    except LensError:
        lens.read(unpaint=masked)  # the masks must not outlive the picture, whatever went wrong
        raise
    return lens.read(unpaint=masked)


@dataclass(frozen=True)
class Picture:
    """What take() did: kept a picture (or withheld it), or found the page as the last picture showed it."""

    kept: bool
    seen: str | None  # what the page showed while it was taken, in memory only
    view: PageView  # the page as it was left
    unchanged: bool = False  # no picture taken: the page looks as it did in `last`


def take(lens: Lens, path: Path, redactor: Redactor, last: PageView | None = None) -> Picture:
    """Take a masked screenshot at `path`, unless the page looks exactly as `last` left it.

    The page may change while the picture is taken (a page still loading after a click, a document replaced
    mid-picture): then the masks are worked out again for what it shows now and the picture retaken; a page
    that kept changing and shows a secret is not kept. Raises LensError when no picture could be taken."""
    view = lens.read()
    if view.text is None:  # a document still being parsed (a navigation just committed): let it have a body
        lens.settle()
        view = lens.read()
    if last is not None and view.known and view == last:
        return Picture(True, view.seen, view, unchanged=True)
    seen: list[str | None] = [view.seen]
    for attempt in range(ATTEMPTS):
        try:
            plan = mask_plan(view, redactor)
            # A page with nothing to mask is not touched: painting and removing masks makes the page lay itself
            # out twice, and restyle what the pointer hovers afterwards.
            after = _picture(lens, path, plan, bool(redactor) and bool(plan[0] or plan[1] or view.typed))
        except LensError:  # the document went mid-picture (a navigation committed): picture the new one
            if attempt == ATTEMPTS - 1:
                raise
            lens.settle()
            view = lens.read()
            seen.append(view.seen)
            continue
        seen.append(after.seen)
        # The masks were painted for what the page showed before: the same secret texts and the same
        # secret-holding fields after mean the picture is masked as a retake would be.
        if after.shows_as(view) or (
            after.seen is not None and _mask_key(after, redactor) == _mask_key(view, redactor)
        ):
            return Picture(True, _joined(seen), after)
        view = after
    if redactor and (view.seen is None or redactor.mentions(view.seen)):
        path.unlink(missing_ok=True)
        return Picture(False, _joined(seen), view)
    return Picture(True, _joined(seen), view)


def _mask_key(view: PageView, redactor: Redactor) -> tuple[Any, ...] | None:
    """What the masks of a page depend on: which fields hold a secret, and which secret texts it shows."""
    if view.seen is None or view.fields is None:
        return None
    if not redactor:
        return ()
    fields = tuple(i for i, (v, p) in enumerate(view.fields) if redactor.mentions(v) or redactor.mentions(p))
    return fields, _shown(view.text, redactor)


def _joined(seen: list[str | None]) -> str | None:
    return None if any(s is None for s in seen) else "\n".join(s for s in seen if s is not None)


def withhold_showing(shots: list[Shot], secrets: set[str]) -> None:
    """Delete the screenshots whose page showed any of `secrets` (or could not be read), and say so."""
    if not secrets:
        return
    redactor = Redactor(secrets)
    for shot in shots:
        if shot.record.screenshot is None:
            continue
        if shot.seen is not None and not redactor.mentions(shot.seen):
            continue
        shot.path.unlink(missing_ok=True)
        shot.record.screenshot = None
        detail = shot.record.detail
        shot.record.detail = f"{detail}; {WITHHELD}" if detail else WITHHELD
