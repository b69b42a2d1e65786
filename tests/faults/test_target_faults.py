"""A target that is down, or dies mid-run: exit 3, the step in flight failed, the message names the target."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest

from automation.api import run
from automation.catalog import Catalog
from automation.environments import Target
from automation.result import RunResult

pytestmark = pytest.mark.timing

HEAD = "name: lab-test\ntitle: Lab\napp: lab\noutcomes: {done: {status: resolved}}\nsteps:\n"


def _run(tmp_path: Path, url: str, steps: str, browser: Any) -> RunResult:
    books = tmp_path / "books"
    books.mkdir(exist_ok=True)
    (books / "lab-test.yaml").write_text(HEAD + steps)
    return run(
        "lab-test",
        {},
        target=Target(name="lab", apps={"lab": url}),
        catalog=Catalog([books]),
        evidence_root=tmp_path / "traces",
        data_dir=tmp_path / "data",
        browser=browser,
    )


def _closed_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def _statuses(result: RunResult) -> list[str]:
    data = json.loads((Path(result.evidence_dir) / "run.json").read_text())
    return [s["status"] for s in data["steps"]]


def test_an_unreachable_target_fails_the_step_in_flight(tmp_path: Path, browser: Any) -> None:
    result = _run(tmp_path, _closed_port(), "  - goto: /index.html\n  - end: done\n", browser)
    assert (result.status, result.exit_code) == ("error", 3)
    assert "the target does not answer (net::ERR_CONNECTION_REFUSED)" in (result.error or "")
    assert _statuses(result) == ["failed"]
    assert (Path(result.evidence_dir) / "report.html").exists()


def test_a_target_that_dies_mid_run_is_exit_3_and_says_it_stopped_answering(
    tmp_path: Path, dying_site: str, browser: Any
) -> None:
    steps = "  - goto: /\n  - click: {text: Next}\n  - expect: {url: /next}\n  - end: done\n"
    result = _run(tmp_path, dying_site, steps, browser)
    assert (result.status, result.exit_code) == ("error", 3), result.error
    error = result.error or ""
    assert "the target stopped answering" in error and "net::ERR_CONNECTION_REFUSED" in error
    assert "expected url" not in error
    assert _statuses(result) == ["passed", "failed"]
