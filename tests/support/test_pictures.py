"""The tests' picture reader (support/pictures.py, png.py, ocr.py): it decodes PNGs as written with every row
filter; OCR finds a secret however the case, spaces and look-alike characters went, and not a code inside a longer
number; a place a page showed a secret counts as masked only when the mask colour covers it; and the whole check,
on pictures Chromium draws, goes red for an unmasked text, an unmasked field, a half-masked field, a blank
control, a picture the spy never saw and a report picture that is not a screenshot."""

from __future__ import annotations

import base64
import random
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest

from support.ocr import ocr, ocr_pattern, reads
from support.pictures import MASK_RGB, SNAPSHOT_JS, PageSeen, PictureSpy, Taken, check_pictures, places
from support.png import Picture, read_png

SECRET = "Canary0042-Xy9!k"
CODE = "739158"


def encode_png(width: int, height: int, pixels: bytes, *, colour: int = 2, filters: list[int]) -> bytes:
    """A PNG written here, each row with the filter `filters` gives it (cycled): what the decoder must undo."""
    bpp = {0: 1, 2: 3, 4: 2, 6: 4}[colour]
    stride = width * bpp
    out, previous = bytearray(), bytes(stride)
    for y in range(height):
        row, kind = pixels[y * stride : (y + 1) * stride], filters[y % len(filters)]
        out.append(kind)
        for i, x in enumerate(row):
            left = row[i - bpp] if i >= bpp else 0
            up, corner = previous[i], previous[i - bpp] if i >= bpp else 0
            p = left + up - corner
            paeth = min((abs(p - left), 0, left), (abs(p - up), 1, up), (abs(p - corner), 2, corner))[2]
            guess = [0, left, up, (left + up) // 2, paeth][kind]
            out.append((x - guess) & 0xFF)
        previous = row

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes(out)))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("filters", [[0], [1], [2], [3], [4], [0, 1, 2, 3, 4]], ids=str)
@pytest.mark.parametrize("colour", [0, 2, 4, 6], ids=["grey", "rgb", "grey-alpha", "rgba"])
def test_a_png_is_decoded_whatever_its_row_filters(filters: list[int], colour: int) -> None:
    rng = random.Random(colour * 10 + len(filters))
    bpp = {0: 1, 2: 3, 4: 2, 6: 4}[colour]
    width, height = 37, 9
    pixels = bytes(rng.randrange(256) for _ in range(width * height * bpp))

    picture = read_png(encode_png(width, height, pixels, colour=colour, filters=filters))

    assert (picture.width, picture.height) == (width, height)
    for y in range(height):
        for x in range(width):
            at = (y * width + x) * bpp
            want = tuple(pixels[at : at + 3]) if colour in (2, 6) else (pixels[at],) * 3
            assert picture.pixel(x, y) == want, (x, y)


@pytest.mark.parametrize(
    "damage",
    [
        lambda png: png[:40],  # cut short
        lambda png: png[:30] + bytes([png[30] ^ 0xFF]) + png[31:],  # a flipped byte: bad CRC
        lambda png: b"GIF89a" + png[6:],
    ],
    ids=["truncated", "bad-crc", "not-png"],
)
def test_a_damaged_png_is_refused_not_read_as_blank(damage: Any) -> None:
    png = encode_png(4, 4, bytes(48), filters=[0])

    with pytest.raises(ValueError):
        read_png(damage(png))


@pytest.mark.parametrize(
    "text",
    [
        "Your password: canary0042-xy9!k.",  # case
        "CANARY 0042 - XY9!K",  # spaces, as OCR splits words
        "Canary0O42-Xy9lk",  # 0 read as O, ! read as l
        "CanaryOO42—Xy9|k",  # an em dash, a bar
    ],
)
def test_ocr_text_holds_the_secret_however_ocr_spelled_it(text: str) -> None:
    assert reads(text, SECRET)


def test_ocr_text_without_the_secret_does_not_hold_it() -> None:
    assert not reads("Canary0043-Xy9!k Canary0042-Xy8!k", SECRET)


def test_a_code_is_found_alone_or_reformatted_but_not_inside_a_longer_number() -> None:
    assert reads("Your code is 739158.", CODE) and reads("code:739 158", CODE) and reads("is7391S8", CODE)
    assert not reads("order 17391589", CODE) and not reads("1739158", CODE)
    assert reads("(555) 123-4567", "5551234567")
    assert reads("7391581", CODE, alone=False), "in a field, where a caret may follow it"


def test_a_secret_of_too_few_letters_and_digits_is_not_asked_of_ocr() -> None:
    assert ocr_pattern("~!*|{ab}^") is None and not reads("~!*|{ab}^", "~!*|{ab}^")


def _page_seen(chars: str, boxes: list[Any], fields: list[Any] | None = None) -> PageSeen:
    raw = {
        "width": 100,
        "height": 40,
        "chars": [[c, b] for c, b in zip(chars, boxes, strict=True)],
        "fields": fields or [],
    }
    return PageSeen.parse(raw)


