"""How a step is named where people read it: its default label, and the file it comes from.

Language level (the catalog view, the checks file and the engine all name steps the same way), so it imports
nothing of the runner.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # only for the hint: naming a step must not build the schema (start-up cost, issue 12)
    from automation.schema import StepBase


def describe_step(step: StepBase) -> str:
    """A default label: 'click role=button[name="Submit"]'."""
    value = getattr(step, step.action)
    if hasattr(value, "describe"):
        return f"{step.action} {value.describe()}"
    if step.action == "ask":
        return str(getattr(step, "prompt", value))
    if isinstance(value, str):
        return f"{step.action} {value}"
    return step.action


def display_path(path: Path | None) -> str | None:
    """A runbook's file as reports show it: relative to the working folder when inside it, else absolute."""
    if path is None:
        return None
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
