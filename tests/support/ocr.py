"""Read text off a picture with Debian's tesseract (tesseract-ocr, run as a program: no Python package), and find
a secret in what it read however OCR spelled it: case and spaces ignored, look-alike characters as one."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import unicodedata

from support.png import Picture

OCR_SCALE = 2  # pictures are scaled up before OCR: 13-16 px screen text reads far better at twice its size


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
