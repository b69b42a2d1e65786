"""YAML -> Runbook models, with file:line:column, the key, and a suggestion on every error.

The YAML is composed once into nodes to keep each key's position; pydantic's error locations are then
walked against the data to find the node they point at. After the models validate, the checks that
need the whole runbook run (outcomes named, variables defined before use, `use` targets and their
inputs/outputs, retry on submitting steps, no secret written into the file).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from automation.errors import RunbookLoadError

# _data_path, step_number and suggest are re-exported for checks/config.py and catalog_view.py
from automation.load_errors import _data_path, error_at_step, step_number, suggest, validation_error  # noqa: F401
from automation.paths import runbook_path
from automation.templating import TemplateError, references
from automation.yamlfile import Path_, parse_yaml, read_yaml_text

if TYPE_CHECKING:
    from automation.schema import Runbook, StepBase, Use

# The schema (pydantic builds every step model when it is imported) is imported by the functions that
# validate: finding runbooks by name (Catalog.names, `runbook run --help`) reads the files' `name:` only.

PROJECT_RUNBOOKS = Path(__file__).resolve().parent.parent / "runbooks"


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


# YAML reading (limits, positions, errors) lives in yamlfile.py; re-exported for callers of the loader.

# -- whole-runbook checks ---------------------------------------------------------------------------------


@dataclass
class _Ctx:
    source: str
    text: str
    positions: dict[Path_, tuple[int, int]]

    def error(self, message: str, where: Path_) -> RunbookLoadError:
        return error_at_step(message, self.source, self.text, self.positions, where)


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


def _check_templates(step: StepBase, path: Path_, known: set[str], ctx: _Ctx) -> None:
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


def _check_regex(pattern: str | None, key: str, path: Path_, ctx: _Ctx) -> None:
    if pattern is None:
        return
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ctx.error(f"'{key}' is not a valid regular expression: {exc}", path) from exc


def _check_regexes(step: StepBase, path: Path_, ctx: _Ctx) -> None:
    _check_regex(getattr(step, "pattern", None), "pattern", path, ctx)
    mail = getattr(step, "from_mail", None)
    if mail is not None:
        _check_regex(mail.pattern, "from_mail.pattern", path, ctx)


def _check_step(step: StepBase, path: Path_, rb: Runbook, ctx: _Ctx, catalog: Catalog | None) -> None:
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


def _check_use(step: Use, path: Path_, rb: Runbook, ctx: _Ctx, catalog: Catalog | None) -> None:
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


def _check(rb: Runbook, ctx: _Ctx, catalog: Catalog | None) -> None:
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
    text: str, source: str = "<runbook>", *, catalog: Catalog | None = None, path: Path | None = None
) -> LoadedRunbook:
    """Validate runbook YAML text. Raises RunbookLoadError."""
    from pydantic import ValidationError

    from automation.schema import Runbook

    data, positions = parse_yaml(text, source)
    ctx = _Ctx(source, text, positions)
    if not isinstance(data, dict):
        raise ctx.error("a runbook is a mapping with name, title, app, outcomes and steps", ())
    try:
        model = Runbook.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, data, source, text, positions) from None
    _check(model, ctx, catalog)
    return LoadedRunbook(model=model, path=path, text=text, positions=positions)


def is_file_ref(name_or_path: str | Path) -> bool:
    """A file path rather than a runbook's name."""
    candidate = Path(name_or_path)
    return candidate.suffix in (".yaml", ".yml") or candidate.exists()


def load_runbook(name_or_path: str | Path, *, catalog: Catalog | None = None) -> LoadedRunbook:
    """Load a runbook by name (from the catalog) or by file path. Raises RunbookLoadError."""
    catalog = catalog or catalog_for(name_or_path)
    if is_file_ref(name_or_path):
        return catalog.load_file(Path(name_or_path))
    return catalog.get(str(name_or_path))


def catalog_for(name_or_path: str | Path) -> Catalog:
    """The default catalog, and for a file outside it the file's own folder first, so that its `use:`
    finds the runbooks beside it."""
    catalog = Catalog.default()
    if is_file_ref(name_or_path):
        folder = Path(name_or_path).resolve().parent
        if folder.is_dir() and folder not in {r.resolve() for r in catalog.roots}:
            return Catalog([folder, *catalog.roots])
    return catalog


# Folders added by `--catalog DIR` for this process; searched before $RUNBOOK_PATH or the default folder.
_EXTRA_ROOTS: list[Path] = []


