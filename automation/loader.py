"""YAML -> Runbook models, with file:line:column, the key, and a suggestion on every error.

The YAML is composed once into nodes to keep each key's position; pydantic's error locations are then
walked against the data to find the node they point at. After the models validate, the checks that
need the whole runbook run (outcomes named, variables defined before use, `use` targets and their
inputs/outputs, retry on submitting steps, no secret written into the file). Finding runbooks by name is
catalog.py's job.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from automation import patterns
from automation.load_errors import RunbookWhere, validation_error
from automation.templating import TemplateError, references
from automation.yamlfile import Path_, Where, parse_yaml, suggest

if TYPE_CHECKING:
    from automation.schema import Runbook, StepBase, Use

# The schema (pydantic builds every step model when it is imported) is imported by the functions that
# validate: finding runbooks by name (Catalog.names, `runbook run --help`) reads the files' `name:` only.


@dataclass
class LoadedRunbook:
    """A validated runbook and where it came from; `line_of` maps a step path to its YAML line."""

    model: Runbook
    path: Path | None
    text: str
    positions: dict[Path_, tuple[int, int]] = field(repr=False, default_factory=dict)

    @property
    def name(self) -> str:
        return self.model.name

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    def line_of(self, path: Path_) -> int | None:
        pos = self.positions.get(tuple(path))
        return pos[0] if pos else None


class RunbookSource(Protocol):
    """Where a `use:` step's runbook is found by name (the Catalog): the loader checks its inputs and outcomes."""

    def get(self, name: str, *, near: Where | None = None, where: Path_ = ()) -> LoadedRunbook: ...


# -- whole-runbook checks ---------------------------------------------------------------------------------


def walk_steps(steps: list[Any], here: Path_) -> Iterator[tuple[Path_, StepBase]]:
    """Every step in document order, with its path, arms included."""
    from automation.schema import Branch

    for index, step in enumerate(steps):
        path = here + (index,)
        yield path, step
        if isinstance(step, Branch):
            for index, arm in enumerate(step.branch.when):
                yield from walk_steps(arm.steps, path + ("branch", "when", index, "steps"))
            if step.branch.else_:
                yield from walk_steps(step.branch.else_.steps, path + ("branch", "else", "steps"))


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def _defines(step: StepBase) -> list[str]:
    from automation.schema import Branch, Use

    names = [
        getattr(step, attr) for attr in ("ask", "into", "save") if isinstance(getattr(step, attr, None), str)
    ]
    if isinstance(step, Use):
        names += step.outputs + ([step.save_outcome] if step.save_outcome else [])
    if isinstance(step, Branch):
        names += [arm.save for arm in step.branch.when if arm.save]
    return names


def _check_templates(step: StepBase, path: Path_, known: set[str], ctx: RunbookWhere) -> None:
    from automation.schema import Branch

    dumped = step.model_dump(by_alias=True, exclude={"label"})
    if isinstance(step, Branch):  # the arms' steps are checked on their own, in order
        dumped = {
            "when": [{k: v for k, v in arm.items() if k != "steps"} for arm in dumped["branch"]["when"]]
        }
    for text in _strings(dumped):
        try:
            names = references(text)
        except TemplateError as exc:
            raise ctx.error(str(exc), path) from exc
        for name in names:
            head = name.split(".")[0]
            if head not in known:
                raise ctx.error(
                    f"unknown variable '{head}'{suggest(head, sorted(known))}; "
                    f"known here: {', '.join(sorted(known)) or 'none'}",
                    path,
                )


def _check_regex(pattern: str | None, key: str, path: Path_, ctx: RunbookWhere) -> None:
    if pattern is None:
        return
    # compiled as the run will match it (automation/patterns.py): the `regex` module, V0 (re's semantics)
    problem = patterns.compile_error(pattern)
    if problem is not None:
        raise ctx.error(f"'{key}' is not a valid regular expression: {problem}", path)


def _check_regexes(step: StepBase, path: Path_, ctx: RunbookWhere) -> None:
    _check_regex(getattr(step, "pattern", None), "pattern", path, ctx)
    mail = getattr(step, "from_mail", None)
    if mail is not None:
        _check_regex(mail.pattern, "from_mail.pattern", path, ctx)


