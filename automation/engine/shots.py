"""Screenshots that never show a secret: what to mask when one is taken, and what to withhold afterwards.

A screenshot is a picture: nothing can read a secret off it later. So what the page showed is read as text
when the picture is taken (its visible text, and the value and placeholder of every field), and kept in
memory only. That text decides the masks (fields typed into, fields pre-filled with a secret, elements
showing one in any form), and, when a secret is learned later (an `extract ... secret: true`, an answer, a
sub-runbook's input), which earlier screenshots showed it: those are deleted and their steps say so.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..evidence.redact import Redactor
from ..result import StepRecord

FIELDS = "input, textarea"
# One round trip: the fields as Playwright's locator finds them (so .nth(i) is the same field), and the text.
_READ_JS = """els => [document.body ? document.body.innerText : null,
  els.map(e => [String(e.value || ''), String(e.placeholder || '')])]"""
WITHHELD = "screenshot withheld: the page showed a value that was later found to be secret"
UNSTEADY = "screenshot withheld: the page kept changing while it showed a secret, so it could not be masked"


@dataclass
class Shot:
    """A screenshot taken, and what its page showed (None: it could not be read, so it may show anything)."""

    record: StepRecord
    path: Path
    seen: str | None


@dataclass(frozen=True)
class PageView:
    """What the page shows, read just before its screenshot."""

    text: str | None
    fields: list[tuple[str, str]] | None  # (value, placeholder) per field, in locator order

    @property
    def seen(self) -> str | None:
        if self.text is None or self.fields is None:
            return None
        return "\n".join([self.text, *(part for field in self.fields for part in field)])


def read_page(page: Any) -> PageView:
    """The page's visible text and its fields' values; None for what cannot be read (loading, gone)."""
    try:
        text, fields = page.locator(FIELDS).evaluate_all(_READ_JS)
    except Exception:  # noqa: BLE001 - a page that is loading or gone has nothing to read
        return PageView(None, None)
    return PageView(text if isinstance(text, str) else None, [(str(v), str(p)) for v, p in fields or []])


def masks(page: Any, view: PageView, redactor: Redactor, typed_into: list[Any]) -> list[Any]:
    """Locators to paint over: fields typed into, fields holding a secret, elements showing one in any form."""
    if not redactor:
        return list(typed_into)
    found = list(typed_into)
    for index, (value, placeholder) in enumerate(view.fields or []):
        if redactor.mentions(value) or redactor.mentions(placeholder):
            found.append(page.locator(FIELDS).nth(index))
    # get_by_text matches case-insensitively and with collapsed whitespace; an encoded form shown on the
    # page (a URL-encoded token, an entity) is matched by the words the page really shows.
    shown = set(redactor.secrets)
    if view.text:
        shown |= {view.text[m.start : m.end] for m in redactor.find(view.text) if not m.embedded}
    found += [page.get_by_text(text.strip()) for text in sorted(shown) if text.strip()]
    return found


def take(page: Any, path: Path, redactor: Redactor, typed_into: list[Any]) -> tuple[bool, str | None]:
    """Take a masked screenshot at `path`; returns whether it was kept, and what the page showed.

    The page may change while the picture is taken (a page still loading after a click): then the masks
    are worked out again for what it shows now and the picture retaken once; a page still changing and
    showing a secret is not kept. Raises whatever Playwright raises (the caller keeps the run going)."""
    view = read_page(page)
    seen: list[str | None] = [view.seen]
    for _ in range(2):
        page.screenshot(path=str(path), mask=masks(page, view, redactor, typed_into), timeout=5000)
        after = read_page(page)
        seen.append(after.seen)
        # A page that moved on (still loading) is retaken only if it moved in a way the masks depend on: the
        # masks are locators resolved when the picture is taken, so the same secret texts and the same
        # secret-holding fields mean this picture is masked as a retake would be (half the cost of a shot).
        if after == view or (
            after.seen is not None and _mask_key(after, redactor) == _mask_key(view, redactor)
        ):
            return True, _joined(seen)
        view = after
    if redactor and (view.seen is None or redactor.mentions(view.seen)):
        path.unlink(missing_ok=True)
        return False, _joined(seen)
    return True, _joined(seen)


def _mask_key(view: PageView, redactor: Redactor) -> tuple[Any, ...] | None:
    """What the masks of a page depend on: which fields hold a secret, and which secret texts it shows."""
    if view.seen is None or view.fields is None:
        return None
    if not redactor:
        return ()
    fields = tuple(i for i, (v, p) in enumerate(view.fields) if redactor.mentions(v) or redactor.mentions(p))
    shown = frozenset(view.text[m.start : m.end] for m in redactor.find(view.text or "") if not m.embedded)
    return fields, shown


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
