"""schemathesis over the console's published OpenAPI schema, against a real uvicorn server on 127.0.0.1 with an
admin's API token: every operation, with requests made from the schema (valid and invalid ones), answers
without a 5xx, with a status the schema declares and a body that conforms to it.

`make test` tries a bounded number of examples per operation, the same ones each time (derandomized);
`make fuzz` sets RUNBOOK_FUZZ_EXAMPLES for many more, random ones.

A generated start names a runbook of the catalog only by chance: the server has a catalog of one cheap runbook
and one executor thread, so a run that does start stays short and the rest queue. Such a run drives Chromium,
hence the browser mark.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from automation.catalog import Catalog
from automation.console.config import ConsoleConfig, ServerSpec
from automation.console.context import Console
from automation.console.runs.executor import RunSettings
from automation.console.server import create_app
from automation.console.store import ConsoleStore
from automation.console.tokens import create_token
from automation.listen import listen

ROOT = Path(__file__).resolve().parents[2]
FUZZ = os.environ.get("RUNBOOK_FUZZ_EXAMPLES")
EXAMPLES = int(FUZZ) if FUZZ else 25
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def console_api(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(URL, admin token) of the console served by uvicorn in a thread, as `runbook server` serves it."""
    catalog = tmp_path / "catalog"
    catalog.mkdir()
    cheap = ROOT / "runbooks" / "portal" / "synthetic-login.yaml"
    (catalog / cheap.name).write_text(cheap.read_text(encoding="utf-8"), encoding="utf-8")
    with ConsoleStore(tmp_path / "data") as store:
        token = create_token(store, "fuzzer", role="admin").token
        config = ConsoleConfig(teams={}, server=ServerSpec(secure_cookie=False, concurrency=1))
        console = Console(store=store, config=config, catalog=Catalog([catalog]))
        app = create_app(console, RunSettings(evidence_root=tmp_path / "traces"))
        sock = listen("127.0.0.1", 0, who="the console under test")
        server = uvicorn.Server(
            uvicorn.Config(app, lifespan="on", log_level="warning", access_log=False, server_header=False)
        )
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started:  # a condition with a deadline: uvicorn sets it once it serves
            assert thread.is_alive() and time.monotonic() < deadline, "the console did not start"
            time.sleep(0.01)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}", token
        server.should_exit = True
        thread.join(timeout=60)


def operations(url: str, token: str) -> list[schemathesis.APIOperation]:
    # the schema is behind the login too: fetching it takes the token
    loaded = schemathesis.openapi.from_url(
        f"{url}/api/openapi.json", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    return [result.ok() for result in loaded.get_all_operations()]


def fuzz(operation: schemathesis.APIOperation, mode: GenerationMode, url: str, token: str) -> None:
    """Try EXAMPLES requests made for `operation` (valid ones, or invalid ones); raise the first failure,
    shrunk by Hypothesis to its simplest form."""

    @settings(
        max_examples=EXAMPLES,
        derandomize=FUZZ is None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
    )
    @given(case=operation.as_strategy(mode))
    def requests_made_for_it(case: schemathesis.Case) -> None:
        case.call_and_validate(
            base_url=url, headers={"Authorization": f"Bearer {token}"}, checks=CHECKS, timeout=30
        )

    requests_made_for_it()


# schemathesis's own pytest integration (schema.parametrize, from_fixture) does not run under pytest 9: its
# lazy schema writes a test item attribute pytest 9 no longer has. The same strategies and checks, by hand.
@pytest.mark.browser
def test_the_api_answers_as_its_schema_says(console_api: tuple[str, str]) -> None:
    url, token = console_api
    failures = []
    for operation in operations(url, token):
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                fuzz(operation, mode, url, token)
            except Unsatisfiable:  # every input of it takes any string: no request can be invalid
                continue
            except (Exception, BaseExceptionGroup) as exc:  # every operation is tried; all failures shown
                failures.append(f"{operation.label} ({mode.value} data): {exc}")
    assert not failures, "\n\n".join(failures)
