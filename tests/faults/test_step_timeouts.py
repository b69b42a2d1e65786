"""A step's timeout bounds its wall time: against a two-minute latency fault the step fails naming its limit
and the cause, and the run finishes (the subprocess guard, shorter than the fault, would fail the test
otherwise)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fault_kit import FAULT_MS, CliRun, add_fault, served_config

from automation.sandbox import SandboxServer

pytestmark = pytest.mark.timing

HEAD = "name: slow\ntitle: Slow\napp: portal\noutcomes: {done: {status: resolved}}\nsteps:\n"


def _book(tmp_path: Path, steps: str) -> Path:
    path = tmp_path / "slow.yaml"
    path.write_text(HEAD + steps)
    return path


def test_goto_timeout_bounds_the_step_against_a_long_latency(
    served: SandboxServer, cli: Callable[..., CliRun], tmp_path: Path
) -> None:
    add_fault(served, route="/auth/*", latency_ms=FAULT_MS)
    book = _book(tmp_path, "  - goto: /auth/login\n    timeout: 2s\n  - end: done\n")
    result = cli(str(book), config=served_config(tmp_path, served.urls))
    assert result.code == 1, result.out + result.err
    assert "the page did not finish loading within 2s" in result.out
    data = result.run_json
    assert data["status"] == "failed"
    assert [s["status"] for s in data["steps"]] == ["failed"]
    assert (result.run_dir / "report.html").exists() and (result.run_dir / "trace.zip").exists()


def test_click_timeout_names_the_page_that_did_not_load_not_the_locator(
    served: SandboxServer, cli: Callable[..., CliRun], tmp_path: Path
) -> None:
    add_fault(served, route="/auth/resendVerifyCode", method="POST", latency_ms=FAULT_MS)
    book = _book(
        tmp_path,
        "  - goto: /auth/resendVerifyCode\n  - fill: {label: Email}\n    with: unverified@example.com\n"
        "  - click: {role: button, name: Submit}\n    timeout: 3s\n  - end: done\n",
    )
    result = cli(str(book), config=served_config(tmp_path, served.urls))
    assert result.code == 1, result.out + result.err
    assert "the page did not finish loading after the click within 3s" in result.out
    assert "did not appear" not in result.out  # the button was there: the locator is not to blame
    steps = result.run_json["steps"]
    assert [s["status"] for s in steps] == ["passed", "passed", "failed"]
