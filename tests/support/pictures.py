"""Read a run's pictures back as a person would: OCR for any secret, and the mask's colour over every place the
page showed one. The leak tests' proof that no picture shows a secret.

It stands apart from the engine's masking: what the page showed is read by this module's own script (every
character's box, every field's value), and secrets are found in it by this module's own matching.

How a test uses it
    spy = PictureSpy(controls_folder)        # outside the folder the leak scan reads: controls show secrets
    spy.install(monkeypatch)                 # before the run: it watches the engine take each picture
    result = run(...)
    report = check_pictures(evidence_dir, spy, secrets)
    assert not report.problems, report.problems

What it checks, picture by picture (every PNG under screenshots/, and every picture report.html embeds)
- coverage: each place the page showed a secret (the boxes of its characters in the page's text, a field holding
  it) is painted in MASK_RGB over at least COVERED of its pixels;
- a positive control: where the page showed a secret as text a reader could read (page text, or the value of a
  field that is not a password), OCR of the unmasked picture of the same page, taken just before, reads it: so
  the page's fonts can be read and the picture is not blank;
- OCR of the picture itself reads no secret (case and whitespace ignored; 0/O, 1/l/I/|/!, 5/S taken as the same),
  neither on the whole picture nor at the places where the control read it (a reading of a whole page misses
  what a reading of the place finds: tesseract skips the text inside a field's border on a page).
A secret OCR could not read on any control of the run is not OCR-checked (unless `ocr_check="always"`), and the
report says so; a problem never shows a secret.

Pictures are decoded by support/png.py (standard library only) and read by support/ocr.py (Debian's tesseract).
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from support.ocr import ocr, ocr_pattern, reads
from support.png import Picture, read_png, stacked

MASK_RGB = (0xFF, 0x00, 0xFF)  # the engine's mask colour (automation/engine/shots.py MASK_COLOUR)
COVERED = 0.95  # share of a place's pixels in the mask colour for it to count as covered


# -- what the page showed ----------------------------------------------------------------------------------------

# Every character of the page's text with its box (null: not drawn), in document order, open shadow roots
# included; every field with its type, value, placeholder, box and the box of its text (inside its border and
# padding); the viewport's size in CSS pixels.
SNAPSHOT_JS = """(() => {
  const chars = [], fields = [], range = document.createRange();
  const hidden = /^(SCRIPT|STYLE|NOSCRIPT|TEMPLATE|TITLE|TEXTAREA|OPTION)$/;
  const box = r => r && r.width > 0 && r.height > 0 ? [r.left, r.top, r.width, r.height] : null;
  const inner = e => { const r = e.getBoundingClientRect(), s = getComputedStyle(e), px = v => parseFloat(v) || 0;
    const left = px(s.borderLeftWidth) + px(s.paddingLeft), top = px(s.borderTopWidth) + px(s.paddingTop);
    return box({left: r.left + left, top: r.top + top,
                width: r.width - left - px(s.borderRightWidth) - px(s.paddingRight),
                height: r.height - top - px(s.borderBottomWidth) - px(s.paddingBottom)}); };
  const visit = root => {
    const walk = document.createTreeWalker(root, NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT);
    for (let n = walk.nextNode(); n; n = walk.nextNode()) {
      if (n.nodeType === 1) {
        if (n.matches('input, textarea, select')) {
          const value = n.tagName === 'SELECT' ? (n.selectedOptions[0] || {}).text || '' : String(n.value || '');
          fields.push([n.tagName.toLowerCase(), String(n.type || ''), value, String(n.placeholder || ''),
                       box(n.getBoundingClientRect()), inner(n)]);
        }
        if (n.shadowRoot) visit(n.shadowRoot);
        continue;
      }
      if (n.parentElement && hidden.test(n.parentElement.tagName)) continue;
      let i = 0;
      for (const ch of n.data) {
        range.setStart(n, i); range.setEnd(n, i + ch.length); i += ch.length;
        chars.push([ch, box(range.getClientRects()[0])]);
      }
    }
  };
  visit(document);
  return {width: innerWidth, height: innerHeight, chars, fields};
})()"""

Box = tuple[float, float, float, float]  # left, top, width, height in CSS pixels


@dataclass(frozen=True)
class Field:
    tag: str
    type: str
    value: str
    placeholder: str
    box: Box | None
    text_box: Box | None  # inside its border and padding: where its text is drawn


@dataclass(frozen=True)
class PageSeen:
    """What the page showed just before a picture: its text character by character, its fields, its size."""

    width: float
    height: float
    chars: list[tuple[str, Box | None]]
    fields: list[Field]

    @classmethod
    def parse(cls, raw: Any) -> PageSeen:
        """From SNAPSHOT_JS's value; raises ValueError when it is not one."""
        try:
            return cls(
                float(raw["width"]),
                float(raw["height"]),
                [(str(ch), _box(b)) for ch, b in raw["chars"]],
                [Field(t, k, v, p, _box(b), _box(i)) for t, k, v, p, b, i in raw["fields"]],
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a page snapshot: {exc}") from exc


def _box(raw: Any) -> Box | None:
    if not raw:
        return None
    left, top, width, height = (float(v) for v in raw)
    return left, top, width, height


@dataclass(frozen=True)
class Place:
    """Where a page showed a secret: the boxes of its characters (or a field's box), and where a reader reads
    it (None: nobody can, as in a password field)."""

    what: str  # "text" or "<input type=password>"...; never the secret
    boxes: tuple[Box, ...]
    read_at: tuple[Box, ...] | None

    @property
    def readable(self) -> bool:
        return self.read_at is not None


def _canon(text: str) -> str:
    return re.sub(r"\s+", " ", text.casefold()).strip()


def places(seen: PageSeen, secret: str) -> list[Place]:
    """Every place `seen` showed `secret`: in its text, in a field's value, or in an empty field's placeholder
    (case and runs of whitespace ignored). A page that shows a value reformatted ("(555) 123-4567") shows that
    form: give it as a secret of its own."""
    needle = _canon(secret)
    if not needle:
        return []
    found = [Place("text", boxes, boxes) for boxes in _text_matches(seen.chars, needle)]
    for f in seen.fields:
        if needle in _canon(f.value or f.placeholder) and f.box is not None:
            kind = f"<{f.tag} type={f.type}>" if f.tag == "input" else f"<{f.tag}>"
            read_at = (f.text_box,) if f.text_box and f.type != "password" else None
            found.append(Place(kind, (f.box,), read_at))
    return found


def _text_matches(chars: Sequence[tuple[str, Box | None]], needle: str) -> list[tuple[Box, ...]]:
    # The page's text folded character by character, each folded character pointing back to the one it came
    # from: "ß" folds to "ss" and both point to it.
    folded: list[str] = []
    origin: list[int] = []
    for i, (ch, _) in enumerate(chars):
        if ch.isspace():
            if folded and folded[-1] != " ":
                folded.append(" ")
                origin.append(i)
            continue
        for part in ch.casefold():
            folded.append(part)
            origin.append(i)
    text = "".join(folded)
    matches = []
    start = text.find(needle)
    while start != -1:
        picked = sorted({origin[j] for j in range(start, start + len(needle))})
        boxes = tuple(b for b in (chars[i][1] for i in picked) if b is not None)
        if boxes:
            matches.append(boxes)
        start = text.find(needle, start + 1)
    return matches


# -- watching the engine take its pictures -----------------------------------------------------------------------


@dataclass(frozen=True)
class Taken:
    """What the spy saw just before the engine painted its masks and took a picture."""

    seen: PageSeen | None  # None: the page could not be read (see error)
    control: Path | None  # the same page, unmasked
    error: str | None = None


class PictureSpy:
    """Watches the engine take each picture: just before it paints its masks, the page is read (SNAPSHOT_JS)
    and pictured unmasked (the positive control), through the engine's own DevTools session, so that nothing of
    this reaches the trace. Controls are written under `controls`: keep it outside every scanned folder."""

    def __init__(self, controls: Path) -> None:
        self.controls = controls
        self.taken: dict[Path, Taken] = {}
        self._count = 0

    def install(self, monkeypatch: Any) -> None:
        """Wrap the engine's picture taking (automation.engine.shots._picture) for the rest of the test."""
        from automation.engine import shots

        original = shots._picture

        def spied(lens: Any, path: Path, *rest: Any) -> Any:
            self.before(lens, Path(path))
            return original(lens, path, *rest)

        monkeypatch.setattr(shots, "_picture", spied)

    def before(self, lens: Any, path: Path) -> None:
        """Read the page and picture it unmasked; LensError (the page went) goes to the engine, which retakes."""
        self.controls.mkdir(parents=True, exist_ok=True)
        self._count += 1
        control = self.controls / f"{self._count:04d}-{path.name}"
        raw = lens.evaluate(SNAPSHOT_JS)
        lens.capture(control)
        try:
            self.taken[path.resolve()] = Taken(PageSeen.parse(raw), control)
        except ValueError as exc:
            self.taken[path.resolve()] = Taken(None, control, str(exc))


# -- the check ---------------------------------------------------------------------------------------------------


@dataclass
class Report:
    """What check_pictures found. `problems` never holds a secret: secrets are named by their index."""

    problems: list[str] = field(default_factory=list)
    pictures: int = 0  # pictures checked
    places: int = 0  # places a secret was shown, checked for the mask
    controls: int = 0  # positive controls: OCR read a secret on the unmasked picture
    read: int = 0  # pictures read by OCR
    unreadable: list[int] = field(default_factory=list)  # secrets no control could read: not OCR-checked


def check_pictures(
    folder: Path,
    spy: PictureSpy | None,
    secrets: Iterable[str],
    *,
    ocr_check: Literal["proven", "always"] = "proven",
    require_control: bool = True,
) -> Report:
    """Check every picture of the run folder `folder` (screenshots/*.png and report.html's pictures).

    Masks: every place the page showed a secret just before the picture is covered. Positive controls: OCR
    reads the secret on the unmasked picture of each page that showed it readably (`require_control`: a page
    where it cannot is a problem). OCR: no picture reads as holding a secret; with `ocr_check="proven"` only the
    secrets some control read are looked for (and the pictures are only read if there is one). Without a spy (a
    run in another process, where it cannot watch), the pictures are only read by OCR, for every secret."""
    secrets = [s for s in secrets if s.strip()]
    ocr_check = "always" if spy is None else ocr_check
    report = Report()
    pictures = _pictures(folder, report)
    decoded: list[tuple[str, Picture]] = []
    proven: set[int] = set()
    for name, path, data in pictures:
        report.pictures += 1
        try:
            picture = read_png(data)
        except ValueError as exc:
            report.problems.append(f"{name} cannot be read: {exc}")
            continue
        decoded.append((name, picture))
        if path is None or spy is None:
            continue  # a picture of the report that no screenshot file holds, or no spy: OCR only
        taken = spy.taken.get(path.resolve())
        if taken is None or taken.seen is None:
            why = (
                taken.error if taken else "the engine took it without the spy seeing (is the spy installed?)"
            )
            report.problems.append(f"{name}: what the page showed before it is unknown: {why}")
            continue
        proven |= _check_masks_and_controls(name, picture, taken, secrets, report, require_control)
    looked_for = [
        k
        for k, s in enumerate(secrets)
        if (k in proven or ocr_check == "always") and ocr_pattern(s) is not None
    ]
    report.unreadable = [k for k in range(len(secrets)) if k not in proven]
    for name, picture in decoded if looked_for else []:
        text = ocr(picture)
        report.read += 1
        report.problems += [f"OCR reads secret #{k} in {name}" for k in looked_for if reads(text, secrets[k])]
    return report


def _pictures(folder: Path, report: Report) -> list[tuple[str, Path | None, bytes]]:
    """(name, file or None, bytes) of every screenshot, and of every picture report.html embeds that is not one."""
    shots = sorted((folder / "screenshots").glob("*.png"))
    found: list[tuple[str, Path | None, bytes]] = [
        (f"screenshots/{p.name}", p, p.read_bytes()) for p in shots
    ]
    files = {data for _, _, data in found}
    page = folder / "report.html"
    if page.is_file():
        uris = re.findall(r"data:image/[a-z+]+;base64,([A-Za-z0-9+/=]+)", page.read_text(errors="replace"))
        for n, uri in enumerate(uris, 1):
            try:
                data = base64.b64decode(uri, validate=True)
            except binascii.Error:
                report.problems.append(f"report.html picture #{n} cannot be decoded")
                continue
            if data not in files:
                found.append((f"report.html picture #{n}", None, data))
    return found


def _check_masks_and_controls(
    name: str, picture: Picture, taken: Taken, secrets: list[str], report: Report, require_control: bool
) -> set[int]:
    """Check the masks over every place a secret was shown; return the secrets the control read."""
    assert taken.seen is not None
    seen = taken.seen
    scale = picture.width / seen.width if seen.width else 1.0
    crops: dict[int, list[tuple[int, int, int, int]]] = {}
    for k, secret in enumerate(secrets):
        for place in places(seen, secret):
            masked, total = 0, 0
            for box in place.boxes:
                m, t = picture.share_of(MASK_RGB, *_inside(box, scale))
                masked, total = masked + m, total + t
            if total == 0:
                continue  # drawn outside the picture
            report.places += 1
            if masked < COVERED * total:
                where = ", ".join(f"{b[0]:.0f},{b[1]:.0f} {b[2]:.0f}x{b[3]:.0f}" for b in place.boxes[:3])
                report.problems.append(
                    f"{name}: {place.what} showing secret #{k} (at {where}) is {masked / total:.0%} masked"
                )
            if place.read_at and ocr_pattern(secret) is not None:
                crops.setdefault(k, []).append(_around(place.read_at, scale))
    if not crops:
        return set()
    try:
        control = read_png(taken.control.read_bytes()) if taken.control else Picture(0, 0, b"")
    except (OSError, ValueError) as exc:
        control = Picture(0, 0, b"")
        report.problems.append(f"{name}: its control picture cannot be read: {exc}")
    # Read as the pictures are (same scale, same mode): what a control reads, the check of a picture would.
    text = ocr(stacked([control.crop(*box) for boxes in crops.values() for box in boxes]))
    read = {k for k in crops if reads(text, secrets[k], alone=False)}
    report.controls += len(read)
    if require_control:
        report.problems += [
            f"{name}: OCR cannot read secret #{k} on the unmasked picture of its page: a picture it could not "
            "read would pass unseen (make the page's text larger, or check the picture is not blank)"
            for k in crops
            if k not in read
        ]
    # The same places of the kept picture, read the same way, must not read it: a reading of a whole page can
    # miss what a reading of the place finds (tesseract skips the text inside a field's border on a page).
    proven = [k for k in crops if k in read]
    if proven:
        kept = ocr(stacked([picture.crop(*box) for k in proven for box in crops[k]]))
        report.problems += [
            f"OCR reads secret #{k} in {name} where the page showed it"
            for k in proven
            if reads(kept, secrets[k], alone=False)
        ]
    return read


def _inside(box: Box, scale: float) -> tuple[int, int, int, int]:
    """A CSS box as the pixels wholly inside it (its edges are blended with what is around)."""
    left, top, width, height = (v * scale for v in box)
    return math.ceil(left), math.ceil(top), math.floor(left + width), math.floor(top + height)


def _around(boxes: Sequence[Box], scale: float, pad: int = 2) -> tuple[int, int, int, int]:
    """The pixels around a place's boxes, with a margin: what a reader of that place looks at."""
    left = min(b[0] for b in boxes) * scale - pad
    top = min(b[1] for b in boxes) * scale - pad
    right = max(b[0] + b[2] for b in boxes) * scale + pad
    bottom = max(b[1] + b[3] for b in boxes) * scale + pad
    return int(left), int(top), int(right) + 1, int(bottom) + 1
