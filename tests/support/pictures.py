"""Read a run's pictures back as a person would: OCR for any secret, and the mask's colour over every place the
page showed one. The leak tests' proof that no picture shows a secret.

It stands apart from the engine's masking: what the page showed is read by this module's own script (every
character's box, every field's value), secrets are found in it by this module's own matching, and pictures are
decoded here (PNG, standard library only) and read by Debian's `tesseract` (tesseract-ocr), run as a program.

How a test uses it
    spy = PictureSpy(controls_folder)        # outside the folder the leak scan reads: controls show secrets
    spy.install(monkeypatch)                 # before the run: it watches the engine take each picture
    result = run(...)
    report = check_pictures(evidence_dir, spy, secrets)
    assert not report.problems, report.problems

What it checks, picture by picture (every PNG under screenshots/, and every picture report.html embeds)
- coverage: each place the page showed a secret (the boxes of its characters in the page's text, a field holding
  it) is painted in MASK_COLOUR over at least COVERED of its pixels;
- a positive control: where the page showed a secret as text a reader could read (page text, or the value of a
  field that is not a password), OCR of the unmasked picture of the same page, taken just before, reads it: so
  the page's fonts can be read and the picture is not blank;
- OCR of the picture itself reads no secret (case and whitespace ignored; 0/O, 1/l/I/|/!, 5/S taken as the same).
A secret OCR could not read on any control of the run is not OCR-checked (unless `ocr="always"`), and the report
says so; a problem never shows a secret.
"""

from __future__ import annotations

import base64
import binascii
import math
import os
import re
import shutil
import struct
import subprocess
import unicodedata
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

MASK_RGB = (0xFF, 0x00, 0xFF)  # the engine's mask colour (automation/engine/shots.py MASK_COLOUR)
COVERED = 0.95  # share of a place's pixels in the mask colour for it to count as covered
OCR_SCALE = 2  # pictures are scaled up before OCR: 16 px screen text reads far better at twice its size
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_TOLERANCE = 24  # per channel, around MASK_RGB


# -- pictures ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Picture:
    """An 8-bit RGB picture: `rgb` holds its rows top to bottom, three bytes a pixel."""

    width: int
    height: int
    rgb: bytes

    def pixel(self, x: int, y: int) -> tuple[int, int, int]:
        i = (y * self.width + x) * 3
        return self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]

    def crop(self, left: int, top: int, right: int, bottom: int) -> Picture:
        """The part inside [left, right) x [top, bottom), clipped to the picture."""
        left, right = max(0, left), min(self.width, right)
        top, bottom = max(0, top), min(self.height, bottom)
        if right <= left or bottom <= top:
            return Picture(0, 0, b"")
        stride = self.width * 3
        rows = (self.rgb[y * stride + left * 3 : y * stride + right * 3] for y in range(top, bottom))
        return Picture(right - left, bottom - top, b"".join(rows))

    def scaled(self, factor: int) -> Picture:
        """The picture `factor` times larger, each pixel repeated (nearest neighbour)."""
        if factor == 1:
            return self
        wide = bytearray(len(self.rgb) * factor)
        for copy in range(factor):  # every pixel, `factor` times in a row: rows stay rows
            for channel in range(3):
                wide[copy * 3 + channel :: 3 * factor] = self.rgb[channel::3]
        stride = self.width * 3 * factor
        rows = (bytes(wide[y * stride : (y + 1) * stride]) * factor for y in range(self.height))
        return Picture(self.width * factor, self.height * factor, b"".join(rows))

    def ppm(self) -> bytes:
        """The picture as a binary PPM (P6), which tesseract reads from its standard input."""
        return b"P6\n%d %d\n255\n" % (self.width, self.height) + self.rgb

    def masked_share(self, left: int, top: int, right: int, bottom: int) -> tuple[int, int]:
        """(pixels in the mask colour, pixels) inside [left, right) x [top, bottom), clipped to the picture."""
        part = self.crop(left, top, right, bottom)
        pixels = part.width * part.height
        return _count_mask(part.rgb), pixels


def _count_mask(rgb: bytes) -> int:
    # Each channel tested on its own strided slice: a few C-level passes rather than a loop per pixel.
    red = rgb[0::3].translate(_NEAR_HIGH)
    green = rgb[1::3].translate(_NEAR_LOW)
    blue = rgb[2::3].translate(_NEAR_HIGH)
    both = (int.from_bytes(red, "big") & int.from_bytes(green, "big") & int.from_bytes(blue, "big")).to_bytes(
        len(red), "big"
    )
    return both.count(1)


_NEAR_HIGH = bytes(1 if v >= 255 - _TOLERANCE else 0 for v in range(256))
_NEAR_LOW = bytes(1 if v <= _TOLERANCE else 0 for v in range(256))


