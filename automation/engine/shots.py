"""Screenshots that never show a secret: what to mask when one is taken, and what to withhold afterwards.

A screenshot is a picture: nothing can read a secret off it later. So what the page showed is read as text
when the picture is taken (its visible text, and the value and placeholder of every field), and kept in
memory only. That text decides the masks (fields typed a secret into, fields pre-filled with a secret,
elements showing one in any form), and, when a secret is learned later (an `extract ... secret: true`, an
answer, a sub-runbook's input), which earlier screenshots showed it: those are deleted and their steps say so.

The reads, the masks and the pictures go through a DevTools session of their own (a Lens), not through
Playwright's page API: they are the engine looking, not steps of the run, so they leave no action in the
trace. That is also what makes them cheap: every traced Playwright call takes a DOM snapshot (about 10 ms
here), and a picture taken through page.screenshot() with masks cost about 125 ms where a Lens takes
about 55 ms (bench/bench_engine.py's share_of_run).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from automation.redaction.redactor import Redactor
from automation.result import StepRecord

WITHHELD = "screenshot withheld: the page showed a value that was later found to be secret"
UNSTEADY = "screenshot withheld: the page kept changing while it showed a secret, so it could not be masked"
ATTEMPTS = 3  # pictures of a page that keeps changing, before it is given up on
MASK_COLOUR = "#FF00FF"  # Playwright's own mask colour: evidence readers know it
_TYPED = "Symbol.for('runbook.typed-secret')"  # marks a field typed a secret into; invisible to the DOM

# The fields in document order, open shadow roots included (as Playwright's CSS engine pierces them).
_FIELDS_JS = """const fields = []; const all = [];
  const walk = root => { for (const e of root.querySelectorAll('*')) { all.push(e);
    if (e.matches('input, textarea')) fields.push(e); if (e.shadowRoot) walk(e.shadowRoot); } };
  walk(document);"""
# The text and fields, and how the page looks: the document, where it is scrolled, a hash of its markup, what is
# checked, selected and focused. Two reads with the same look show the same picture.
_READ_JS = f"""(() => {{ {_FIELDS_JS}
  const hash = s => {{ let x = 2166136261;
    for (let i = 0; i < s.length; i++) {{ x ^= s.charCodeAt(i); x = Math.imul(x, 16777619); }}
    return (x >>> 0).toString(36); }};
  const ticked = all.filter(e => e.matches('input, option')).map(e => e.checked || e.selected ? 1 : 0).join('');
  const focused = all.indexOf(document.activeElement);
  const look = [location.href, performance.timeOrigin, scrollX, scrollY, innerWidth, innerHeight,
                hash(document.documentElement.outerHTML), ticked, focused].join('|');
  return [document.body ? document.body.innerText : null,
          fields.map(e => [String(e.value || ''), String(e.placeholder || '')]), look]; }})()"""
# Paint a box over each field named by index, each field typed a secret into, and the innermost elements whose
# text holds a needle (as get_by_text matches: whitespace collapsed, case folded).
_PAINT_JS = """((indexes, needles) => { FIELDS
  const norm = s => (s || '').replace(/\\s+/g, ' ').trim().toLowerCase();
  const wanted = needles.map(norm).filter(Boolean);
  const holds = e => { const t = norm(e.textContent); return wanted.some(n => t.includes(n)); };
  const hit = new Set(indexes.map(i => fields[i]).filter(Boolean));
  for (const e of all) {
    if (e[TYPED]) hit.add(e);
    if (!wanted.length || /^(SCRIPT|STYLE|NOSCRIPT|TEMPLATE)$/.test(e.tagName) || !holds(e)) continue;
    if (![...e.children].some(holds)) hit.add(e);
  }
  const box = document.createElement('runbook-masks');
  for (const e of hit) for (const r of e.getClientRects()) {
    const m = document.createElement('div');
    m.style.cssText = `position:fixed;left:${r.left}px;top:${r.top}px;width:${r.width}px;height:${r.height}px;` +
      'background:COLOUR;z-index:2147483647;pointer-events:none;margin:0;border:0;padding:0';
    box.appendChild(m);
  }
  document.documentElement.appendChild(box);
  return hit.size; })"""
_PAINT_JS = _PAINT_JS.replace("FIELDS", _FIELDS_JS).replace("TYPED", _TYPED).replace("COLOUR", MASK_COLOUR)
_UNPAINT_JS = "document.querySelectorAll('runbook-masks').forEach(e => e.remove())"
MARK_FIELD_JS = f"e => {{ e[{_TYPED}] = true; }}"  # run on the field fill() typed a secret into


class LensError(Exception):
    """The page could not be read or pictured (loading, navigating, closed)."""


class Lens:
    """The engine's own view of one page, through a DevTools session: reads and pictures kept out of the trace.

    Like page.screenshot(), a picture waits for the page to draw a frame: a page whose script never yields
    holds it up, as it holds up every Playwright call."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self._session: Any = None

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page; raises LensError if it could not be had."""
        try:
            reply = self._cdp().send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        except Exception as exc:  # noqa: BLE001 - closed, crashed, or the session went with the page
            raise LensError(str(exc)) from exc
        if "exceptionDetails" in reply:  # a navigation replaced the document mid-evaluation, for one
            raise LensError(str(reply["exceptionDetails"].get("text", "the page raised")))
        return reply.get("result", {}).get("value")

    def capture(self, path: Path) -> None:
        """Save what the page shows now as a PNG at `path`."""
        params = {"format": "png", "optimizeForSpeed": True}  # a faster encoder: a larger, same-looking file
        try:
            data = self._cdp().send("Page.captureScreenshot", params)["data"]
        except Exception as exc:  # noqa: BLE001 - closed or crashed
            raise LensError(str(exc)) from exc
        path.write_bytes(base64.b64decode(data))

    def _cdp(self) -> Any:
        if self._session is None:
            self._session = self.page.context.new_cdp_session(self.page)
        return self._session


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
    fields: list[tuple[str, str]] | None  # (value, placeholder) per field, in document order
    look: str | None = None  # how it looks (kept in memory only: its URL may hold a secret)

    @property
    def seen(self) -> str | None:
        if self.text is None or self.fields is None:
            return None
        return "\n".join([self.text, *(part for field in self.fields for part in field)])


def read_page(lens: Lens) -> PageView:
    """The page's visible text and its fields' values; None for what cannot be read (loading, gone)."""
    try:
        text, fields, look = lens.evaluate(_READ_JS)
    except (LensError, TypeError, ValueError):  # nothing to read, or not what the script returns
        return PageView(None, None)
    return PageView(
        text if isinstance(text, str) else None,
        [(str(v), str(p)) for v, p in fields or []],
        look if isinstance(look, str) else None,
    )


def mask_plan(view: PageView, redactor: Redactor) -> tuple[list[int], list[str]]:
    """What to paint over: the fields holding a secret (by index), and the texts to find on the page."""
    if not redactor:
        return [], []
    fields = [i for i, (v, p) in enumerate(view.fields or []) if redactor.mentions(v) or redactor.mentions(p)]
    # An encoded form shown on the page (a URL-encoded token, an entity) is found by the words it really shows.
    shown = set(redactor.secrets)
    if view.text:
        shown |= {view.text[m.start : m.end] for m in redactor.find(view.text) if not m.embedded}
    return fields, sorted(text.strip() for text in shown if text.strip())


def _picture(lens: Lens, path: Path, plan: tuple[list[int], list[str]]) -> None:
    """The picture with its masks painted for the capture only (fields typed into are always painted)."""
    lens.evaluate(f"({_PAINT_JS})({json.dumps(plan[0])}, {json.dumps(plan[1])})")
    try:
        lens.capture(path)
    finally:
        try:
            lens.evaluate(_UNPAINT_JS)
        except LensError:  # the page went: its masks went with it
            pass


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
    view = read_page(lens)
    if last is not None and view.look is not None and view == last:
        return Picture(True, view.seen, view, unchanged=True)
    seen: list[str | None] = [view.seen]
    for attempt in range(ATTEMPTS):
        try:
            _picture(lens, path, mask_plan(view, redactor))
        except LensError:  # the document went mid-picture (a navigation committed): picture the new one
            if attempt == ATTEMPTS - 1:
                raise
            view = read_page(lens)
            seen.append(view.seen)
            continue
        after = read_page(lens)
        seen.append(after.seen)
        # The masks were painted for what the page showed before: the same secret texts and the same
        # secret-holding fields after mean the picture is masked as a retake would be.
        if after == view or (
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
