"""report.html: one self-contained page per run, opened in real Chromium as a person would open it."""

from __future__ import annotations

import base64
import json
import struct
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from automation.errors import EvidenceError
from automation.evidence.report import write_report
from automation.result import RunResult
from automation.sandbox import SandboxServer

OpenReport = Callable[[Path], list[str]]


@pytest.fixture
def open_report(page: Page) -> OpenReport:
    """Open a report in Chromium; returns the list (filled as the page lives) of what must never happen:
    console errors, page errors, and requests for anything but file: and data: URLs."""
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(f"console: {msg.text}") if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on(
        "request", lambda req: None if req.url.startswith(("file:", "data:")) else problems.append(req.url)
    )

    def _open(report: Path) -> list[str]:
        page.goto(report.as_uri())
        return problems

    return _open


def _report_of(result: RunResult) -> Path:
    return write_report(Path(result.evidence_dir))


def _png(width: int, height: int) -> bytes:
    """A valid white PNG of this size: enough for Chromium to decode and measure."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\xff\xff\xff" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def _step(number: str, label: str, **extra: Any) -> dict[str, Any]:
    return {
        "number": number,
        "action": "click",
        "label": label,
        "status": "passed",
        "duration_s": 0.1,
        **extra,
    }


def _hand_made_run(tmp_path: Path, data: dict[str, Any], shots: dict[str, bytes] | None = None) -> Path:
    run_dir = tmp_path / "run"
    (run_dir / "screenshots").mkdir(parents=True)
    (run_dir / "run.json").write_text(json.dumps(data), encoding="utf-8")
    for name, raw in (shots or {}).items():
        (run_dir / "screenshots" / name).write_bytes(raw)
    return run_dir


# -- real runs in Chromium ------------------------------------------------------------------------------------


def test_resolved_run_shows_the_badge_and_every_step_in_order(
    run_runbook: Callable[..., RunResult], page: Page, open_report: OpenReport
) -> None:
    result = run_runbook("resend-verify", {"email": "unverified@example.com"})
    problems = open_report(_report_of(result))
    expect(page.locator("#badge")).to_have_text("Resolved")
    expect(page.locator(".step .label")).to_have_text([s.label for s in result.steps])
    expect(page.locator(".step.depth-1 .num").first).to_have_text("4.1")
    assert problems == []


def test_trace_instructions_name_the_run(
    run_runbook: Callable[..., RunResult], page: Page, open_report: OpenReport
) -> None:
    result = run_runbook("resend-verify", {"email": "verified@example.com"})
    problems = open_report(_report_of(result))
    trace = page.locator("#trace")
    expect(trace).to_contain_text(f"runbook trace {result.run_id}")
    expect(trace).to_contain_text(f"runbook trace {result.run_id} --actions")
    expect(trace).to_contain_text("trace.zip")
    assert problems == []


def test_a_thumbnail_opens_the_full_size_screenshot(
    run_runbook: Callable[..., RunResult], page: Page, open_report: OpenReport
) -> None:
    result = run_runbook("resend-verify", {"email": "nobody@example.com"})
    problems = open_report(_report_of(result))
    first = result.steps[0]
    raw = (Path(result.evidence_dir) / str(first.screenshot)).read_bytes()
    width = struct.unpack(">I", raw[16:20])[0]  # from the PNG's IHDR
    page.locator(".step").first.locator("a.shot").click()
    full = page.locator("#lightbox img")
    expect(full).to_be_visible()
    expect(page.locator("#lightbox figcaption")).to_have_text(f"1 {first.label}")
    assert full.get_attribute("src") == "data:image/png;base64," + base64.b64encode(raw).decode()
    assert full.evaluate("img => img.naturalWidth") == width
    page.keyboard.press("Escape")
    expect(full).to_be_hidden()
    assert problems == []


def test_a_steps_thumbnail_shows_the_page_large_enough_to_read(
    run_runbook: Callable[..., RunResult], page: Page, open_report: OpenReport
) -> None:
    """At least half the page's own size in a report read on a laptop screen: the page's headings and body
    text can be read in the list of steps, without opening each picture."""
    page.set_viewport_size({"width": 1280, "height": 900})
    result = run_runbook("resend-verify", {"email": "nobody@example.com"})
    problems = open_report(_report_of(result))
    thumb = page.locator(".step").first.locator("a.shot img")
    expect(thumb).to_be_visible()
    shown, natural = thumb.evaluate("img => [img.getBoundingClientRect().width, img.naturalWidth]")
    assert shown / natural >= 0.5, f"a {natural} px page shown {shown:.0f} px wide"
    assert problems == []


def test_failing_run_shows_the_error_with_file_line_and_what_the_page_showed(
    run_runbook: Callable[..., RunResult], page: Page, open_report: OpenReport, sandbox: SandboxServer
) -> None:
    # The portal answers the code with a server error: the step that submits it fails.
    httpx.post(
        sandbox.urls["portal"] + "/_sandbox/faults",
        json={"route": "/auth/verifyCode", "method": "POST", "status": 500},
        headers=sandbox.control_headers,
    ).raise_for_status()
    result = run_runbook("resend-verify", {"email": "unverified@example.com"})
    failed = next(s for s in result.steps if s.status == "failed")
    problems = open_report(_report_of(result))
    expect(page.locator("#badge")).to_have_text("Not resolved")
    error = page.locator("#error")
    expect(error).to_contain_text(f"Step {failed.number} failed")
    expect(page.locator("#error-where")).to_have_text(f"{failed.file}:{failed.line}")
    expect(error).to_contain_text("500 Server Error")
    expect(error.locator("a.shot img")).to_be_visible()
    assert problems == []


def test_escalated_run_shows_the_ticket(
    run_runbook: Callable[..., RunResult], page: Page, open_report: OpenReport
) -> None:
    result = run_runbook("resend-verify", {"email": "not-in-salesforce@example.com"})
    assert result.ticket is not None
    problems = open_report(_report_of(result))
    expect(page.locator("#badge")).to_have_text("Escalated")
    ticket = page.locator("#ticket")
    expect(ticket).to_contain_text(str(result.ticket["id"]))
    expect(ticket).to_contain_text(str(result.ticket["queue"]))
    assert problems == []


# -- hand-made run.json ---------------------------------------------------------------------------------------

HOSTILE = '<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2">'


def test_html_from_run_json_is_shown_as_text_and_never_runs(
    tmp_path: Path, page: Page, open_report: OpenReport
) -> None:
    step = _step(
        "1",
        HOSTILE,
        status="failed",
        error=HOSTILE,
        page_text=HOSTILE,
        variables={"x": HOSTILE},
        file="runbooks/x.yaml",
        line=3,
    )
    run_dir = _hand_made_run(
        tmp_path,
        {
            "run_id": "r1",
            "runbook": HOSTILE,
            "status": "failed",
            "summary": HOSTILE,
            "error": HOSTILE,
            "inputs": {"email": HOSTILE},
            "steps": [step],
            "ticket": {"id": HOSTILE, "queue": "q", "url": "javascript:window.pwned = 3"},
        },
    )
    report = write_report(run_dir)
    problems = open_report(report)
    assert page.evaluate("window.pwned") is None
    assert page.locator("script").count() == 1  # the lightbox's own, nothing from run.json
    expect(page.locator(".step .label")).to_have_text(HOSTILE)
    assert "<script>window" not in report.read_text() and "javascript:" not in report.read_text()
    assert problems == []


def test_a_partial_run_json_still_renders(tmp_path: Path, page: Page, open_report: OpenReport) -> None:
    run_dir = _hand_made_run(
        tmp_path,
        {
            "run_id": "20260101-120000-x-abcd",
            "status": "aborted",
            "steps": [{"number": "1"}, "not a step"],
            "inputs": None,
        },
    )
    problems = open_report(write_report(run_dir))
    expect(page.locator("#badge")).to_have_text("Aborted")
    expect(page.locator(".step")).to_have_count(1)
    expect(page.locator("header")).to_contain_text("2026-01-01 12:00:00")
    assert problems == []


def test_an_empty_run_json_renders_as_unfinished(tmp_path: Path) -> None:
    html = write_report(_hand_made_run(tmp_path, {})).read_text()
    assert "Aborted" in html and "No steps were recorded." in html


def test_a_missing_run_json_raises_evidence_error(tmp_path: Path) -> None:
    with pytest.raises(EvidenceError, match="run.json"):
        write_report(tmp_path)


def test_the_trace_is_never_embedded(tmp_path: Path) -> None:
    run_dir = _hand_made_run(
        tmp_path,
        {"steps": [_step("1", "a", screenshot="../trace.zip"), _step("2", "b", screenshot="/etc/passwd")]},
    )
    (run_dir / "trace.zip").write_bytes(b"\x89PNG\r\n\x1a\nTRACE-MARKER" * 50)
    html = write_report(run_dir).read_text()
    assert base64.b64encode(b"\x89PNG\r\n\x1a\nTRACE-MARKER").decode()[:16] not in html
    assert "data:image" not in html


def test_over_budget_the_first_screenshots_are_embedded_and_the_rest_linked(tmp_path: Path) -> None:
    png = _png(8, 6)
    names = ["001-a.png", "002-b.png", "003-c.png"]
    steps = [_step(str(i + 1), name, screenshot=f"screenshots/{name}") for i, name in enumerate(names)]
    run_dir = _hand_made_run(tmp_path, {"steps": steps}, dict.fromkeys(names, png))
    html = write_report(run_dir, max_embed_bytes=2 * len(base64.b64encode(png))).read_text()
    assert html.count("data:image/png;base64,") == 2
    assert 'class="shot linked" href="screenshots/003-c.png"' in html
    assert 'id="linked-note"' in html


def test_over_budget_the_failure_screenshot_is_embedded_first(tmp_path: Path) -> None:
    png = _png(8, 6)
    names = ["001-a.png", "002-b.png"]
    steps = [
        _step("1", "a", screenshot=f"screenshots/{names[0]}"),
        _step("2", "b", status="failed", screenshot=f"screenshots/{names[1]}"),
    ]
    run_dir = _hand_made_run(tmp_path, {"status": "failed", "steps": steps}, dict.fromkeys(names, png))
    html = write_report(run_dir, max_embed_bytes=len(base64.b64encode(png))).read_text()
    assert 'class="shot linked" href="screenshots/001-a.png"' in html
    assert 'href="screenshots/002-b.png" data-embedded' in html


def test_a_steps_picture_note_is_shown_under_it(tmp_path: Path, page: Page, open_report: OpenReport) -> None:
    note = "same screenshot as step 1 (the page did not change)"
    run_dir = _hand_made_run(
        tmp_path, {"steps": [_step("1", "Open /a"), _step("2", "Click Nothing", picture_note=note)]}
    )
    problems = open_report(write_report(run_dir))
    expect(page.locator(".step").nth(1).locator(".picture-note")).to_have_text(note)
    expect(page.locator(".step").nth(0).locator(".picture-note")).to_have_count(0)
    assert problems == []
