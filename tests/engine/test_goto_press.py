"""goto opens only app paths and http(s) URLs, even when a {{ value }} decides the URL; press substitutes
{{ }} and works `on:` a field; a ticket whose tracker configuration is broken is still stored, with why."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from automation.api import run
from automation.catalog import Catalog
from automation.environments import Target
from automation.result import RunResult
from automation.tickets import TicketStore

Run = Callable[..., RunResult]
OUTCOMES = "outcomes:\n  done: {status: resolved}\n  escalated: {status: escalated}\n"


def test_goto_refuses_a_template_that_renders_to_javascript(lab_run: Run) -> None:
    result = lab_run(
        "inputs: {link: {type: string}}\n" + OUTCOMES + "steps:\n  - goto: /index.html\n"
        "  - goto: '{{ link }}'\n  - end: done\n",
        inputs={"link": "javascript:alert(document.title)"},
    )
    assert result.status == "failed" and result.exit_code == 1
    assert "gave a URL that cannot be opened" in (result.error or "")
    assert "not javascript:" in (result.error or "")


def test_press_substitutes_its_key_and_presses_it_on_the_field(lab_run: Run) -> None:
    result = lab_run(
        "inputs: {key: {type: string}}\n" + OUTCOMES + "steps:\n  - goto: /index.html\n"
        "  - press: '{{ key }}'\n    on: {label: Name}\n"
        "  - expect: {value: Z, of: {label: Name}}\n  - end: done\n",
        inputs={"key": "Z"},
    )
    assert result.status == "passed", result.error


def test_escalation_with_a_broken_tracker_config_is_stored_locally_with_the_reason(
    lab_url: str, tmp_path: Path, browser: Any
) -> None:
    books = tmp_path / "books"
    books.mkdir()
    (books / "lab-escalate.yaml").write_text(
        "name: lab-escalate\ntitle: Lab\napp: lab\n" + OUTCOMES + "steps:\n  - goto: /index.html\n"
        "  - escalate: {queue: support, title: Needs a person}\n  - end: escalated\n"
    )
    # A Target built by hand (as an API caller may) with a tracker type nobody can build.
    target = Target(name="lab", apps={"lab": lab_url}, tickets={"type": "webhok", "url": "https://x.test"})
    result = run(
        "lab-escalate",
        {},
        target=target,
        catalog=Catalog([books]),
        evidence_root=tmp_path / "traces",
        browser=browser,
        data_dir=tmp_path / "data",
    )
    assert result.status == "escalated" and result.ticket is not None
    assert result.ticket["status"] == "queued" and "webhok" in result.ticket["message"]
    stored = TicketStore(tmp_path / "data").get(result.ticket["id"])
    assert stored.delivery == "queued" and "webhok" in (stored.last_error or "")