def test_a_secret_is_placed_where_its_characters_are_whatever_their_case_and_spacing() -> None:
    text = "x STRASSE  ok"
    seen = _page_seen(text, [[i * 10, 0, 10, 20] for i in range(len(text))])

    (place,) = places(seen, "straße ok")

    assert place.what == "text" and place.readable
    assert [b[0] for b in place.boxes] == [20, 30, 40, 50, 60, 70, 80, 90, 110, 120]  # one space for two


def test_a_field_holding_a_secret_as_shown_or_as_a_password_is_a_place() -> None:
    fields = [
        ["input", "tel", "(555) 123-4567", "", [0, 0, 50, 20], [2, 2, 46, 16]],
        ["input", "password", SECRET, "", [0, 20, 50, 20], [2, 22, 46, 16]],
        ["input", "text", "", "Canary0042-XY9!K", [0, 40, 50, 20], [2, 42, 46, 16]],
        ["input", "text", "other", "", [0, 60, 50, 20], [2, 62, 46, 16]],
    ]
    seen = _page_seen("", [], fields)

    assert places(seen, "5551234567") == [], "what a page shows of a value is the form to ask for"
    (reformatted,) = places(seen, "(555)  123-4567")
    assert (reformatted.what, reformatted.boxes, reformatted.read_at) == (
        "<input type=tel>",
        ((0, 0, 50, 20),),
        ((2, 2, 46, 16),),
    ), "masked whole, read inside its border"
    shown = places(seen, SECRET)
    assert [(p.what, p.readable) for p in shown] == [
        ("<input type=password>", False),
        ("<input type=text>", True),
    ]


def _solid(width: int, height: int, rgb: tuple[int, int, int]) -> Picture:
    return Picture(width, height, bytes(rgb) * (width * height))


def test_the_share_of_a_colour_counts_its_pixels_only() -> None:
    half = Picture(4, 2, bytes((255, 0, 255)) * 4 + bytes((250, 10, 240)) * 2 + bytes((255, 255, 255)) * 2)

    assert half.share_of(MASK_RGB, 0, 0, 4, 2) == (6, 8)
    assert half.share_of(MASK_RGB, 2, 1, 9, 9) == (0, 2), "clipped to the picture"
    assert _solid(3, 3, (0, 0, 0)).share_of(MASK_RGB, 0, 0, 3, 3) == (0, 9)


def test_a_picture_scaled_up_repeats_each_pixel() -> None:
    picture = Picture(2, 1, bytes((1, 2, 3, 4, 5, 6)))

    big = picture.scaled(2)

    assert (big.width, big.height) == (4, 2)
    assert [big.pixel(x, y) for y in range(2) for x in range(4)] == [(1, 2, 3)] * 2 + [(4, 5, 6)] * 2 + [
        (1, 2, 3)
    ] * 2 + [(4, 5, 6)] * 2


# -- the whole check, on pictures Chromium draws ----------------------------------------------------------------

PAGE = f"""<!doctype html><body style="font: 18px sans-serif; margin: 30px">
<h1>Account</h1>
<p>Your new password is <b id="said">{SECRET}</b>, keep it.</p>
<label>Kept <input id="kept" size="30" style="font-size: 18px" value="{SECRET}"></label>
<p>Code <span id="code">{CODE}</span></p>
<input id="typed" style="width: 440px; border: 2px solid #222; padding: 8px; font: 15px sans-serif" value="{CODE}">
</body>"""
# Masks as the engine paints them, over each element a selector names ("half:" the left half of it).
PAINT = """selectors => { for (const s of selectors) {
  const half = s.startsWith('half:');
  for (const r of document.querySelector(s.replace('half:', '')).getClientRects()) {
  const m = document.createElement('div'); m.className = 'test-mask'; const w = half ? r.width / 2 : r.width;
  m.style.cssText = `position:fixed;left:${r.left}px;top:${r.top}px;width:${w}px;height:${r.height}px;` +
    'background:#FF00FF;z-index:2147483647';
  document.body.appendChild(m); } } }"""


def picture(
    page: Any, folder: Path, spy: PictureSpy, name: str, masks: list[str], *, blank: bool = False
) -> Path:
    """What the spy records of an engine picture, done by hand: the page read, an unmasked control, and the
    picture with `masks` (CSS selectors) painted over."""
    seen = PageSeen.parse(page.evaluate(SNAPSHOT_JS))
    control = spy.controls / f"{name}.png"
    spy.controls.mkdir(parents=True, exist_ok=True)
    if blank:
        control.write_bytes(encode_png(8, 8, b"\xff" * 192, filters=[0]))
    else:
        page.screenshot(path=str(control))
    page.evaluate(PAINT, masks)
    shot = folder / "screenshots" / f"{name}.png"
    page.screenshot(path=str(shot))
    page.evaluate("document.querySelectorAll('.test-mask').forEach(e => e.remove())")
    spy.taken[shot.resolve()] = Taken(seen, control)
    return shot


@pytest.fixture
def run_folder(tmp_path: Path) -> Path:
    (tmp_path / "run" / "screenshots").mkdir(parents=True)
    return tmp_path / "run"


@pytest.fixture
def spy(tmp_path: Path) -> PictureSpy:
    return PictureSpy(tmp_path / "controls")


