"""Keep secrets out of evidence: replace each value holding a secret in text, JSON data and Playwright traces.

`Redactor` is built from the run's secrets (passwords, temporary passwords, verification codes, tokens). It
decodes before it matches (canon.py: percent-encoding, `+`, HTML entities, JSON escapes, base64, any case) and
replaces the whole value that holds a secret with `[REDACTED]`, so no piece of it survives.

`scrub_trace` rewrites a trace.zip after `tracing.stop()`. Playwright cannot redact (microsoft/playwright
#19992, #35144, #35848) and a plain text replace over the zip breaks it, so each entry is rewritten by
kind: JSON lines are parsed and only string values are changed (keys, numbers and identifiers such as
sha1 names are left alone, so the trace still loads and its references still resolve); resources are
rewritten as bytes; the driving source code is dropped; images of the page are dropped when any secret
is set, because nothing here can read a secret off a picture. The result is scanned again byte by byte:
a trace that cannot be parsed, or still holds a secret, is deleted and EvidenceError is raised.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from automation.errors import EvidenceError
from automation.redaction.canon import Match, Matcher
from automation.redaction.scan import find_secrets

MARKER = "[REDACTED]"

# Values of these keys are names, hashes or ids that other entries point at (a resource's sha1 file name,
# a call or page id): changing them would break the trace, and a code found in them is only a coincidence.
IDENTIFIER_KEYS = frozenset(
    {
        "sha1",
        "_sha1",
        "file",
        "_file",
        "callId",
        "parentId",
        "stepId",
        "pageId",
        "frameId",
        "pageref",
        "_frameref",
        "snapshotName",
        "_apiRequestRef",
    }
)

# Session cookies and authorization headers are credentials even when nobody named them as secrets.
SENSITIVE_HEADERS = frozenset({"cookie", "set-cookie", "authorization", "proxy-authorization"})

_JSON_LINES = (".trace", ".network", ".stacks")
_IMAGE_EVENTS = frozenset({"screencast-frame", "screenshot", "video"})
_IMAGE_FOLDERS = ("screencast/", "screenshots/", "videos/")
_SOURCES = "src/"


class Redactor:
    """Replaces each whole value holding a secret, in any encoding or case, with a marker.

    Empty secrets are ignored. Raises SecretTooShort (a ValueError) for a secret under MIN_SECRET_LENGTH
    characters: callers refuse those when they are given, with a message saying why.
    """

    __slots__ = ("_matcher", "_numbers", "_marker")

    def __init__(self, secrets: Iterable[str | None] = (), *, marker: str = MARKER) -> None:
        self._matcher = Matcher(s for s in secrets if s)
        # Codes a page may send as JSON numbers; "012345" cannot be one, as a number loses its leading zero.
        self._numbers = frozenset(
            int(s) for s in self._matcher.secrets if s.isascii() and s.isdigit() and str(int(s)) == s
        )
        self._marker = marker

    @property
    def secrets(self) -> tuple[str, ...]:
        """The secrets in their canonical form (stripped), as they are used and matched."""
        return self._matcher.secrets

    @property
    def marker(self) -> str:
        return self._marker

    def __bool__(self) -> bool:
        return bool(self._matcher)

    def __repr__(self) -> str:
        return f"Redactor(<{len(self.secrets)} secrets>)"  # never the secrets themselves

    def mentions(self, text: str, *, base64: bool = True) -> bool:
        """True if any secret occurs in `text` in any form (base64 too, unless told otherwise)."""
        return self._matcher.mentions(text, base64=base64)

    def find(self, text: str) -> list[Match]:
        """Where secrets occur in `text` (whole values, embedded digits flagged), never what they are."""
        return self._matcher.find(text)

    def redact_text(self, text: str) -> str:
        """`text` with every value holding a secret replaced by the marker."""
        return self._matcher.redact(text, self._marker)[0]

    def redact_bytes(self, data: bytes) -> tuple[bytes, int]:
        """`data` (UTF-8, or any bytes) with every value holding a secret replaced, and how many were."""
        if not self._matcher:
            return data, 0
        # surrogateescape keeps bytes that are not UTF-8 exactly as they were
        text, count = self._matcher.redact(data.decode("utf-8", "surrogateescape"), self._marker)
        return (text.encode("utf-8", "surrogateescape"), count) if count else (data, 0)

    def redact_obj(self, obj: Any) -> Any:
        """A copy of JSON-like `obj` with secrets replaced in string values; keys, numbers and ids are kept.

        An integer that is a whole secret (a code sent as a number) is replaced too.
        """
        if isinstance(obj, str):
            return self.redact_text(obj)
        if isinstance(obj, dict):
            return {k: v if k in IDENTIFIER_KEYS else self.redact_obj(v) for k, v in obj.items()}
        if isinstance(obj, list | tuple):
            items = [self.redact_obj(item) for item in obj]
            return tuple(items) if isinstance(obj, tuple) else items
        if type(obj) is int and obj in self._numbers:
            return self._marker
        return obj

    def redact_tree(self, root: Any, *, base64: bool = True) -> int:
        """Replace secrets in the string values of dicts and lists under `root`, in place; return the count.

        `base64=False` skips decoding base64 runs, for data that carries no header or body (DOM snapshots)."""
        if not self._matcher or not isinstance(root, dict | list):
            return 0
        redact, marker, shortest, numbers = (
            self._matcher.redact,
            self._marker,
            self._matcher.shortest,
            self._numbers,
        )
        count, stack = 0, [root]
        while stack:  # a loop, not recursion: DOM snapshots nest as deep as the page
            node = stack.pop()
            slots = (
                [(k, v) for k, v in node.items() if k not in IDENTIFIER_KEYS]
                if isinstance(node, dict)
                else enumerate(node)
            )
            for slot, value in slots:
                if isinstance(value, str):
                    if len(value) >= shortest:  # most DOM strings are shorter than any secret
                        new, n = redact(value, marker, base64=base64)
                        if n:
                            node[slot], count = new, count + n
                elif isinstance(value, dict | list):
                    stack.append(value)
                elif type(value) is int and value in numbers:
                    # A code sent as a JSON number is the whole secret, not digits inside a longer number.
                    node[slot], count = marker, count + 1
        return count


@dataclass(frozen=True)
class ScrubReport:
    """What scrub_trace did to one trace.zip."""

    path: Path
    entries_rewritten: int
    values_replaced: int
    headers_masked: int
    frames_dropped: int
    sources_dropped: int
    seconds: float

    @property
    def summary(self) -> str:
        text = (
            f"{self.path.name}: {self.values_replaced} secret value(s) replaced in "
            f"{self.entries_rewritten} entr{'y' if self.entries_rewritten == 1 else 'ies'}, "
            f"{self.headers_masked} cookie/authorization header(s) masked"
        )
        if self.frames_dropped:
            text += (
                f", {self.frames_dropped} screencast frame(s) dropped (a secret was set and pictures of "
                "the page cannot be checked for it)"
            )
        if self.sources_dropped:
            text += f", {self.sources_dropped} source file(s) dropped"
        return text + f" in {self.seconds:.2f} s"


@dataclass
class _Tally:
    rewritten: int = 0
    replaced: int = 0
    masked: int = 0
    frames: int = 0
    sources: int = 0


class _Unsafe(Exception):
    """The trace cannot be shown to be free of secrets; the message says why, without any secret."""


def scrub_trace(path: Path, redactor: Redactor) -> ScrubReport:
    """Rewrite the Playwright trace.zip at `path` in place so that it holds no form of any secret.

    Raises EvidenceError, after deleting the trace, if it cannot be read or parsed or still holds a secret.
    """
    started = time.perf_counter()
    path = Path(path)
    if not path.is_file():
        raise EvidenceError(f"No trace to scrub at {path}: tracing.stop() did not write it.")
    tmp: Path | None = None
    kept = False
    try:
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".scrubbing", dir=path.parent)
        os.close(fd)
        tmp = Path(name)
        tally = _rewrite(path, tmp, redactor)
        _verify(tmp, redactor)
        os.replace(tmp, path)
        kept = True
    except Exception as exc:  # whatever failed, the trace is withheld and the caller is told why
        # Only errors whose text is known to quote no content are chained: a traceback must not leak either.
        cause = exc if isinstance(exc, _Unsafe | OSError | zipfile.BadZipFile) else None
        raise EvidenceError(
            f"The trace {path} was withheld and deleted: {_reason(exc)}. A trace that may hold a secret is "
            "never kept. Re-run to record a new trace, and report this message if it happens again."
        ) from cause
    finally:
        if not kept:  # fail closed, whatever went wrong: never leave the unscrubbed original behind
            if tmp is not None:
                tmp.unlink(missing_ok=True)
            path.unlink(missing_ok=True)
    seconds = time.perf_counter() - started
    return ScrubReport(
        path, tally.rewritten, tally.replaced, tally.masked, tally.frames, tally.sources, seconds
    )


def _reason(exc: Exception) -> str:
    """Why the trace was withheld, in words that name no secret (other errors' texts may quote content)."""
    if isinstance(exc, _Unsafe):
        return str(exc)
    if isinstance(exc, zipfile.BadZipFile):
        return "it is not a readable zip file"
    if isinstance(exc, OSError):
        return f"it could not be rewritten ({exc.strerror or type(exc).__name__})"
    return f"it could not be rewritten ({type(exc).__name__})"


def _rewrite(src: Path, dst: Path, redactor: Redactor) -> _Tally:
    """Write the scrubbed copy of `src` to `dst`, entry by entry; JSON lines first, as they name the frames."""
    tally = _Tally()
    drop_images = bool(redactor)
    with zipfile.ZipFile(src) as archive:
        infos = archive.infolist()
        out: dict[str, bytes] = {}
        frame_files: set[str] = set()
        for info in infos:
            if info.filename.endswith(_JSON_LINES):
                out[info.filename] = _scrub_lines(
                    info.filename, archive.read(info), redactor, tally, frame_files
                )
        for info in infos:
            name = info.filename
            if name.startswith(_SOURCES):
                tally.sources += 1
            elif drop_images and (name.startswith(_IMAGE_FOLDERS) or name in frame_files):
                tally.frames += 1
            elif name not in out:
                data, n = redactor.redact_bytes(archive.read(info))
                out[name] = data
                tally.replaced, tally.rewritten = tally.replaced + n, tally.rewritten + bool(n)
        _write(dst, infos, out)
    return tally


def _write(dst: Path, infos: list[zipfile.ZipInfo], out: dict[str, bytes]) -> None:
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in infos:
            if info.filename in out:
                entry = zipfile.ZipInfo(info.filename, info.date_time)
                entry.compress_type, entry.external_attr = zipfile.ZIP_DEFLATED, info.external_attr
                archive.writestr(entry, out[info.filename])


def _scrub_lines(name: str, data: bytes, redactor: Redactor, tally: _Tally, frame_files: set[str]) -> bytes:
    """One JSON-lines entry with secrets replaced in string values and (if secrets are set) image events dropped.

    Raises _Unsafe if the entry is not UTF-8 or a line is not JSON.
    """
    try:
        lines = data.decode("utf-8").split("\n")
    except UnicodeDecodeError as exc:
        raise _Unsafe(f"{name} is not UTF-8 text, so it could not be checked for secrets") from exc
    out: list[str] = []
    changed = 0
    # Headers and bodies (trace.network) may carry base64; actions and DOM snapshots (trace.trace) do not,
    # and skipping it there keeps the scrub fast. The final scan still looks for base64 everywhere.
    base64 = not name.endswith(".trace")
    for number, line in enumerate(lines, 1):
        if not line.strip():
            out.append(line)
            continue
        event = _parse(name, number, line)
        if redactor and isinstance(event, dict) and event.get("type") in _IMAGE_EVENTS:
            frame_files.update(_files_of(event))
            changed += 1
            continue
        n = _mask_headers(event, redactor.marker)
        replaced = redactor.redact_tree(event, base64=base64) if redactor.mentions(line, base64=base64) else 0
        if n or replaced:
            line = json.dumps(event, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
            tally.masked, tally.replaced, changed = tally.masked + n, tally.replaced + replaced, changed + 1
        out.append(line)
    tally.rewritten += bool(changed)
    return "\n".join(out).encode("utf-8")


def _parse(name: str, number: int, line: str) -> Any:
    """Raises _Unsafe if `line` is not JSON."""
    try:
        return json.loads(line)
    except (ValueError, RecursionError) as exc:
        raise _Unsafe(
            f"line {number} of {name} is not valid JSON, so it could not be checked for secrets"
        ) from exc


def _files_of(event: dict[str, Any]) -> list[str]:
    """The zip entries an image event points at (`file` since trace format 9, `sha1` before)."""
    files = [event["file"]] if isinstance(event.get("file"), str) else []
    if isinstance(event.get("sha1"), str):
        files.append("resources/" + event["sha1"])
    return files


def _mask_headers(event: Any, marker: str) -> int:
    """Mask cookie and authorization values in a network event (HAR shape), in place; return the count."""
    if not isinstance(event, dict) or event.get("type") != "resource-snapshot":
        return 0
    snapshot = event.get("snapshot")
    sides = (snapshot.get("request"), snapshot.get("response")) if isinstance(snapshot, dict) else ()
    count = 0
    for side in sides:
        if not isinstance(side, dict):
            continue
        headers = [
            h for h in _dicts(side.get("headers")) if str(h.get("name", "")).lower() in SENSITIVE_HEADERS
        ]
        for item in headers + _dicts(side.get("cookies")):
            if item.get("value"):
                item["value"], count = marker, count + 1
    return count


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _verify(archive: Path, redactor: Redactor) -> None:
    """Raises _Unsafe if any form of any secret is still anywhere in the rewritten zip."""
    places = list(
        dict.fromkeys(
            f"an entry that cannot be read back ({hit.entry or 'the zip'})"
            if hit.unreadable
            else f"secret #{hit.secret + 1} ({hit.form} form) in {hit.entry or 'the zip'}"
            for hit in find_secrets(archive, redactor.secrets)
        )
    )
    if places:
        more = f" and {len(places) - 3} more place(s)" if len(places) > 3 else ""
        raise _Unsafe(f"it still held a secret after redaction: {'; '.join(places[:3])}{more}")
