"""Where runbooks are found by name: the catalog's folders, the names its files declare, loading by name or file.

The folders, in order: those given with `--catalog DIR`, then $RUNBOOK_PATH (os.pathsep-separated), else
./runbooks, else the built-in catalog the package ships (paths.builtin_runbooks()). A name that is not found is
answered with the folders that were searched, so the person knows where to put the file.
"""

from __future__ import annotations

import re
from pathlib import Path

from automation.errors import RunbookLoadError
from automation.loader import LoadedRunbook, load_text
from automation.paths import builtin_runbooks, runbook_path
from automation.yamlfile import Path_, Where, display_path, read_yaml_text, suggest

# Folders added by `--catalog DIR` for this process; searched before $RUNBOOK_PATH or the default folder.
_EXTRA_ROOTS: list[Path] = []

HOW_TO_ADD = (
    "give a folder of runbooks with --catalog DIR or RUNBOOK_PATH, or copy the built-in ones "
    "into ./runbooks with `runbook init`"
)


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


def default_roots() -> list[Path]:
    """The folders of the default catalog: --catalog, then $RUNBOOK_PATH, else ./runbooks, else the built-in."""
    configured = runbook_path()
    if configured:
        return [*_EXTRA_ROOTS, *configured]
    local = Path.cwd() / "runbooks"
    return [*_EXTRA_ROOTS, local if local.is_dir() else builtin_runbooks()]


class Catalog:
    """Runbooks found by name in a list of folders (those that are not folders are remembered, not searched)."""

    def __init__(self, roots: list[Path]) -> None:
        self.looked_in = list(roots)  # every folder asked for, to say where a missing runbook was looked for
        self.roots = [r for r in roots if r.is_dir()]
        self._cache: dict[Path, LoadedRunbook] = {}
        self._loading: set[Path] = set()

    @classmethod
    def default(cls) -> Catalog:
        return cls(default_roots())

    def where_it_looked(self) -> str:
        """'looked in: runbooks, /srv/more (not a folder)': the folders searched, for a message."""
        folders = [display_path(r) + ("" if r.is_dir() else " (not a folder)") for r in self.looked_in]
        return f"looked in: {', '.join(folders) or 'no folder'}"

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
        """Every runbook file's name (other YAML, such as a checks file, is left out) and the files that
        cannot be read or reuse a name."""
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
                        f"the name '{match.group(1)}' is already used by {display_path(first)}: rename one",
                        path=display_path(file),
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
            raise RunbookLoadError("runbooks use each other in a circle", path=display_path(file))
        text = read_yaml_text(file)
        self._loading.add(file)
        try:
            loaded = load_text(text, display_path(file), catalog=self, path=file)
        finally:
            self._loading.discard(file)
        self._cache[file] = loaded
        return loaded

    def get(self, name: str, *, near: Where | None = None, where: Path_ = ()) -> LoadedRunbook:
        """The runbook of that name; `near`: the file whose `use:` names it, for the error's line. Raises
        RunbookLoadError naming the known runbooks and the folders searched."""
        names = self.names()
        if name not in names:
            message = self.not_found(name, names)
            if near is None and self.problems():
                message += f" ({len(self.problems())} file(s) of the catalog do not load: runbook validate)"
            if near is not None:
                raise near.error(message, where)
            raise RunbookLoadError(message, path=name)
        return self.load_file(names[name])

    def not_found(self, name: str, names: dict[str, Path] | None = None) -> str:
        """What to say when no runbook has that name: the near miss, the known names, where it looked."""
        known = sorted(self.names() if names is None else names)
        if not known:
            return f"no runbook named '{name}': the catalog is empty ({self.where_it_looked()}); {HOW_TO_ADD}"
        return (
            f"no runbook named '{name}'{suggest(name, known)}; known: {', '.join(known)} "
            f"({self.where_it_looked()})"
        )

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


def is_file_ref(name_or_path: str | Path) -> bool:
    """A file path rather than a runbook's name."""
    candidate = Path(name_or_path)
    return candidate.suffix in (".yaml", ".yml") or candidate.exists()


def catalog_for(name_or_path: str | Path) -> Catalog:
    """The default catalog, and for a file outside it the file's own folder first, so that its `use:`
    finds the runbooks beside it."""
    catalog = Catalog.default()
    if is_file_ref(name_or_path):
        folder = Path(name_or_path).resolve().parent
        if folder.is_dir() and folder not in {r.resolve() for r in catalog.roots}:
            return Catalog([folder, *catalog.roots])
    return catalog


def load_runbook(name_or_path: str | Path, *, catalog: Catalog | None = None) -> LoadedRunbook:
    """Load a runbook by name (from the catalog) or by file path. Raises RunbookLoadError."""
    catalog = catalog or catalog_for(name_or_path)
    if is_file_ref(name_or_path):
        return catalog.load_file(Path(name_or_path))
    return catalog.get(str(name_or_path))


def runbook_files(path: Path) -> list[Path]:
    """A runbook file itself, or every runbook file under a folder (other YAML, such as a checks file, is
    left out). Raises RunbookLoadError for a path that does not exist."""
    if path.is_dir():
        return sorted(Catalog([path]).names().values())
    if not path.exists():
        raise RunbookLoadError("no such file or folder", path=str(path))
    return [path]
