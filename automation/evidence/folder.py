"""The run folder: traces/<run-id>/ with trace.zip, screenshots/, run.json and report.html."""

from __future__ import annotations

import json
import os
import re
import secrets
import time
from pathlib import Path
from typing import Any

from automation.errors import UsageError
from automation.paths import evidence_root


def check_writable(folder: Path, option: str) -> None:
    """Refuse a folder that cannot be created or written (before a run starts). Raises UsageError."""
    try:
        probe = folder.absolute()
        while not probe.exists() and probe.parent != probe:  # the nearest existing part must allow the rest
            probe = probe.parent
        usable = probe.is_dir() and os.access(probe, os.W_OK | os.X_OK)
    except (OSError, ValueError) as exc:  # e.g. a NUL byte in the path, a folder we may not look into
        raise UsageError(f"{option} {folder}: cannot use this folder ({exc}). Give another one.") from None
    if not usable:
        why = "is not a folder" if not probe.is_dir() else "cannot be written"
        raise UsageError(
            f"{option} {folder}: {probe} {why}, so the run's evidence could not be kept. "
            "Give a folder you can write to."
        )


def new_run_id(runbook: str) -> str:
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{runbook}-{secrets.token_hex(2)}"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "step"


class RunFolder:
    """Creates and fills one run's evidence folder."""

    def __init__(self, root: Path, run_id: str) -> None:
        self.run_id = run_id
        self.path = (root / run_id).resolve()
        self.screenshots = self.path / "screenshots"
        self.screenshots.mkdir(parents=True, exist_ok=True)
        self.trace = self.path / "trace.zip"

    def screenshot_path(self, number: str, label: str) -> Path:
        # 004-01-...: sorts in run order, sub-steps after their parent
        return (
            self.screenshots
            / f"{'-'.join(p.zfill(3 if i == 0 else 2) for i, p in enumerate(number.split('.')))}-{_slug(label)}.png"
        )

    def relative(self, path: Path) -> str:
        return str(path.relative_to(self.path))

    def write_json(self, name: str, data: Any) -> Path:
        target = self.path / name
        tmp = target.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
        tmp.replace(target)
        return target


def find_run(run: str, root: Path | None = None) -> Path:
    """A run folder from its id, a unique prefix/suffix of it, 'last', or a path. Raises FileNotFoundError."""
    candidate = Path(run)
    if candidate.is_dir():
        return candidate
    root = root or evidence_root()
    runs = (
        sorted((p for p in root.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime)
        if root.is_dir()
        else []
    )
    if run == "last" and runs:
        return runs[-1]
    matches = [p for p in runs if p.name == run] or [p for p in runs if run in p.name]
    if len(matches) == 1:
        return matches[0]
    raise FileNotFoundError(f"no single run matches '{run}' under {root}")
