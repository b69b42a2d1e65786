"""A context prepared while the server is idle (BrowserPool.prepare, as the console's executor does after each run)
is taken by the next run on that browser: that run is as fresh as one with a context of its own (nothing of the
run before it), and keeps all its evidence (its trace lists its steps, its pictures are there).

Runs go through a worker thread, as the console's do: the thread's own pool, its own browser."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from automation.api import run
from automation.catalog import Catalog
from automation.engine.browser import close_pool, pool
from automation.environments import Target
from automation.evidence.viewer import actions
from automation.result import RunResult

pytestmark = pytest.mark.browser
HEAD = "name: {name}\ntitle: Lab\napp: lab\noutcomes:\n  done: {{status: resolved}}\nsteps:\n"
REMEMBER = (
    "  - goto: /memory.html\n  - click: {role: button, name: Remember me}\n  - expect: {text: Remembered}\n"
)
FRESH = "  - goto: /memory.html\n  - expect: {text: First visit}\n    timeout: 2s\n"


def in_worker(work: Callable[[], Any]) -> Any:
    """Run `work` on a thread of its own (its own browser pool, closed at the end); return what it returned."""
    out: dict[str, Any] = {}

    def body() -> None:
        try:
            out["value"] = work()
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            out["error"] = exc
        finally:
            close_pool()

    thread = threading.Thread(target=body)
    thread.start()
    thread.join()
    if "error" in out:
        raise out["error"]
    return out["value"]


@pytest.fixture
def run_lab(lab_url: str, tmp_path: Path) -> Callable[[str, str], RunResult]:
    books = tmp_path / "books"
    books.mkdir()

    def _run(name: str, steps: str) -> RunResult:
        (books / f"{name}.yaml").write_text(HEAD.format(name=name) + steps + "  - end: done\n")
        return run(
            name,
            {},
            target=Target(name="lab", apps={"lab": lab_url}),
            catalog=Catalog([books]),
            evidence_root=tmp_path / "traces",
            data_dir=tmp_path / "data",
        )

    return _run


def test_a_run_on_a_prepared_context_is_fresh_and_keeps_all_its_evidence(
    run_lab: Callable[[str, str], RunResult],
) -> None:
    def work() -> tuple[RunResult, RunResult, bool, bool]:
        first = run_lab("remember", REMEMBER)
        pool().prepare()  # what the executor does once a run has ended
        browser = pool().browser()
        prepared = pool().take_spare(browser) is not None
        pool().prepare()
        second = run_lab("fresh", FRESH)
        taken = pool().take_spare(browser) is None  # the run took it: none is left
        return first, second, prepared, taken

    first, second, prepared, taken = in_worker(work)

    assert first.status == "passed", first.error
    assert second.status == "passed", f"the prepared context held the run before it: {second.error}"
    assert prepared and taken, "the next run takes the context prepared for it"
    evidence = Path(second.evidence_dir)
    listed = actions(evidence / "trace.zip")
    assert "memory.html" in listed and "getByText('First visit')" in listed, listed
    opened = second.steps[0]
    assert opened.screenshot and (evidence / opened.screenshot).is_file(), opened


def test_a_context_prepared_for_one_browser_is_never_given_to_a_run_of_another() -> None:
    def work() -> tuple[bool, bool]:
        pool().prepare()
        elsewhere = (
            pool().take_spare(object()) is None
        )  # a run given a browser of its own (api.run(browser=))
        here = pool().take_spare(pool().browser()) is not None  # still there for the pool's own browser
        return elsewhere, here

    assert in_worker(work) == (True, True), "a spare goes only to runs of the browser it was opened on"