def add_catalogs(folders: list[Path]) -> None:
    """Add folders to the default catalog of this process (`--catalog DIR`). Raises RunbookLoadError for
    one that is not a folder."""
    for folder in folders:
        if not folder.is_dir():
            raise RunbookLoadError(
                "--catalog: this is not a folder: give a folder that holds runbook files", path=str(folder)
            )
        if folder.resolve() not in {r.resolve() for r in _EXTRA_ROOTS}:
            _EXTRA_ROOTS.append(folder)


def runbook_files(path: Path) -> list[Path]:
    """A runbook file itself, or every runbook file under a folder (other YAML, such as a checks file, is
    left out). Raises RunbookLoadError for a path that does not exist."""
    if path.is_dir():
        return sorted(Catalog([path])._scan()[0].values())
    if not path.exists():
        raise RunbookLoadError("no such file or folder", path=str(path))
    return [path]


class Catalog:
    """Where runbooks are found by name: the `--catalog` folders, then $RUNBOOK_PATH (os.pathsep-separated
    folders), else ./runbooks, else the project's runbooks/ folder."""

    def __init__(self, roots: list[Path]) -> None:
        self.roots = [r for r in roots if r.is_dir()]
        self._cache: dict[Path, LoadedRunbook] = {}
        self._loading: set[Path] = set()

    @classmethod
    def default(cls) -> Catalog:
        configured = runbook_path()
        if configured:
            return cls([*_EXTRA_ROOTS, *configured])
        local = Path.cwd() / "runbooks"
        return cls([*_EXTRA_ROOTS, local if local.is_dir() else PROJECT_RUNBOOKS])

    def files(self) -> list[Path]:
        found: list[Path] = []
        for root in self.roots:
            found += sorted(p for p in root.rglob("*.y*ml") if p.suffix in (".yaml", ".yml"))
        return found

    def names(self) -> dict[str, Path]:
        """name -> file, read from each file's `name:` key (cheap: no validation; unreadable files skipped)."""
        return self._scan()[0]

    def problems(self) -> list[RunbookLoadError]:
        """Files of the catalog that cannot be read as YAML text, and names used by two files."""
        return self._scan()[1]

    def _scan(self) -> tuple[dict[str, Path], list[RunbookLoadError]]:
        out: dict[str, Path] = {}
        problems: list[RunbookLoadError] = []
        for file in self.files():
            try:
                text = read_yaml_text(file)
            except RunbookLoadError as exc:  # one bad file must not hide the others
                problems.append(exc)
                continue
            match = re.search(r"^name:\s*['\"]?([a-z][a-z0-9_-]*)", text, re.M)
            if not match or not re.search(r"^steps:", text, re.M):  # other YAML (a checks file)
                continue
            first = out.setdefault(match.group(1), file)
            if first != file:
                problems.append(
                    RunbookLoadError(
                        f"the name '{match.group(1)}' is already used by {_display(first)}: rename one",
                        path=_display(file),
                        line=text[: match.start()].count("\n") + 1,
                    )
                )
        return out, problems

    def load_file(self, file: Path) -> LoadedRunbook:
        """Load one runbook file (cached), its `use` targets checked. Raises RunbookLoadError."""
        file = file.resolve()
        if file in self._cache:
            return self._cache[file]
        if file in self._loading:
            raise RunbookLoadError("runbooks use each other in a circle", path=_display(file))
        text = read_yaml_text(file)
        self._loading.add(file)
        try:
            loaded = load_text(text, _display(file), catalog=self, path=file)
        finally:
            self._loading.discard(file)
        self._cache[file] = loaded
        return loaded

    def get(self, name: str, *, near: _Ctx | None = None, where: Path_ = ()) -> LoadedRunbook:
        names = self.names()
        if name not in names:
            message = (
                f"no runbook named '{name}'{suggest(name, sorted(names))}; known: {', '.join(sorted(names))}"
            )
            if near is None and self.problems():
                message += f" ({len(self.problems())} file(s) of the catalog do not load: runbook validate)"
            if near is not None:
                raise near.error(message, where)
            raise RunbookLoadError(message, path=name)
        return self.load_file(names[name])

    def all(self) -> list[LoadedRunbook]:
        """Every runbook of the catalog. Raises RunbookLoadError for the first bad file."""
        loaded, problems = self.load_all()
        if problems:
            raise problems[0]
        return loaded

    def load_all(self) -> tuple[list[LoadedRunbook], list[RunbookLoadError]]:
        """Every runbook that loads, and the load error of every file that does not (in file order)."""
        names, problems = self._scan()
        loaded: list[LoadedRunbook] = []
        for file in names.values():
            try:
                loaded.append(self.load_file(file))
            except RunbookLoadError as exc:
                problems.append(exc)
        return loaded, problems


def _display(file: Path) -> str:
    try:
        return str(file.relative_to(Path.cwd()))
    except ValueError:
        return str(file)
