"""Fixtures shared by every test: the sandbox (one per session / xdist worker, state reset per test)
and pytest-playwright's browser launched as our engine launches it (Debian's Chromium).

Every test that drives Chromium is marked `browser` here, from the fixtures it uses (at any depth), so
`pytest -m "not browser"` is the fast layer and a new browser test cannot forget its mark."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from support.pictures import PictureSpy

from automation.api import run
from automation.chromium import launch_options
from automation.environments import Target, sandbox_target
from automation.result import RunResult
from automation.sandbox import SandboxServer

# Fixtures that start Chromium, in this process or in one the test starts. A fixture built on one of them
# (run_runbook, lab_run, a runbook case's run) is found through it.
BROWSER_FIXTURES = frozenset(
    {
        # pytest-playwright's
        "browser_type",
        "launch_browser",
        "browser",
        "new_context",
        "context",
        "page",
        # a `runbook` process that runs real Chromium: browser_env (here), cli (tests/faults/conftest.py),
        # fleet (tests/checks/fleet/conftest.py: its workers run checks in Chromium)
        "browser_env",
        "cli",
        "fleet",
    }
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if BROWSER_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def no_chromium(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 'Chromium' that refuses to start, naming the test that should have been marked `browser`."""
    fake = tmp_path_factory.mktemp("no-chromium") / "chromium"
    fake.write_text(
        '#!/bin/sh\necho "Chromium was started by $PYTEST_CURRENT_TEST, which is not marked browser: '
        'give it a fixture of BROWSER_FIXTURES (tests/conftest.py) or pytest.mark.browser" >&2\nexit 1\n'
    )
    fake.chmod(0o755)
    return fake


