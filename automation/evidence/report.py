"""The run's HTML report: one self-contained page beside run.json that people open before anything else.

Everything comes from run.json (already masked upstream) and the PNGs under screenshots/; text is escaped by
Jinja's autoescape, and a Content-Security-Policy allows no network, no script but the lightbox's own (by
hash) and images only as data: URIs, so a page's text that slipped through escaping still could not run.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemBytecodeCache, FileSystemLoader, StrictUndefined
from jinja2.bccache import Bucket

from automation.errors import EvidenceError

# Past this many bytes of (base64) images the page gets slow to open and too big to attach to a ticket.
MAX_EMBED_BYTES = 15 * 1024 * 1024
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

BADGES = {
    "passed": ("Resolved", "resolved"),
    "escalated": ("Escalated", "escalated"),
    "failed": ("Not resolved", "failed"),
    "error": ("Error", "error"),
    "aborted": ("Aborted", "aborted"),
}
ICONS = {"passed": "✓", "failed": "✗", "warning": "!", "skipped": "–"}

# The lightbox: the full image is the thumbnail's own data: URI, so nothing is embedded twice.
LIGHTBOX_JS = """
const box = document.getElementById("lightbox");
const big = box.querySelector("img");
const caption = box.querySelector("figcaption");
for (const a of document.querySelectorAll("a.shot[data-embedded]")) {
  a.addEventListener("click", (event) => {
    event.preventDefault();
    big.src = a.querySelector("img").src;
    big.alt = caption.textContent = a.dataset.caption;
    box.showModal();
  });
}
box.addEventListener("click", () => box.close());
"""
_SCRIPT_HASH = base64.b64encode(hashlib.sha256(LIGHTBOX_JS.encode()).digest()).decode()
CSP = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
    f"script-src 'sha256-{_SCRIPT_HASH}'; base-uri 'none'; form-action 'none'"
)


@dataclass
class Shot:
    """One screenshot as the page shows it: embedded, or linked next to the report when over budget."""

    name: str
    href: str
    caption: str
    data_uri: str | None = None


@dataclass
class StepView:
    number: str
    depth: int
    status: str
    icon: str
    action: str
    label: str
    duration: str
    detail: str
    error: str
    shot: Shot | None
    picture_note: str = ""


@dataclass
class FailureView:
    """The step that failed, with everything needed to see why without opening the trace."""

    number: str
    label: str
    where: str
    locator: str
    error: str
    page_url: str
    page_text: str
    variables: dict[str, str] = field(default_factory=dict)
    shot: Shot | None = None


def write_report(run_dir: Path, *, max_embed_bytes: int = MAX_EMBED_BYTES) -> Path:
    """Write run_dir/report.html from run.json and the screenshots. Raises EvidenceError if run.json is unreadable."""
    data = _load(run_dir / "run.json")
    steps = [s for s in _as_list(data.get("steps")) if isinstance(s, dict)]
    shots, linked = _screenshots(run_dir, steps, max_embed_bytes)
    html = (
        _environment()
        .get_template("report.html")
        .render(
            **_header(data),
            csp=CSP,
            script=LIGHTBOX_JS,
            steps=[_step_view(s, shots) for s in steps],
            failure=_failure(steps, shots),
            error=_text(data.get("error")),
            inputs=_string_map(data.get("inputs")),
            ticket=_ticket(data.get("ticket")),
            dialogs=[d for d in _as_list(data.get("dialogs")) if isinstance(d, dict)],
            extra_shots=[s for s in shots.values() if s.name not in {_shot_name(st) for st in steps}],
            linked=linked,
            budget=f"{max_embed_bytes / 2**20:.0f} MB"
            if max_embed_bytes >= 2**20
            else f"{max_embed_bytes // 1024} KB",
            has_trace=(run_dir / "trace.zip").is_file(),
            trace_note=_text(data.get("trace_note")),
        )
    )
    target = run_dir / "report.html"
    tmp = target.with_suffix(".tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(target)  # never leave a half-written report for someone to open
    return target


@functools.cache
def _environment() -> Environment:
    # Compiling the template is most of a report's cost (about 90 ms here): once per process, and its
    # bytecode kept in Jinja's per-user cache folder for the next process.
    return Environment(
        loader=FileSystemLoader(Path(__file__).parent / "templates"),
        bytecode_cache=_bytecode_cache(),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


class _BestEffortCache(FileSystemBytecodeCache):
    """A bytecode cache that never fails a report: a folder that cannot be read or written means compiling."""

    def load_bytecode(self, bucket: Bucket) -> None:
        with contextlib.suppress(OSError):
            super().load_bytecode(bucket)

    def dump_bytecode(self, bucket: Bucket) -> None:
        with contextlib.suppress(OSError):
            super().dump_bytecode(bucket)


def _bytecode_cache() -> FileSystemBytecodeCache | None:
    try:
        return _BestEffortCache()  # Jinja's per-user folder under the temporary directory, mode 0700
    except (OSError, RuntimeError):  # no safe folder for it
        return None


def _load(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise EvidenceError(f"cannot write the report: {path} is missing or not JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise EvidenceError(f"cannot write the report: {path} does not hold a JSON object")
    return data


def _header(data: dict[str, Any]) -> dict[str, Any]:
    status = _text(data.get("status")) or "aborted"  # a run.json without a status never finished
    badge, badge_class = BADGES.get(status, (status.capitalize(), "error"))
    run_id = _text(data.get("run_id"))
    return {
        "run_id": run_id,
        "runbook": _text(data.get("runbook")),
        "title": _text(data.get("title")),
        "status": status,
        "badge": badge,
        "badge_class": badge_class,
        "outcome": _text(data.get("outcome")),
        "summary": _text(data.get("summary")),
        "environment": _text(data.get("environment")),
        "started": _text(data.get("started_at")) or _started_from_id(run_id),
        "duration": _duration(data.get("duration_s")),
        "runbook_file": _text(data.get("runbook_file")),
        "runbook_sha": _text(data.get("runbook_sha256"))[:12],
        "evidence_dir": _text(data.get("evidence_dir")),
    }


def _started_from_id(run_id: str) -> str:
    # Run ids begin with the local start time (folder.new_run_id): 20261123-013406-<runbook>-<hex>
    match = re.match(r"(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})(\d{2})-", run_id)
    return "{}-{}-{} {}:{}:{}".format(*match.groups()) if match else ""


def _step_view(step: dict[str, Any], shots: dict[str, Shot]) -> StepView:
    number = _text(step.get("number"))
    status = _text(step.get("status")) or "passed"
    action = _text(step.get("action"))
    return StepView(
        number=number,
        depth=min(number.count("."), 4),
        status=status,
        icon="»" if action == "say" else ICONS.get(status, "?"),
        action=action,
        label=_text(step.get("label")),
        duration=_duration(step.get("duration_s")),
        detail=_text(step.get("detail")),
        error=_text(step.get("error")),
        shot=shots.get(_shot_name(step)),
        picture_note=_text(step.get("picture_note")),
    )


def _failure(steps: list[dict[str, Any]], shots: dict[str, Shot]) -> FailureView | None:
    failed = [s for s in steps if s.get("status") == "failed"]
    if not failed:
        return None
    step = failed[-1]  # earlier failures were retried or optional; the last one ended the run
    file, line = _text(step.get("file")), _text(step.get("line"))
    return FailureView(
        number=_text(step.get("number")),
        label=_text(step.get("label")),
        where=f"{file}:{line}" if file and line else file,
        locator=_text(step.get("locator")),
        error=_text(step.get("error")),
        page_url=_text(step.get("page_url")),
        page_text=_text(step.get("page_text")),
        variables=_string_map(step.get("variables")),
        shot=shots.get(_shot_name(step)),
    )


def _ticket(raw: Any) -> dict[str, str] | None:
    if not isinstance(raw, dict) or not raw:
        return None
    ticket = _string_map(raw)
    # A link only to a web address: a javascript: URL in a ticket field must not become clickable.
    if not re.match(r"https?://", ticket.get("url", "")):
        ticket.pop("url", None)
    return ticket


def _screenshots(run_dir: Path, steps: list[dict[str, Any]], budget: int) -> tuple[dict[str, Shot], bool]:
    """Every PNG under screenshots/, by file name; the failure first, then in run order, embedded within budget."""
    folder = run_dir / "screenshots"
    files = {p.name: p for p in sorted(folder.glob("*.png")) if p.is_file()} if folder.is_dir() else {}
    # A picture a later step points to too (the page unchanged) keeps the caption of the step that took it.
    captions: dict[str, str] = {}
    for step in steps:
        caption = f"{_text(step.get('number'))} {_text(step.get('label'))}".strip()
        captions.setdefault(_shot_name(step), caption)
    failed = [_shot_name(s) for s in steps if s.get("status") == "failed"]
    order = [n for n in reversed(failed) if n in files] + [n for n in files if n not in failed]
    shots: dict[str, Shot] = {}
    used, linked = 0, False
    for name in order:
        shot = Shot(name=name, href=f"screenshots/{name}", caption=captions.get(name) or name)
        raw = files[name].read_bytes()
        size = (len(raw) + 2) // 3 * 4
        if raw.startswith(PNG_MAGIC) and used + size <= budget:
            shot.data_uri = "data:image/png;base64," + base64.b64encode(raw).decode()
            used += size
        else:
            linked = True
        shots[name] = shot
    return {n: shots[n] for n in files if n in shots}, linked


def _shot_name(step: dict[str, Any]) -> str:
    # Only the file name counts: a path in run.json cannot point the report outside screenshots/ (trace.zip).
    return Path(_text(step.get("screenshot"))).name


def _duration(value: Any) -> str:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return ""
    if value < 60:
        return f"{value:.2f} s" if value < 10 else f"{value:.1f} s"
    minutes, seconds = divmod(round(value), 60)
    return f"{minutes} min {seconds:02d} s"


def _string_map(raw: Any) -> dict[str, str]:
    return {str(k): _text(v) for k, v in raw.items()} if isinstance(raw, dict) else {}


def _as_list(raw: Any) -> list[Any]:
    return raw if isinstance(raw, list) else []


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)