def read_png(data: bytes) -> Picture:
    """Decode an 8-bit, non-interlaced PNG (grey, RGB, with or without alpha; alpha dropped).

    Raises ValueError when the bytes are not such a PNG (damaged, truncated, another format)."""
    if not data.startswith(PNG_MAGIC):
        raise ValueError("not a PNG (no PNG signature)")
    pos, header, idat = len(PNG_MAGIC), b"", bytearray()
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if (
            len(body) != length
            or zlib.crc32(kind + body)
            != struct.unpack(">I", data[pos + 8 + length : pos + 12 + length] or b"\0\0\0\0")[0]
        ):
            raise ValueError(f"PNG chunk {kind!r} is truncated or damaged (bad CRC)")
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
        pos += 12 + length
    else:
        raise ValueError("PNG ends before its IEND chunk")
    if len(header) != 13:
        raise ValueError("PNG has no IHDR chunk")
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    channels = {0: 1, 2: 3, 4: 2, 6: 4}.get(colour)
    if depth != 8 or channels is None or interlace:
        raise ValueError(
            f"PNG kind not read here (bit depth {depth}, colour type {colour}, interlace {interlace})"
        )
    try:
        raw = zlib.decompress(bytes(idat))
    except zlib.error as exc:
        raise ValueError(f"PNG image data cannot be inflated: {exc}") from exc
    stride = width * channels
    if len(raw) != height * (stride + 1):
        raise ValueError(f"PNG image data holds {len(raw)} bytes, not {height * (stride + 1)}")
    rows = _unfilter(raw, height, stride, channels)
    return Picture(width, height, _to_rgb(rows, channels))


def _unfilter(raw: bytes, height: int, stride: int, bpp: int) -> bytes:
    out = bytearray()
    previous = bytes(stride)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)]
        if kind == 0:
            row = line
        elif kind == 1:
            row = _prefix_sum(line, bpp)
        elif kind == 2:
            row = _add_bytes(line, previous)
        elif kind in (3, 4):
            row = _sequential(kind, line, previous, bpp)
        else:
            raise ValueError(f"PNG row {y} has an unknown filter type {kind}")
        out += row
        previous = row
    return bytes(out)


def _add_bytes(a: bytes, b: bytes) -> bytes:
    """Bytewise (a + b) mod 256, on whole rows at once (no carry crosses a byte)."""
    n = len(a)
    low, high = _masks(n)
    x, y = int.from_bytes(a, "big"), int.from_bytes(b, "big")
    return (((x & low) + (y & low)) ^ ((x ^ y) & high)).to_bytes(n, "big")


def _prefix_sum(line: bytes, bpp: int) -> bytes:
    """The Sub filter undone: each byte plus the decoded byte `bpp` before it, as a running sum by doubling."""
    row, shift = line, bpp
    while shift < len(line):
        row = _add_bytes(row, bytes(shift) + row[:-shift])
        shift *= 2
    return row


