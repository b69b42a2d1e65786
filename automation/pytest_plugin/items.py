"""A runbook case as a pytest item, and its run: `api.run` in pytest-playwright's browser, passing iff the run
ends in the case's `expect:` outcome."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from automation.errors import RunbookError
from automation.pytest_plugin.options import evidence_policy
from automation.pytest_plugin.placement import catalog, needs_sandbox, placement
from automation.pytest_plugin.report import display, failure_report, keep_evidence

if TYPE_CHECKING:
    from automation.environments import Target
    from automation.loader import LoadedRunbook
    from automation.schema import Case


class CaseFailed(AssertionError):
    """A runbook case did not end in its `expect:` outcome; the message is the whole report."""


class CaseItem(pytest.Function):
    """One case of a runbook. A pytest Function, so fixtures, marks, -k, xdist and junitxml work as for tests."""

    def __init__(self, *, loaded: LoadedRunbook, case: Case, index: int, **kwargs: Any) -> None:
        self.loaded, self.case, self.index = loaded, case, index
        super().__init__(**kwargs)
        place = placement(self.config)
        reason = None if place.sandboxed else needs_sandbox(self.loaded, self.case)
        if reason:  # a mark, not a skip in setup: no browser or sandbox starts, and the report names the case
            self.add_marker(
                pytest.mark.skip(reason=f"needs the sandbox ({reason}); {place.describe()} has none")
            )

    @property
    def case_line(self) -> int | None:
        return self.loaded.line_of(("cases", self.index))

    def where(self) -> str:
        line = self.case_line
        return f"{display(self.path, self.config)}:{line}" if line else display(self.path, self.config)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        line = self.case_line
        return self.path, (line - 1 if line else None), f"{self.loaded.name}::{self.case.name}"

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException]) -> Any:  # type: ignore[override]
        if isinstance(excinfo.value, CaseFailed):
            return str(excinfo.value)
        if isinstance(excinfo.value, RunbookError):  # bad case inputs, a missing answer: ours, said plainly
            return f"{self.where()}: case '{self.case.name}': {excinfo.value}"
        return super().repr_failure(excinfo)


def run_case(
    request: pytest.FixtureRequest,
    browser: Any,
    runbook_target: Target,
    runbook_data_dir: Path,
    output_path: str,
) -> None:
    """Run one case in pytest-playwright's browser; passes iff the run ends in the case's outcome.
    Raises CaseFailed naming the step, its YAML line, locator and page, and the evidence kept."""
    from automation.api import run

    item: CaseItem = request.node  # type: ignore[assignment]
    case, folder = item.case, Path(output_path)
    pictures = evidence_policy(request.config, "--screenshot", "runbook_screenshot")
    result = run(
        item.loaded,
        case.inputs,
        answers=case.answers,
        target=runbook_target,
        browser=browser,
        evidence_root=folder.parent,
        run_id=folder.name,
        reset_sandbox=False,
        catalog=catalog(request.config),
        data_dir=runbook_data_dir,
        screenshots="off" if pictures == "off" else "each-step",  # off: not taken at all, not just deleted
    )
    config = request.config
    failed = result.outcome != case.expect
    kept = keep_evidence(
        Path(result.evidence_dir),
        failed,
        tracing=evidence_policy(config, "--tracing", "runbook_tracing"),
        screenshot=pictures,
    )
    item.user_properties.extend((f"runbook_{kind}", display(path, config)) for kind, path in kept)
    if failed:
        show = functools.partial(display, config=config)
        raise CaseFailed(failure_report(result, case, where=item.where(), kept=dict(kept), show=show))
