"""The engine's own view of a page: reads and pictures through a DevTools session, kept out of the trace.

The reads, the masks and the pictures go through a DevTools session of their own (a Lens), not through
Playwright's page API: they are the engine looking, not steps of the run, so they leave no action in the
trace. That is also what makes them cheap: every traced Playwright call takes a DOM snapshot (about 10 ms
here), and a picture taken through page.screenshot() with masks cost about 125 ms where a Lens takes
about 35 ms, two frames of Chromium's 60 Hz clock (bench/bench_engine.py's share_of_run).

What changed on a page is known without hashing all of it. A MutationObserver, set up by the first read of each
document, counts the changes to its markup; with the document's own identity, the fields' values, what is
checked, scrolled and focused, and Chromium's own count of style and layout passes (a style sheet edited by a
script changes no markup), it tells a page that looks as the last picture left it. The visible text is
read afresh each time (what CSS shows or hides changes it without a change of markup) but compared with the text
last sent in the page itself, and sent again only when it differs: on a large page (a 3 MB NetSuite form) the copy
of the text to this process was most of a read's cost (bench/bench_large_page.py).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

MASK_COLOUR = "#FF00FF"  # Playwright's own mask colour: evidence readers know it
_TYPED = "Symbol.for('runbook.typed-secret')"  # marks a field typed a secret into; invisible to the DOM
MARK_FIELD_JS = f"e => {{ e[{_TYPED}] = true; }}"  # run on the field fill() typed a secret into

# The page's change counter and the text last sent, set up once per document. Our own masks (a <runbook-masks>
# element) are not a change.
_STATE_JS = """const lensState = () => {
  const key = Symbol.for('runbook.lens');
  let st = window[key];
  if (st && st.doc === document) return st;
  st = window[key] = {doc: document, gen: 1, text: undefined, textId: 0, roots: new WeakSet(),
                      id: Math.random().toString(36).slice(2)};
  const ours = n => n && n.nodeName === 'RUNBOOK-MASKS';
  const mine = r => ours(r.target) || (r.target.closest && r.target.closest('runbook-masks')) ||
    (r.type === 'childList' && [...r.addedNodes, ...r.removedNodes].every(ours));
  st.observer = new MutationObserver(records => { if (!records.every(mine)) st.gen++; });
  return st; };"""

# The fields in document order, open shadow roots included (as Playwright's CSS engine pierces them); each root
# is watched for changes from its first walk on.
_WALK_JS = """const walkPage = st => { const fields = [], ticks = [], roots = [document];
  const active = document.activeElement; let count = 0, focused = -1;
  const watch = root => { if (!st.roots.has(root)) { st.roots.add(root);
    st.observer.observe(root, {subtree: true, childList: true, attributes: true, characterData: true}); } };
  const walk = root => { watch(root); for (const e of root.querySelectorAll('*')) {
    const tag = e.tagName;  // cheaper than matches() over a large page's every element
    if (tag === 'INPUT' || tag === 'TEXTAREA') fields.push(e);
    if (tag === 'INPUT' || tag === 'OPTION') ticks.push(e);
    if (e === active) focused = count;
    count++;
    if (e.shadowRoot) { roots.push(e.shadowRoot); walk(e.shadowRoot); } } };
  walk(document);
  return {fields, ticks, roots, focused}; };"""

# The text (sent only when it differs from the text the caller holds: on a large page the copy is most of a
# read's cost), the fields, and how the page looks: the document, its change count, where it is scrolled, what is
# checked, selected and focused. Two reads with the same look show the same picture. With `unpaint`, the masks
# of a picture just taken are removed first.
_READ_JS = f"""((known, unpaint) => {{ {_STATE_JS} {_WALK_JS}
  if (unpaint) document.querySelectorAll('runbook-masks').forEach(e => e.remove());
  const st = lensState(); const {{fields, ticks, roots, focused}} = walkPage(st);
  const text = document.body ? document.body.innerText : null;
  if (text !== st.text) {{ st.text = text; st.textId++; }}
  const key = st.id + '.' + st.textId;
  const fresh = known !== key;
  const ticked = ticks.map(e => e.checked || e.selected ? 1 : 0).join('');
  const look = [st.gen, scrollX, scrollY, innerWidth, innerHeight, ticked, focused].join('|');
  const typed = fields.flatMap((e, i) => e[{_TYPED}] ? [i] : []);
  if (!typed.length && roots.some(r => [...r.querySelectorAll('[contenteditable]')].some(e => e[{_TYPED}])))
    typed.push(-1);  // an editable element, not a field, typed a secret into
  return [key, fresh, fresh ? text : null,
          fields.map(e => [String(e.value || ''), String(e.placeholder || '')]), look, roots.length - 1,
          typed, [location.href, st.id]]; }})"""

# Paint a box over each field named by index, each field typed a secret into, and the innermost elements whose
# text holds a needle (as get_by_text matches: whitespace collapsed, case folded). The text is searched from each
# root down, only into elements that hold a needle: a page without one is not searched element by element.
_PAINT_JS = f"""((indexes, needles) => {{ {_STATE_JS} {_WALK_JS}
  const {{fields, roots}} = walkPage(lensState());
  const norm = s => (s || '').replace(/\\s+/g, ' ').trim().toLowerCase();
  const wanted = needles.map(norm).filter(Boolean);
  const holds = e => {{ const t = norm(e.textContent); return wanted.some(n => t.includes(n)); }};
  const hit = new Set(indexes.map(i => fields[i]).filter(Boolean));
  for (const root of roots) for (const e of root.querySelectorAll('input, textarea, [contenteditable]'))
    if (e[{_TYPED}]) hit.add(e);
  const skip = e => /^(SCRIPT|STYLE|NOSCRIPT|TEMPLATE)$/.test(e.tagName);
  const visit = e => {{ const inner = [...e.children].filter(c => !skip(c) && holds(c));
    if (!inner.length) hit.add(e); else inner.forEach(visit); }};
  if (wanted.length) for (const root of roots) {{
    const top = root === document ? [document.documentElement] : [...root.children];
    top.filter(e => e && !skip(e) && holds(e)).forEach(visit); }}
  const box = document.createElement('runbook-masks');
  for (const e of hit) for (const r of e.getClientRects()) {{
    const m = document.createElement('div');
    m.style.cssText = `position:fixed;left:${{r.left}}px;top:${{r.top}}px;width:${{r.width}}px;` +
      `height:${{r.height}}px;background:{MASK_COLOUR};z-index:2147483647;pointer-events:none;margin:0;border:0;` +
      'padding:0';
    box.appendChild(m);
  }}
  document.documentElement.appendChild(box);
  return hit.size; }})"""


class LensError(Exception):
    """The page could not be read or pictured (loading, navigating, closed)."""


@dataclass(frozen=True)
class PageView:
    """What the page shows, read just before its screenshot."""

    text: str | None
    fields: list[tuple[str, str]] | None  # (value, placeholder) per field, in document order
    look: str | None = None  # how it looks: change count, scroll, size, ticks, focus (None: unknown)
    shadows: int = 0  # open shadow roots: their text is not in `text`
    typed: tuple[int, ...] = ()  # the fields typed a secret into (by index; -1: an editable element)
    document: tuple[str, str] | None = None  # its address and the identity the lens gave it (in memory only)
    restyled: str | None = None  # Chromium's count of style and layout passes so far

    @property
    def seen(self) -> str | None:
        if self.text is None or self.fields is None:
            return None
        return "\n".join([self.text, *(part for field in self.fields for part in field)])

    @property
    def known(self) -> bool:
        """Whether how it looks could be read (else it is never taken for an earlier picture's page)."""
        return self.look is not None and self.document is not None and self.restyled is not None

    def shows_as(self, other: PageView) -> bool:
        """Whether it shows what `other` shows, style and layout passes aside: across one picture, where
        painting the masks and removing them are passes of their own."""
        return self.known and other.known and self == replace(other, restyled=self.restyled)


class Lens:
    """The engine's own view of one page, through a DevTools session: reads and pictures kept out of the trace.

    Like page.screenshot(), a picture waits for the page to draw a frame: a page whose script never yields
    holds it up, as it holds up every Playwright call."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self._session: Any = None
        self._text: tuple[str, str | None] | None = None  # (the page's key for a text, that text)

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page; raises LensError if it could not be had."""
        try:
            reply = self._cdp().send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        except Exception as exc:  # noqa: BLE001 - closed, crashed, or the session went with the page
            raise LensError(str(exc)) from exc
        if "exceptionDetails" in reply:  # a navigation replaced the document mid-evaluation, for one
            raise LensError(str(reply["exceptionDetails"].get("text", "the page raised")))
        return reply.get("result", {}).get("value")

    def read(self, *, unpaint: bool = False) -> PageView:
        """The page's visible text and its fields' values; None for what cannot be read (loading, gone).

        The text is sent again only when it differs from the text this lens last had."""
        known = self._text[0] if self._text else None
        try:
            key, fresh, text, fields, look, shadows, typed, document = self.evaluate(
                f"{_READ_JS}({json.dumps(known)}, {json.dumps(unpaint)})"
            )
        except (LensError, TypeError, ValueError):  # nothing to read, or not what the script returns
            return PageView(None, None)
        if fresh or self._text is None:
            self._text = (str(key), text if isinstance(text, str) else None)
        return PageView(
            self._text[1],
            [(str(v), str(p)) for v, p in fields or []],
            look if isinstance(look, str) else None,
            shadows if isinstance(shadows, int) else 0,
            tuple(i for i in typed or [] if isinstance(i, int)),
            (str(document[0]), str(document[1]))
            if isinstance(document, list) and len(document) == 2
            else None,
            self._restyled(),
        )

    def _restyled(self) -> str | None:
        """How many times the page's style and layout were worked out so far: a page can change how it looks
        with no change of markup (a script editing a style sheet, an image arriving), never without these."""
        try:
            metrics = self._cdp().send("Performance.getMetrics")["metrics"]
        except Exception:  # noqa: BLE001 - closed: the caller's look is then unknown, and no picture is reused
            return None
        counts = {m["name"]: m["value"] for m in metrics}
        return f"{counts.get('RecalcStyleCount')}.{counts.get('LayoutCount')}"

    def settle(self, within_ms: int = 1500) -> None:
        """Wait (at most `within_ms`) for a document still being parsed to be parsed: just after a click
        committed a navigation, the new document has no root yet, and nothing of it can be read or masked. A
        parsed document without a body (an image, XML) is not waited for."""
        expression = (
            "new Promise(done => { if (document.readyState !== 'loading') return done(true);"
            " document.addEventListener('DOMContentLoaded', () => done(true), {once: true});"
            f" setTimeout(() => done(false), {within_ms}); }})"
        )
        try:
            self._cdp().send(
                "Runtime.evaluate", {"expression": expression, "awaitPromise": True, "returnByValue": True}
            )
        except Exception:  # noqa: BLE001 - the document went meanwhile: the caller reads again and sees
            pass

    def paint(self, indexes: list[int], needles: list[str]) -> None:
        """Paint the masks: the fields at `indexes`, the fields typed a secret into, the elements showing a needle."""
        self.evaluate(f"({_PAINT_JS})({json.dumps(indexes)}, {json.dumps(needles)})")

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
            session = self.page.context.new_cdp_session(self.page)
            session.send("Performance.enable")  # the style and layout counts of _restyled()
            self._session = session
        return self._session


def read_page(lens: Lens) -> PageView:
    """The page's visible text and its fields' values; None for what cannot be read (loading, gone)."""
    return lens.read()
