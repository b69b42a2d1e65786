"""What a run returns and records: frozen, typed, rendered as text by the CLI or as JSON (run.json, --json)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from automation.errors import ExitCode

RunStatus = Literal[
    "passed", "escalated", "failed", "error", "aborted", "timed-out", "cancelled", "unanswered"
]
# Which pictures a run takes: one per step that changes the page (the default), only the failing step's (and
# explicit `screenshot:` steps), or none.
Screenshots = Literal["each-step", "on-failure", "off"]
SCREENSHOT_POLICIES: tuple[str, ...] = ("each-step", "on-failure", "off")
StepStatus = Literal["passed", "failed", "warning", "skipped"]
# The steps whose detail an agent watching a run needs beside the label (which way a branch went, what was
# answered, what a sub-procedure did): the terminal and the console show these live; other details (attempts)
# stay in run.json and the report.
LIVE_DETAILS: frozenset[str] = frozenset({"branch", "ask", "use", "dialog", "extract"})


@dataclass
class StepRecord:
    """One executed step (or one attempt's summary) as the evidence keeps it."""

    number: str  # "3", or "4.2" inside a sub-runbook / branch arm
    action: str
    label: str
    status: StepStatus = "passed"
    duration_s: float = 0.0
    line: int | None = None
    file: str | None = None
    locator: str | None = None
    detail: str | None = None  # e.g. which branch arm was taken and why
    error: str | None = None
    page_url: str | None = None
    page_text: str | None = None  # what the page showed instead, on failure
    variables: dict[str, str] = field(default_factory=dict)  # used by the step, secrets masked
    screenshot: str | None = None  # path relative to the run folder
    # About the picture, for run.json and the report only (not the live lines): "same screenshot as step 2 ..."
    picture_note: str | None = None
    attempts: int = 1


@dataclass(frozen=True)
class RunResult:
    """The end of a run: status, outcome, where the evidence is, the ticket if one was opened."""

    run_id: str
    runbook: str
    status: RunStatus
    outcome: str | None
    summary: str
    evidence_dir: str
    artifacts: dict[str, str]
    steps: tuple[StepRecord, ...] = ()
    ticket: dict[str, Any] | None = None
    error: str | None = None
    environment: str = "sandbox"
    base_urls: dict[str, str] = field(default_factory=dict)  # app -> URL the run reached (passwords masked)
    duration_s: float = 0.0
    exit_code: int = int(ExitCode.RESOLVED)

    @property
    def resolved(self) -> bool:
        return self.status == "passed"

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["steps"] = [asdict(s) for s in self.steps]
        return data
