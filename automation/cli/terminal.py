"""What the agent sees in the terminal: a line per step as it runs, prompts, and the run's ending."""

from __future__ import annotations

import getpass
import sys
from pathlib import Path
from typing import Any, TextIO

from automation.engine.answers import Question
from automation.errors import ConfigError
from automation.paths import run_page_url
from automation.result import LIVE_DETAILS, RunResult, StepRecord

ICONS = {"passed": "✓", "failed": "✗", "warning": "!", "skipped": "-"}
ENDINGS = {
    "passed": "RESOLVED",
    "escalated": "ESCALATED",
    "failed": "NOT RESOLVED",
    "error": "ERROR",
    "aborted": "INTERRUPTED",
    "timed-out": "TIMED OUT",
    "cancelled": "CANCELLED",
    "unanswered": "UNANSWERED",
}


class ConsoleReporter:
    """Live progress: one line per step with its duration (to stderr when stdout carries --json)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout

    def _write(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    def step_started(self, record: StepRecord) -> None:
        pass  # one line per step, written when it ends: it carries the result and the duration

    def step_finished(self, record: StepRecord) -> None:
        if record.action == "say" and record.status == "passed":
            return  # already shown as the instruction itself
        indent = "  " * record.number.count(".")
        line = f"  {ICONS.get(record.status, '?')} {indent}{record.number:<5} {record.label}"
        line = f"{line:<78} {record.duration_s:>6.2f}s"
        if record.detail and record.action in LIVE_DETAILS:
            line += f"\n        {indent}→ {record.detail}"
        if record.status == "warning" and record.error:
            line += f"\n        {indent}(optional step missed: {record.error.splitlines()[0]})"
        self._write(line)

    def say(self, text: str) -> None:
        self._write(f"  » {text}")


class ConsolePrompter:
    """Asks the agent at the terminal; secrets are read without echo."""

    def ask(self, question: Question) -> str:
        suffix = " [yes/no]" if question.yes_no else ""
        if question.secret:
            return getpass.getpass(f"  ? {question.prompt}{suffix}: ")
        sys.stdout.write(f"  ? {question.prompt}{suffix}: ")
        sys.stdout.flush()
        line = sys.stdin.readline()
        if not line:
            raise EOFError("no answer (end of input)")
        return line.strip()


def render_result(result: RunResult) -> str:
    """The closing lines: outcome, where the evidence is, how to open the trace, the ticket."""
    lines = [
        "",
        f"{ENDINGS.get(result.status, result.status.upper())}"
        + (f": {result.outcome}" if result.outcome else "")
        + f" — {result.summary}",
    ]
    if result.error and result.status != "passed":
        lines += ["", *("  " + line for line in result.error.splitlines())]
    lines.append("")
    console = _console_line(result.run_id)
    if console:
        lines.append(console)
    lines.append(f"  evidence: {_short(result.evidence_dir)}")
    if "report" in result.artifacts:
        lines.append(f"  report:   {_short(result.artifacts['report']).rstrip('/')}")
    if "trace" in result.artifacts:
        lines.append(f"  trace:    runbook trace {result.run_id}   (or --actions for a text list)")
    if result.ticket:
        ticket = result.ticket
        ident = ticket.get("id") or ticket.get("local_id") or "ticket"
        lines.append(
            f"  ticket:   {ident} in {ticket.get('queue')}"
            + (f" ({ticket.get('status')})" if ticket.get("status") else "")
        )
    return "\n".join(lines)


def _console_line(run_id: str) -> str:
    """The run's page on the console, when the server has a public address (RUNBOOK_PUBLIC_URL)."""
    try:
        link = run_page_url(run_id)
    except ConfigError as exc:  # the run is over: say what is wrong rather than lose its closing lines
        return f"  console:  not linked: {exc}"
    return f"  console:  {link}" if link else ""


def _short(path: str) -> str:
    """A path relative to the working folder when it is inside it: easier to read and to copy."""
    try:
        return str(Path(path).relative_to(Path.cwd())) + "/"
    except ValueError:
        return path


def is_interactive() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


def error(message: str, stream: Any = None) -> None:
    (stream or sys.stderr).write(f"error: {message}\n")