@pytest.fixture(autouse=True)
def chromium_only_in_browser_tests(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    # The fast layer (-m "not browser") stays fast only if a test that starts Chromium cannot go unmarked:
    # here, and in every process it starts, such a test fails with a message naming it.
    if request.node.get_closest_marker("browser") is None:
        monkeypatch.setenv("RUNBOOK_CHROMIUM", str(request.getfixturevalue("no_chromium")))


# -- every test writes only under its tmp_path --------------------------------------------------------------

CHECKOUT = Path(__file__).resolve().parents[1]
# Where the product writes when nothing says otherwise (automation/paths.py: ./.runbook and ./traces, here the
# checkout's): one folder for every xdist worker and for the person's own runs, so no test may write there.
CHECKOUT_FOLDERS = (CHECKOUT / ".runbook", CHECKOUT / "traces")
Contents = dict[str, tuple[int, int] | None]  # path -> (size, mtime in ns) of a file; None for a folder


@pytest.fixture(autouse=True)
def writes_only_under_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The data folder (tickets, history, audit log) and the evidence root default to this test's tmp_path, in
    this process and in those it starts; a test that still creates or changes anything in the checkout's
    .runbook/ or traces/ fails, naming what changed."""
    monkeypatch.setenv("RUNBOOK_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("RUNBOOK_TRACES", str(tmp_path / "traces"))
    before = _contents(CHECKOUT_FOLDERS)
    yield
    changed = _changed(before, _contents(CHECKOUT_FOLDERS))
    if changed:
        pytest.fail(
            f"this test wrote into the checkout: {', '.join(changed[:10])}"
            f"{f' and {len(changed) - 10} more' if len(changed) > 10 else ''}. Give the run its folders "
            "(evidence_root=, data_dir=, or RUNBOOK_TRACES / RUNBOOK_DATA in a process's environment) under "
            "tmp_path. (Another process writing there at the same time, e.g. a `runbook run` in this checkout, "
            "shows up here too.)",
            pytrace=False,
        )


def _contents(folders: tuple[Path, ...]) -> Contents:
    """Every file and folder under `folders` (and the folders themselves, if they exist)."""
    found: Contents = {}
    for folder in folders:
        if folder.is_dir():
            found[str(folder)] = None
        for root, dirs, files in os.walk(folder):
            found.update({os.path.join(root, name): None for name in dirs})
            for name in files:
                path = os.path.join(root, name)
                try:
                    stat = os.lstat(path)
                except FileNotFoundError:  # removed while we looked: it is not there after either
                    continue
                found[path] = (stat.st_size, stat.st_mtime_ns)
    return found


def _changed(before: Contents, after: Contents) -> list[str]:
    """What was created, changed or removed, relative to the checkout."""
    paths = sorted(p for p in before.keys() | after.keys() if before.get(p, -1) != after.get(p, -1))
    return [os.path.relpath(p, CHECKOUT) for p in paths]


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[SandboxServer]:
    with SandboxServer() as server:
        yield server


@pytest.fixture
def sandbox(sandbox_server: SandboxServer) -> SandboxServer:
    """The sandbox, restored to its seed fixture (and with no faults) for this test."""
    sandbox_server.reset()
    assert sandbox_server.store is not None
    return sandbox_server


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {
        **browser_type_launch_args,
        **launch_options(headless=browser_type_launch_args.get("headless", True)),
    }


@pytest.fixture
def sandbox_env(sandbox: SandboxServer) -> Target:
    """The run target for this test's sandbox (reset to its seed, no faults)."""
    return sandbox_target(sandbox)


@pytest.fixture
def run_runbook(sandbox_env: Target, tmp_path: Path, browser: Any) -> Callable[..., RunResult]:
    """Run a runbook against this test's sandbox, evidence under tmp_path, like the CLI would.

    It drives pytest-playwright's browser: one process cannot hold two sync Playwright drivers."""

    def _run(name: str, inputs: dict[str, Any] | None = None, **kwargs: Any) -> RunResult:
        return run(
            name,
            inputs or {},
            target=sandbox_env,
            evidence_root=tmp_path / "traces",
            reset_sandbox=False,
            browser=browser,
            data_dir=tmp_path / "data",
            **kwargs,
        )

    return _run


@pytest.fixture
def picture_spy(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> PictureSpy:
    """Watches the engine take this test's pictures (tests/support/pictures.py): what each page showed just
    before, and an unmasked control picture, kept apart from tmp_path (controls show secrets; tests scan it)."""
    spy = PictureSpy(tmp_path_factory.mktemp("controls"))
    spy.install(monkeypatch)
    return spy


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """An environment whose 'Chromium' only leaves a marker: if it exists, a browser was started."""
    fake = tmp_path / "fake-chromium"
    fake.write_text(f"#!/bin/sh\ntouch {tmp_path / 'BROWSER-STARTED'}\nexit 1\n")
    fake.chmod(0o755)
    return {
        **os.environ,
        "RUNBOOK_CHROMIUM": str(fake),
        "RUNBOOK_TRACES": str(tmp_path / "traces"),
        "RUNBOOK_DATA": str(tmp_path / "data"),
    }


@pytest.fixture
def browser_env(tmp_path: Path) -> dict[str, str]:
    """An environment for a `runbook` process that drives real Chromium: evidence and data under tmp_path."""
    return {**os.environ, "RUNBOOK_TRACES": str(tmp_path / "traces"), "RUNBOOK_DATA": str(tmp_path / "data")}


# Real servers (tests/sites/servers.py), one of each per session and xdist worker, started only when a test asks.
@pytest.fixture(scope="session")
def postgres() -> Iterator[Any]:
    from sites.servers import postgres_server

    with postgres_server() as server:
        yield server


@pytest.fixture
def postgres_url(postgres: Any, request: pytest.FixtureRequest) -> str:
    """A new, empty PostgreSQL database for this test (SQLAlchemy URL, psycopg 3)."""
    import re
    import uuid

    name = re.sub(r"[^a-z0-9]+", "_", request.node.name.lower())[:40] + "_" + uuid.uuid4().hex[:8]
    return postgres.create_database(name)


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[Any]:
    """A redis-server of this test's own (so a test may restart or kill it)."""
    from sites.servers import redis_server

    with redis_server() as server:
        yield server


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Any]:
    """A dovecot IMAP server (plain IMAP and IMAPS with a self-signed certificate) with one user."""
    from sites.servers import dovecot_server

    with dovecot_server() as server:
        yield server


@pytest.fixture
def smtp_maildir(tmp_path: Path) -> Iterator[Any]:
    """An aiosmtpd SMTP server of this test's own, delivering into tmp_path/Maildir."""
    from sites.servers import smtp_server

    with smtp_server(tmp_path / "Maildir") as server:
        yield server