def _sequential(kind: int, line: bytes, previous: bytes, bpp: int) -> bytes:
    row = bytearray(line)
    for i in range(len(row)):
        left = row[i - bpp] if i >= bpp else 0
        up = previous[i]
        if kind == 3:
            row[i] = (row[i] + (left + up) // 2) & 0xFF
        else:
            corner = previous[i - bpp] if i >= bpp else 0
            p = left + up - corner
            pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
            guess = left if pa <= pb and pa <= pc else up if pb <= pc else corner
            row[i] = (row[i] + guess) & 0xFF
    return bytes(row)


_MASKS: dict[int, tuple[int, int]] = {}


def _masks(n: int) -> tuple[int, int]:
    if n not in _MASKS:
        _MASKS[n] = (int.from_bytes(b"\x7f" * n, "big"), int.from_bytes(b"\x80" * n, "big"))
    return _MASKS[n]


def _to_rgb(pixels: bytes, channels: int) -> bytes:
    if channels == 3:
        return pixels
    rgb = bytearray(len(pixels) // channels * 3)
    if channels in (1, 2):  # grey: the same value in each channel
        for c in range(3):
            rgb[c::3] = pixels[0::channels]
    else:
        for c in range(3):
            rgb[c::3] = pixels[c::4]
    return bytes(rgb)


# -- OCR ---------------------------------------------------------------------------------------------------------


def tesseract() -> str:
    """The tesseract program; raises RuntimeError saying what to install when it is missing."""
    found = shutil.which("tesseract")
    if found is None:
        raise RuntimeError(
            "tesseract is not installed: install Debian's tesseract-ocr (apt-get install tesseract-ocr)"
        )
    return found


def ocr(picture: Picture, *, scale: int = OCR_SCALE) -> str:
    """The text tesseract reads on `picture`, scaled up `scale` times, as sparse text (a page, not a book).

    Raises RuntimeError when tesseract is missing or fails."""
    if picture.width == 0 or picture.height == 0:
        return ""
    # One thread a reading: the tests run beside Chromium on few cores, and OpenMP's spinning slows everyone.
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    done = subprocess.run(
        [tesseract(), "stdin", "stdout", "--psm", "11", "-l", "eng"],
        input=picture.scaled(scale).ppm(),
        capture_output=True,
        env=env,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"tesseract failed ({done.returncode}): {done.stderr.decode(errors='replace')[-500:]}"
        )
    return done.stdout.decode("utf-8", errors="replace")


# Characters OCR takes for one another: each group matches any of its members.
_CONFUSED = ("0o", "1li|!", "5s")
_GROUP = {c: group for group in _CONFUSED for c in group}
_DASHES = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"), "-")
MIN_READABLE = 4  # letters and digits a secret needs for OCR to be asked about it


def fold(text: str) -> str:
    """Text as compared with OCR: compatibility forms (NFKC), case folded, dashes as "-"."""
    return unicodedata.normalize("NFKC", text).casefold().translate(_DASHES)


def ocr_pattern(secret: str, *, alone: bool = True) -> re.Pattern[str] | None:
    """How `secret` looks in folded OCR text, or None if it has too few letters and digits to be told apart.

    Its letters and digits in order (confused characters as one), with up to three spaces or symbols between
    any two: OCR drops or misreads symbols, and a page may show a value reformatted ("(555) 123-4567"). A code
    (digits only) is not part of a longer number, unless `alone` is False (where it is known to be shown, as
    in a field, whose caret OCR may read as a "1")."""
    tokens = [c for c in fold(secret) if c.isalnum() or c in _GROUP]
    if sum(1 for c in tokens if c.isalnum()) < MIN_READABLE:
        return None
    parts = [f"[{re.escape(_GROUP[c])}]" if c in _GROUP else re.escape(c) for c in tokens]
    body = r"[\W_]{0,3}".join(parts)
    if alone and all(c.isdigit() for c in tokens):
        body = rf"(?<![0-9]){body}(?![0-9])"
    return re.compile(body)


def reads(text: str, secret: str, *, alone: bool = True) -> bool:
    """Whether OCR text `text` holds `secret` (False for a secret too short to be told apart)."""
    pattern = ocr_pattern(secret, alone=alone)
    return pattern is not None and pattern.search(fold(text)) is not None


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


def _alnum(text: str) -> str:
    return "".join(c for c in text.casefold() if c.isalnum())


def places(seen: PageSeen, secret: str) -> list[Place]:
    """Every place `seen` showed `secret`: in its text (case and runs of whitespace ignored), or as a field's
    value (also with the value's spaces and symbols ignored, as a page reformats a typed value), or as an empty
    field's placeholder."""
    needle = _canon(secret)
    if not needle:
        return []
    found = [Place("text", boxes, boxes) for boxes in _text_matches(seen.chars, needle)]
    digits = _alnum(secret)
    for f in seen.fields:
        shown = f.value or f.placeholder
        holds = needle in _canon(shown) or (len(digits) >= MIN_READABLE and digits in _alnum(shown))
        if holds and f.box is not None:
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

        def spied(lens: Any, path: Path, plan: Any) -> None:
            self.before(lens, Path(path))
            original(lens, path, plan)

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
    spy: PictureSpy,
    secrets: Iterable[str],
    *,
    ocr_check: Literal["proven", "always"] = "proven",
    require_control: bool = True,
) -> Report:
    """Check every picture of the run folder `folder` (screenshots/*.png and report.html's pictures).

    Masks: every place the page showed a secret just before the picture is covered. Positive controls: OCR
    reads the secret on the unmasked picture of each page that showed it readably (`require_control`: a page
    where it cannot is a problem). OCR: no picture reads as holding a secret; with `ocr_check="proven"` only the
    secrets some control read are looked for (and the pictures are only read if there is one)."""
    secrets = [s for s in secrets if s.strip()]
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
        if path is None:
            continue  # a picture of the report that no screenshot file holds: OCR only
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
                m, t = picture.masked_share(*_inside(box, scale))
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
    text = ocr(_stacked([control.crop(*box) for boxes in crops.values() for box in boxes]))
    read = {k for k in crops if reads(text, secrets[k], alone=False)}
    report.controls += len(read)
    if require_control:
        report.problems += [
            f"{name}: OCR cannot read secret #{k} on the unmasked picture of its page: a picture it could not "
            "read would pass unseen (make the page's text larger, or check the picture is not blank)"
            for k in crops
            if k not in read
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


def _stacked(parts: list[Picture], gap: int = 12) -> Picture:
    """Pictures one under the other on white, left-aligned: one OCR reading for every place of a page."""
    parts = [p for p in parts if p.width and p.height]
    if not parts:
        return Picture(0, 0, b"")
    width = max(p.width for p in parts) + 2 * gap
    rows: list[bytes] = []
    white = b"\xff" * (width * 3)
    for part in parts:
        rows += [white] * gap
        for y in range(part.height):
            line = part.rgb[y * part.width * 3 : (y + 1) * part.width * 3]
            rows.append(b"\xff" * (gap * 3) + line + b"\xff" * ((width - part.width - gap) * 3))
    rows += [white] * gap
    return Picture(width, len(rows), b"".join(rows))
