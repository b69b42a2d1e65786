"""What `runbook list`, `show` and `validate` print: plain data built from the catalog."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from automation.catalog import HOW_TO_ADD, Catalog, catalog_for, is_file_ref, load_runbook, runbook_files
from automation.errors import RunbookLoadError
from automation.load_errors import step_number
from automation.loader import LoadedRunbook, walk_steps
from automation.yamlfile import Path_


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


def listing(
    paths: list[str] | None = None, catalog: Catalog | None = None
) -> tuple[list[dict[str, Any]], list[RunbookLoadError]]:
    """Every runbook that loads (of `paths`, files or folders; default: the catalog), described, and the
    load error of each file that does not."""
    if paths:
        loaded, problems = _load_paths(paths)
    else:
        loaded, problems = (catalog or Catalog.default()).load_all()
    return [describe(r) for r in sorted(loaded, key=lambda r: r.name)], problems


def nothing_found(catalog: Catalog | None = None) -> str:
    """What `runbook list` says when the catalog has no runbook: where it looked and how to add one."""
    return f"no runbooks found ({(catalog or Catalog.default()).where_it_looked()}); {HOW_TO_ADD}"


def _load_paths(paths: list[str]) -> tuple[list[LoadedRunbook], list[RunbookLoadError]]:
    """Each runbook named, or file given, or found in a folder given; every one tried."""
    loaded: list[LoadedRunbook] = []
    problems: list[RunbookLoadError] = []
    # One catalog per folder, so that a runbook many others `use` (netsuite-login) is parsed once, not once
    # per user: it caches what it loaded.
    catalogs: dict[Path | None, Catalog] = {}

    def catalog_of(file: str | Path) -> Catalog:
        folder = Path(file).resolve().parent if is_file_ref(file) else None
        if folder not in catalogs:
            catalogs[folder] = catalog_for(file)
        return catalogs[folder]

    for given in paths:
        try:
            files = runbook_files(Path(given)) if is_file_ref(given) else [given]
            if Path(given).is_dir():  # files there that cannot be read as YAML text, names used twice
                problems += Catalog([Path(given)]).problems()
            for file in files:
                try:
                    loaded.append(load_runbook(file, catalog=catalog_of(file)))
                except RunbookLoadError as exc:
                    problems.append(exc)
        except RunbookLoadError as exc:
            problems.append(exc)
    return loaded, problems


def show_record(name: str) -> dict[str, Any]:
    """`runbook show --json`: the runbook described, with its steps numbered as a run numbers them."""
    from automation.step_labels import describe_step

    loaded = load_runbook(name)
    record = describe(loaded)
    record["steps"] = [
        {
            "number": number,
            "label": step.label or describe_step(step),
            "action": step.action,
            "line": loaded.line_of(path),
        }
        for number, path, step in numbered_steps(loaded)
    ]
    return record


def numbered_steps(loaded: LoadedRunbook) -> list[tuple[str, Path_, Any]]:
    """(number, path, step) of every step, numbered as the terminal and run.json number them."""
    out = []
    for block in ("steps", "finally"):
        steps = loaded.model.steps if block == "steps" else loaded.model.finally_
        for path, step in walk_steps(steps, (block,)):
            out.append((step_number(path)[0] or "?", path, step))
    return out


def render_show(name: str) -> str:
    # Imported here: the engine's context pulls in httpx, the evidence and the redaction modules, which
    # list and validate never need.
    from automation.step_labels import describe_step

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
    for number, path, step in numbered_steps(loaded):
        depth = number.count(".")
        label = step.label or describe_step(step)
        lines.append(f"  {'  ' * depth}{number:<5} {label}  (line {loaded.line_of(path)})")
    if model.cases:
        lines += ["", "cases:"] + [f"  {c.name} -> {c.expect}" for c in model.cases]
    return "\n".join(lines)


def validate_all(names: list[str]) -> tuple[list[str], list[RunbookLoadError]]:
    """'ok name (file)' per runbook that loads, and the load error of each that does not (all are tried)."""
    loaded, problems = _load_paths(names) if names else Catalog.default().load_all()
    return [f"ok  {r.name:<32} {r.path}" for r in loaded], problems


def validate_record(names: list[str]) -> dict[str, Any]:
    """`runbook validate --json`: each runbook that loads, and each problem with its file:line."""
    loaded, problems = _load_paths(names) if names else Catalog.default().load_all()
    return {
        "ok": [{"name": r.name, "file": str(r.path)} for r in loaded],
        "problems": [
            {"file": p.path, "line": p.line, "column": p.column, "message": p.message} for p in problems
        ],
    }
