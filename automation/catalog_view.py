"""What `runbook list`, `show` and `validate` print: plain data built from the catalog."""

from __future__ import annotations

from typing import Any

from .errors import RunbookLoadError
from .loader import Catalog, LoadedRunbook, load_runbook, walk_steps


def describe(loaded: LoadedRunbook) -> dict[str, Any]:
    model = loaded.model
    return {
        "name": model.name,
        "title": model.title,
        "app": model.app,
        "file": str(loaded.path) if loaded.path else None,
        "source": model.source,
        "tags": model.tags,
        "inputs": {
            n: {"type": i.type, "required": i.required, "help": i.help} for n, i in model.inputs.items()
        },
        "outcomes": {n: {"status": o.status, "summary": o.summary} for n, o in model.outcomes.items()},
        "cases": [{"name": c.name, "expect": c.expect, "inputs": c.inputs} for c in model.cases],
    }


def describe_all(catalog: Catalog | None = None) -> list[dict[str, Any]]:
    """Every runbook, validated. Raises RunbookLoadError for the first bad one."""
    return [describe(r) for r in sorted((catalog or Catalog.default()).all(), key=lambda r: r.name)]


def listing(catalog: Catalog | None = None) -> tuple[list[dict[str, Any]], list[RunbookLoadError]]:
    """Every runbook that loads, described, and the load error of each file that does not."""
    loaded, problems = (catalog or Catalog.default()).load_all()
    return [describe(r) for r in sorted(loaded, key=lambda r: r.name)], problems


def render_show(name: str) -> str:
    # Imported here: the engine's context pulls in httpx, the evidence and the redaction modules, which
    # list and validate never need.
    from .engine.context import describe_step

    loaded = load_runbook(name)
    model = loaded.model
    lines = [f"{model.name}: {model.title}", f"  app: {model.app}   file: {loaded.path}"]
    if model.source:
        lines.append(f"  from: {model.source}")
    if model.description:
        lines += ["", "  " + " ".join(model.description.split())]
    lines += ["", "inputs:"] + [
        f"  --{n.replace('_', '-')} ({i.type}{'' if i.required else ', optional'})  {i.help or ''}"
        for n, i in model.inputs.items()
    ]
    lines += ["", "outcomes:"] + [f"  {n} ({o.status})  {o.summary or ''}" for n, o in model.outcomes.items()]
    lines += ["", "steps:"]
    for path, step in walk_steps(model.steps, ("steps",)):
        depth = (len(path) - 2) // 4
        lines.append(f"  {'  ' * depth}- {step.label or describe_step(step)}  (line {loaded.line_of(path)})")
    if model.cases:
        lines += ["", "cases:"] + [f"  {c.name} -> {c.expect}" for c in model.cases]
    return "\n".join(lines)


def validate_all(names: list[str]) -> tuple[list[str], list[RunbookLoadError]]:
    """'ok name (file)' per runbook that loads, and the load error of each that does not (all are tried)."""
    catalog = Catalog.default()
    if not names:
        loaded, problems = catalog.load_all()
    else:
        loaded, problems = [], []
        for name in names:
            try:
                loaded.append(load_runbook(name, catalog=catalog))
            except RunbookLoadError as exc:
                problems.append(exc)
    return [f"ok  {r.name:<32} {r.path}" for r in loaded], problems
