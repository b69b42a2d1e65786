"""What a runbook case leaves behind: the evidence its policy keeps, and the report of a failing case."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pytest

    from automation.result import RunResult, StepRecord
    from automation.schema import Case


def display(path: Path, config: pytest.Config) -> str:
    """A path as the person typed theirs: relative to where pytest was started, when inside it."""
    try:
        return str(path.resolve().relative_to(config.invocation_params.dir.resolve()))
    except ValueError:
        return str(path)


def _keeps(policy: str, failed: bool) -> bool:
    return policy == "on" or (failed and policy in ("retain-on-failure", "only-on-failure"))


def keep_evidence(folder: Path, failed: bool, *, tracing: str, screenshot: str) -> list[tuple[str, Path]]:
    """Apply the trace (on|off|retain-on-failure) and screenshot (on|off|only-on-failure) policies to a run
    folder; returns (kind, path) of what is kept."""
    trace, shots = folder / "trace.zip", folder / "screenshots"
    if not _keeps(tracing, failed):
        trace.unlink(missing_ok=True)
    if not _keeps(screenshot, failed):
        shutil.rmtree(shots, ignore_errors=True)
    pictures = sorted(shots.glob("*.png")) if shots.is_dir() else []
    if not failed and not trace.exists() and not pictures:
        # like pytest-playwright: a passing test leaves only what the options asked for
        shutil.rmtree(folder, ignore_errors=True)
        return []
    kept: list[tuple[str, Path]] = [("evidence", folder)]
    if trace.exists():
        kept.append(("trace", trace))
    return kept + [("screenshot", p) for p in pictures]


def _indent(text: str, prefix: str) -> str:
    return text.replace("\n", "\n" + prefix)


def _step_lines(step: StepRecord) -> list[str]:
    where = f"{step.file}:{step.line}" if step.line else (step.file or "?")
    lines = [f"  failed step {step.number} ({step.action}: {step.label}) at {where}"]
    shown = (
        ("locator", step.locator),
        ("page", step.page_url),
        ("error", step.error),
        ("the page showed", step.page_text),
    )
    for label, value in shown:
        if value:
            lines.append(f"    {label}: {_indent(value.strip(), '      ')}")
    return lines


def _evidence_lines(
    folder: Path, step: StepRecord | None, kept: dict[str, Path], show: Callable[[Path], str]
) -> list[str]:
    shot = folder / step.screenshot if step and step.screenshot else None
    if shot is not None and shot.exists():
        lines = [f"  screenshot: {show(shot)}"]
    elif "screenshot" in kept:
        lines = [f"  screenshots: {show(folder / 'screenshots')}"]
    else:
        lines = ["  screenshots: not kept (--screenshot)"]
    if "trace" in kept:
        lines.append(f"  trace: {show(kept['trace'])}  (open it: runbook trace {show(folder)})")
    else:
        lines.append("  trace: not kept (--tracing)")
    files = [show(folder / name) for name in ("run.json", "report.html") if (folder / name).exists()]
    if files:
        lines.append(f"  run: {', '.join(files)}")
    return lines


def failure_report(
    result: RunResult, case: Case, *, where: str, kept: dict[str, Path], show: Callable[[Path], str] = str
) -> str:
    """What a QA person needs: where the case is (`where`: file:line), what it expected and got, which step
    failed at which YAML line, on which locator and page, and the evidence kept (paths rendered by `show`)."""
    got = f"'{result.outcome}'" if result.outcome else f"no outcome (the run {result.status})"
    lines = [f"{where}: case {result.runbook}::{case.name} expected outcome '{case.expect}', got {got}"]
    if result.outcome:
        lines.append(f"  summary: {result.summary}")
    step = next((s for s in reversed(result.steps) if s.status == "failed"), None)
    if step is not None:
        lines += _step_lines(step)
    elif result.error:
        lines.append(f"  error: {_indent(result.error, '    ')}")
    elif result.steps:
        last = result.steps[-1]
        lines.append(
            f"  the run ended after step {last.number} ({last.action}: {last.label}) at "
            f"{last.file}:{last.line}"
        )
    return "\n".join(lines + _evidence_lines(Path(result.evidence_dir), step, kept, show))
