"""Fixtures shared by every test: the sandbox (one per session / xdist worker, state reset per test)
and pytest-playwright's browser launched as our engine launches it (Debian's Chromium)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from automation.engine.browser import launch_options
from automation.sandbox import SandboxServer


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
    return {**browser_type_launch_args, **launch_options(headless=browser_type_launch_args.get("headless", True))}
