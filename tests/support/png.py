"""Pictures as pixels, with the standard library only: decode a PNG (8-bit grey or RGB, with or without alpha,
every row filter), crop, scale up, stack, count the pixels of one colour, write a PPM for tesseract.

Written for support/pictures.py, which must read a run's screenshots without Pillow: Chromium's PNGs (filter
"Up" on every row when taken with optimizeForSpeed, mixed filters otherwise) decode in about 0.1 s at 1280x900."""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
TOLERANCE = 24  # per channel: what still counts as a colour (a mask's edge is blended with what is around it)


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

    def share_of(
        self, colour: tuple[int, int, int], left: int, top: int, right: int, bottom: int
    ) -> tuple[int, int]:
        """(pixels of `colour`, within TOLERANCE per channel; pixels) inside [left, right) x [top, bottom), clipped."""
        part = self.crop(left, top, right, bottom)
        if not part.rgb:
            return 0, 0
        # Each channel tested on its own strided slice: a few C-level passes, not a loop per pixel.
        near = [part.rgb[c::3].translate(_near(colour[c])) for c in range(3)]
        both = (
            int.from_bytes(near[0], "big") & int.from_bytes(near[1], "big") & int.from_bytes(near[2], "big")
        )
        return both.to_bytes(len(near[0]), "big").count(1), part.width * part.height


def _near(value: int) -> bytes:
    """A translation table: 1 for a byte within TOLERANCE of `value`, else 0."""
    return bytes(1 if abs(v - value) <= TOLERANCE else 0 for v in range(256))


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


def stacked(parts: list[Picture], gap: int = 12) -> Picture:
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
