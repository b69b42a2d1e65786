"""runbook: YAML support runbooks executed in a real browser, with evidence.

from automation import load_runbook, run
result = run("resend-verify", {"email": "unverified@example.com"})
result.status, result.outcome, result.evidence_dir
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# The errors are plain classes over an IntEnum: cheap, and every submodule imports them anyway.
from automation.errors import (
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

if TYPE_CHECKING:
    from automation.api import prepare_sandbox, run, validate_inputs
    from automation.catalog import Catalog, load_runbook
    from automation.loader import LoadedRunbook, load_text
    from automation.result import RunResult, StepRecord

# Imported on first access (PEP 562): `import automation.cli` runs this file, and the CLI must not pay for
# httpx, pydantic's schema and the engine before `runbook --help` (issue 12).
_LAZY = {
    "prepare_sandbox": "api",
    "run": "api",
    "validate_inputs": "api",
    "Catalog": "catalog",
    "LoadedRunbook": "loader",
    "load_runbook": "catalog",
    "load_text": "loader",
    "RunResult": "result",
    "StepRecord": "result",
}

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


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later look-ups are plain module attributes
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