@pytest.fixture
def shown(page: Any) -> Any:
    page.set_content(PAGE)
    return page


def test_a_picture_with_every_place_masked_passes_and_its_controls_read_each_secret(
    shown: Any, run_folder: Path, spy: PictureSpy
) -> None:
    picture(shown, run_folder, spy, "masked", ["#said", "#kept", "#code", "#typed"])

    report = check_pictures(run_folder, spy, [SECRET, CODE])

    assert report.problems == []
    assert (report.places, report.controls, report.read) == (4, 2, 1)


def test_an_unmasked_text_is_seen_by_the_mask_check_and_by_ocr(
    shown: Any, run_folder: Path, spy: PictureSpy
) -> None:
    picture(shown, run_folder, spy, "text-bare", ["#kept", "#code", "#typed"])

    report = check_pictures(run_folder, spy, [SECRET, CODE])

    assert report.problems == [
        report.problems[0],
        "OCR reads secret #0 in screenshots/text-bare.png where the page showed it",
        "OCR reads secret #0 in screenshots/text-bare.png",
    ]
    assert report.problems[0].startswith("screenshots/text-bare.png: text showing secret #0 (at ")
    assert report.problems[0].endswith("is 0% masked")
    assert SECRET not in "".join(report.problems)


def test_an_unmasked_field_is_read_where_the_page_showed_it(
    shown: Any, run_folder: Path, spy: PictureSpy
) -> None:
    """A reading of the whole page may miss text inside a field's border: the place itself is read too."""
    picture(shown, run_folder, spy, "field-bare", ["#said", "#kept", "#code"])

    report = check_pictures(run_folder, spy, [SECRET, CODE])

    coverage, where, *whole = report.problems
    assert coverage.startswith("screenshots/field-bare.png: <input type=text> showing secret #1 (at 30,")
    assert coverage.endswith(" 460x37) is 0% masked")
    assert where == "OCR reads secret #1 in screenshots/field-bare.png where the page showed it"
    assert whole in ([], ["OCR reads secret #1 in screenshots/field-bare.png"])


def test_a_field_masked_in_part_is_not_masked(shown: Any, run_folder: Path, spy: PictureSpy) -> None:
    picture(shown, run_folder, spy, "half", ["#said", "#code", "#typed", "half:#kept"])

    report = check_pictures(run_folder, spy, [SECRET, CODE])

    assert [p.split(" (at ")[0] for p in report.problems] == [
        "screenshots/half.png: <input type=text> showing secret #0"
    ], report.problems


def test_a_blank_control_is_a_problem_not_a_pass(shown: Any, run_folder: Path, spy: PictureSpy) -> None:
    picture(shown, run_folder, spy, "blank", ["#said", "#kept", "#code", "#typed"], blank=True)

    report = check_pictures(run_folder, spy, [SECRET, CODE])

    assert len(report.problems) == 2 and all("OCR cannot read secret #" in p for p in report.problems)
    assert report.read == 0, "no secret was proven readable: OCR of the pictures would prove nothing"


def test_a_picture_the_spy_did_not_see_is_a_problem(run_folder: Path, spy: PictureSpy) -> None:
    (run_folder / "screenshots" / "unseen.png").write_bytes(encode_png(8, 8, bytes(192), filters=[0]))

    report = check_pictures(run_folder, spy, [SECRET])

    assert report.problems == [
        "screenshots/unseen.png: what the page showed before it is unknown: the engine took it without the spy "
        "seeing (is the spy installed?)"
    ]


def test_a_report_picture_that_is_no_screenshot_is_read_too(
    shown: Any, run_folder: Path, spy: PictureSpy
) -> None:
    masked = picture(shown, run_folder, spy, "masked", ["#said", "#kept", "#code", "#typed"])
    bare = spy.controls / "masked.png"
    embedded = [masked.read_bytes(), bare.read_bytes()]
    (run_folder / "report.html").write_text(
        "".join(f'<img src="data:image/png;base64,{base64.b64encode(b).decode()}">' for b in embedded)
    )

    report = check_pictures(run_folder, spy, [SECRET, CODE])

    assert report.problems == [
        "OCR reads secret #0 in report.html picture #2",
        "OCR reads secret #1 in report.html picture #2",
    ]
    assert report.pictures == 2


def test_ocr_reads_a_page_drawn_in_chromium(shown: Any, tmp_path: Path) -> None:
    shown.screenshot(path=str(tmp_path / "page.png"))

    text = ocr(read_png((tmp_path / "page.png").read_bytes()))

    assert reads(text, SECRET) and reads(text, CODE) and "Account" in text


def test_without_a_spy_every_picture_is_read_by_ocr_only(shown: Any, run_folder: Path) -> None:
    """A run in another process cannot be watched: its pictures are still read, for every secret."""
    shown.screenshot(path=str(run_folder / "screenshots" / "bare.png"))

    report = check_pictures(run_folder, None, [SECRET, "Not-On-The-Page-31"])

    assert report.problems == ["OCR reads secret #0 in screenshots/bare.png"]
    assert (report.pictures, report.read, report.places) == (1, 1, 0)
