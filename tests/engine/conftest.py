"""A tiny local site ("lab") that exercises the runbook language independently of the sandbox screens."""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from automation.api import run
from automation.catalog import Catalog
from automation.environments import Target
from automation.result import RunResult

LAB = Path(__file__).parents[1] / "sites" / "lab"


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="session")
def lab_url() -> Iterator[str]:
    handler = functools.partial(_Quiet, directory=str(LAB))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


HEAD = "name: {name}\ntitle: Lab\napp: lab\n"


@pytest.fixture
def lab_run(lab_url: str, tmp_path: Path, browser: Any) -> Callable[..., RunResult]:
    """Write runbook YAML bodies into a tmp catalog and run one of them against the lab site (evidence, audit
    log and tickets under tmp_path)."""

    def _run(
        body: str, *, name: str = "lab-test", others: dict[str, str] | None = None, **kwargs: Any
    ) -> RunResult:
        books = tmp_path / "books"
        books.mkdir(exist_ok=True)
        for other_name, other_body in (others or {}).items():
            (books / f"{other_name}.yaml").write_text(HEAD.format(name=other_name) + other_body)
        (books / f"{name}.yaml").write_text(HEAD.format(name=name) + body)
        target = Target(name="lab", apps={"lab": lab_url})
        return run(
            name,
            kwargs.pop("inputs", {}),
            target=target,
            catalog=Catalog([books]),
            evidence_root=tmp_path / "traces",
            data_dir=tmp_path / "data",
            browser=browser,
            **kwargs,
        )

    return _run
