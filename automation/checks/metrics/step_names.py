"""A step's name in a metric label: its number and its label as the runbook's YAML writes it, never the text
a run rendered.

The history keeps what the run showed (StepTiming.label: a `say` step's text with its variables filled in, so
"The email was sent to alice@example.com"); a Prometheus label is kept for weeks, copied to every dashboard and
federated, so it takes only what the runbook file says: the step's `label:`, else its default name made from
the step as written (step_labels.describe_step: a `{{ variable }}` stays a name), cut to LABEL_MAX. A number
that is not unambiguous in the runbook (the arms of a branch share numbers) or a runbook that no longer loads
gives the number alone.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from automation.catalog import Catalog, load_runbook
from automation.errors import RunbookError
from automation.step_labels import describe_step

log = logging.getLogger(__name__)

LABEL_MAX = 60
# A runbook edited while the server runs is read again after this long.
_FRESH_S = 60.0
_cache: dict[str, tuple[float, dict[str, str]]] = {}


def metric_step(runbook: str, number: str, catalog: Catalog | None = None) -> str:
    """'2 Tell the customer': the label of step `number` of the runbook in /metrics."""
    name = static_names(runbook, catalog).get(number)
    return f"{number} {name}" if name else number


def static_names(runbook: str, catalog: Catalog | None = None) -> dict[str, str]:
    """Step number -> its static name, for every step of the runbook whose number names one step only."""
    now = time.monotonic()
    cached = _cache.get(runbook)
    if cached is not None and now - cached[0] < _FRESH_S:
        return cached[1]
    names: dict[str, str | None] = {}
    try:
        catalog = catalog or Catalog.default()
        loaded = load_runbook(runbook, catalog=catalog)
        _walk(catalog, loaded.model.steps, "", names, depth=0)
        _walk(catalog, loaded.model.finally_ or [], "f", names, depth=0)
    except (RunbookError, OSError, ValueError):
        log.debug("metrics: the runbook %r does not load; steps are named by number", runbook, exc_info=True)
    found = {number: name for number, name in names.items() if name}
    _cache[runbook] = (now, found)
    return found


def _walk(catalog: Catalog, steps: list[Any], prefix: str, names: dict[str, str | None], depth: int) -> None:
    """Number the steps as the engine does (step_run.run_steps): "3", "4.1", "4.f1", a branch arm's "5.1"."""
    if depth > 10:  # the catalog refuses `use` circles; this only bounds a very deep nesting
        return
    for index, step in enumerate(steps):
        number = f"{prefix}{index + 1}"
        name = (step.label or describe_step(step)).strip()
        name = name if len(name) <= LABEL_MAX else name[: LABEL_MAX - 1] + "…"
        # Two steps with one number (the arms of a branch) and different names: the number alone.
        names[number] = name if names.get(number, name) == name else None
        if step.action == "use":
            sub = catalog.get(step.use)
            _walk(catalog, sub.model.steps, f"{number}.", names, depth + 1)
            _walk(catalog, sub.model.finally_ or [], f"{number}.f", names, depth + 1)
        elif step.action == "branch":
            arms = [*step.branch.when, *([step.branch.else_] if step.branch.else_ else [])]
            for arm in arms:
                _walk(catalog, arm.steps, f"{number}.", names, depth + 1)
