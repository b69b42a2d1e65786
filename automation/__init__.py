"""runbook: YAML support runbooks executed in a real browser, with evidence.

from automation import load_runbook, run
result = run("resend-verify", {"email": "unverified@example.com"})
result.status, result.outcome, result.evidence_dir
"""

from __future__ import annotations

from .api import prepare_sandbox, run, validate_inputs
from .errors import (
    ConfigError,
    EvidenceError,
    ExitCode,
    InputValueError,
    MissingAnswerError,
    RunbookError,
    RunbookLoadError,
    StepFailed,
    TargetUnreachableError,
    TicketError,
    TrackerUnavailable,
    UsageError,
)
from .loader import Catalog, LoadedRunbook, load_runbook, load_text
from .result import RunResult, StepRecord

__all__ = [
    "Catalog",
    "ConfigError",
    "EvidenceError",
    "ExitCode",
    "InputValueError",
    "LoadedRunbook",
    "MissingAnswerError",
    "RunResult",
    "RunbookError",
    "RunbookLoadError",
    "StepFailed",
    "StepRecord",
    "TargetUnreachableError",
    "TicketError",
    "TrackerUnavailable",
    "UsageError",
    "load_runbook",
    "load_text",
    "prepare_sandbox",
    "run",
    "validate_inputs",
]