def _check_step(
    step: StepBase, path: Path_, rb: Runbook, ctx: RunbookWhere, catalog: RunbookSource | None
) -> None:
    from automation.schema import SUBMITTING_ACTIONS, Branch, Escalate, Use

    outcomes = set(rb.outcomes)
    ends = [getattr(step, "end", None)] if step.action == "end" else []
    if isinstance(step, Branch):
        ends += [arm.end for arm in step.branch.when] + ([step.branch.else_.end] if step.branch.else_ else [])
    for end in ends:
        if end is not None and end not in outcomes:
            raise ctx.error(
                f"unknown outcome '{end}'{suggest(end, sorted(outcomes))}; "
                f"declare it under outcomes: ({', '.join(sorted(outcomes))})",
                path,
            )
    if step.retry and step.action in SUBMITTING_ACTIONS and not step.safe_to_repeat:
        raise ctx.error(
            f"'retry' on a {step.action} step could submit twice; add safe_to_repeat: true "
            "if repeating it is harmless",
            path,
        )
    if getattr(step, "secret", False) and step.action == "fill" and not references(step.with_):  # type: ignore[attr-defined]
        raise ctx.error(
            "a secret value is written into the runbook: take it from an input of type secret "
            "or an ask with secret: true",
            path,
        )
    if isinstance(step, Escalate) and not step.escalate.queue.strip():
        raise ctx.error("escalate needs a queue", path)
    _check_regexes(step, path, ctx)
    if isinstance(step, Use):
        _check_use(step, path, rb, ctx, catalog)


def _check_use(step: Use, path: Path_, rb: Runbook, ctx: RunbookWhere, catalog: RunbookSource | None) -> None:
    from automation.schema import StepBase

    if catalog is None:
        return
    sub = catalog.get(step.use, near=ctx, where=path)
    if sub.model.name == rb.name:
        raise ctx.error(f"'{rb.name}' cannot use itself", path)
    inputs = sub.model.inputs
    for given in step.with_:
        if given not in inputs:
            raise ctx.error(f"{step.use} has no input '{given}'{suggest(given, sorted(inputs))}", path)
    for name, spec in inputs.items():
        if spec.required and spec.default is None and not spec.from_env and name not in step.with_:
            if not any(
                isinstance(s, StepBase) and getattr(s, "ask", None) == name
                for _, s in walk_steps(sub.model.steps, ())
            ):
                raise ctx.error(f"{step.use} needs input '{name}': give it under with:", path)
    for out in step.outputs:
        if out not in sub.model.outputs:
            raise ctx.error(
                f"{step.use} does not hand back '{out}' (its outputs: "
                f"{', '.join(sub.model.outputs) or 'none'})",
                path,
            )
    for sub_outcome, mine in step.then.items():
        if sub_outcome not in sub.model.outcomes:
            raise ctx.error(f"{step.use} has no outcome '{sub_outcome}'", path)
        if mine != "continue" and mine not in rb.outcomes:
            raise ctx.error(f"unknown outcome '{mine}' in then:", path)
    for name, outcome in sub.model.outcomes.items():
        if outcome.status != "resolved" and name not in step.then and name not in rb.outcomes:
            raise ctx.error(
                f"{step.use} can end in '{name}' ({outcome.status}): map it under then: "
                f"or declare '{name}' in this runbook's outcomes",
                path,
            )


BUILTINS = {"credentials"}  # {{ credentials.NAME.user / .password }} from the environment


def _check(rb: Runbook, ctx: RunbookWhere, catalog: RunbookSource | None) -> None:
    for name, spec in rb.inputs.items():
        _check_regex(spec.pattern, "pattern", ("inputs", name), ctx)
    known = set(rb.inputs) | BUILTINS
    for block in ("steps", "finally"):
        steps = rb.steps if block == "steps" else rb.finally_
        for path, step in walk_steps(steps, (block,)):
            _check_templates(step, path, known, ctx)
            _check_step(step, path, rb, ctx, catalog)
            known.update(_defines(step))
    for index, case in enumerate(rb.cases):
        where: Path_ = ("cases", index)
        if case.expect not in rb.outcomes:
            raise ctx.error(
                f"case '{case.name}' expects unknown outcome '{case.expect}'"
                f"{suggest(case.expect, sorted(rb.outcomes))}",
                where,
            )
        for given in case.inputs:
            if given not in rb.inputs:
                raise ctx.error(
                    f"case '{case.name}' gives unknown input '{given}'{suggest(given, sorted(rb.inputs))}",
                    where + ("inputs",),
                )


# -- public -----------------------------------------------------------------------------------------------


def load_text(
    text: str, source: str = "<runbook>", *, catalog: RunbookSource | None = None, path: Path | None = None
) -> LoadedRunbook:
    """Validate runbook YAML text; `use:` steps are checked against the catalog. Raises RunbookLoadError."""
    from pydantic import ValidationError

    from automation.schema import Runbook

    data, positions = parse_yaml(text, source)
    ctx = RunbookWhere(source, text, positions)
    if not isinstance(data, dict):
        raise ctx.error("a runbook is a mapping with name, title, app, outcomes and steps", ())
    try:
        model = Runbook.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, data, ctx) from None
    _check(model, ctx, catalog)
    return LoadedRunbook(model=model, path=path, text=text, positions=positions)
