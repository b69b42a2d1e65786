"""Collection: a runbook file (YAML with top-level `name:` and `steps:`) becomes a node per runbook, marked
`runbook`, with its app and its tags, holding one item per case."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from automation.errors import RunbookError
from automation.pytest_plugin.items import CaseItem, run_case
from automation.pytest_plugin.placement import catalog

if TYPE_CHECKING:
    from automation.loader import LoadedRunbook

_TOP_KEY = re.compile(r"^(name|steps)\s*:", re.M)


def is_runbook_file(path: Path) -> bool:
    """A YAML file with top-level `name:` and `steps:` keys (other YAML, such as checks.yaml, is not ours)."""
    if path.suffix not in (".yaml", ".yml"):
        return False
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    return {m.group(1) for m in _TOP_KEY.finditer(text)} == {"name", "steps"}


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> RunbookFile | None:
    if is_runbook_file(file_path):
        return RunbookFile.from_parent(parent, path=file_path)
    return None


def register_marker(config: pytest.Config, name: str, about: str) -> None:
    """Register a marker unless known: --strict-markers accepts only registered names, and apps and tags are
    open-ended, so they are registered as met."""
    known = {line.split(":")[0].split("(")[0].strip() for line in config.getini("markers")}
    if name not in known:
        config.addinivalue_line("markers", f"{name}: {about}")


class RunbookFile(pytest.File):
    """A runbook file: one RunbookNode named after the runbook, if it has cases."""

    def collect(self) -> Iterator[RunbookNode]:
        loaded = catalog(self.config).load_file(self.path)
        if loaded.model.cases:
            yield RunbookNode.from_parent(self, name=loaded.name, loaded=loaded)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException]) -> Any:  # type: ignore[override]
        # RunbookLoadError already says file:line:column, the key, a snippet and what to write instead
        if isinstance(excinfo.value, RunbookError):
            return str(excinfo.value)
        return super().repr_failure(excinfo)


class RunbookNode(pytest.Collector):
    """A runbook: its cases, marked `runbook`, with its app and its tags."""

    def __init__(self, *, loaded: LoadedRunbook, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.loaded = loaded
        model = loaded.model
        marks = [("runbook", "a case of a runbook file"), (model.app, f"runbooks of the {model.app} app")]
        marks += [(tag, "a runbook tag") for tag in model.tags]
        for name, about in marks:
            register_marker(self.config, name, about)
            self.add_marker(name)

    def collect(self) -> Iterator[CaseItem]:
        for index, case in enumerate(self.loaded.model.cases):
            yield CaseItem.from_parent(
                self, name=case.name, callobj=run_case, loaded=self.loaded, case=case, index=index
            )
