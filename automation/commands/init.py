"""`runbook init [DIR]`: copy the built-in runbooks and checks file out, for a team to edit as its own.

./runbooks is the folder every command reads first (after --catalog and RUNBOOK_PATH), so after `runbook init`
the copies are what `runbook list`, `run` and `checks` use.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from automation.errors import UsageError
from automation.paths import builtin_runbooks

DEFAULT_FOLDER = Path("runbooks")
# What the built-in catalog holds that is the product's content: runbooks, the checks file, editor schemas.
PATTERNS = ("*.yaml", "*.json", "*/*.yaml")


@dataclass(frozen=True)
class Initialised:
    """The folder written and the files copied into it (relative to the folder)."""

    folder: Path
    files: tuple[Path, ...]

    @property
    def runbooks(self) -> int:
        return sum(1 for f in self.files if f.parent != Path("."))


def builtin_files(source: Path | None = None) -> list[Path]:
    """The built-in catalog's files, relative to it, sorted."""
    root = source or builtin_runbooks()
    return sorted({p.relative_to(root) for pattern in PATTERNS for p in root.glob(pattern) if p.is_file()})


def init_catalog(
    folder: Path | None = None, *, force: bool = False, source: Path | None = None
) -> Initialised:
    """Copy the built-in catalog into `folder` (default ./runbooks).

    Raises UsageError, before writing anything, when a file would be overwritten without `force` or the
    folder cannot be written."""
    folder = folder or DEFAULT_FOLDER
    root = source or builtin_runbooks()
    files = builtin_files(root)
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"DIR '{folder}' is a file, not a folder: name a folder to copy the runbooks into")
    clashes = [f for f in files if (folder / f).exists()]
    if clashes and not force:
        shown = ", ".join(str(folder / f) for f in clashes[:3]) + (" ..." if len(clashes) > 3 else "")
        raise UsageError(
            f"DIR '{folder}' already has {len(clashes)} of these files ({shown}): nothing was copied. "
            "Choose another folder, or pass --force to overwrite them."
        )
    try:
        for rel in files:
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(root / rel, folder / rel)
    except OSError as exc:
        raise UsageError(f"DIR '{folder}': cannot write there ({exc.strerror or exc})") from exc
    return Initialised(folder=folder, files=tuple(files))
