"""The plugin's fixtures: Debian's Chromium under pytest-playwright's launch arguments, the session's embedded
sandbox and data folder, and each case's target."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from automation.pytest_plugin.placement import make_target, placement

if TYPE_CHECKING:
    from automation.environments import Target
    from automation.pytest_plugin.items import CaseItem
    from automation.sandbox import SandboxServer


class RunbookFixtures:
    """The plugin's fixtures, registered in pytest_configure (see there for why)."""

    @pytest.fixture(scope="session")
    @staticmethod  # a plain function: pytest deprecates session fixtures bound to an instance
    def browser_type_launch_args(
        browser_type_launch_args: dict[str, Any], browser_name: str
    ) -> dict[str, Any]:
        """pytest-playwright's launch arguments (--headed, --browser-channel, --slowmo) on Debian's Chromium."""
        from automation.chromium import launch_options

        if browser_name != "chromium":
            return browser_type_launch_args
        args = {"headless": True, **browser_type_launch_args}
        ours = launch_options(headless=args["headless"])
        if "channel" not in args:  # a channel names its own browser binary
            args.setdefault("executable_path", ours["executable_path"])
        args["args"] = [*ours["args"], *args.get("args", [])]
        return args

    @pytest.fixture(scope="session")
    @staticmethod
    def runbook_sandbox() -> Iterator[SandboxServer]:
        """The embedded sandbox of runbook cases: one per session (per xdist worker)."""
        from automation.sandbox import SandboxServer

        with SandboxServer() as server:
            yield server

    @pytest.fixture(scope="session")
    @staticmethod
    def runbook_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
        """Tickets and audit log of runbook cases: private to the session, never the user's ./.runbook."""
        return tmp_path_factory.mktemp("runbook-data")

    @pytest.fixture
    @staticmethod
    def runbook_target(request: pytest.FixtureRequest) -> Target:
        """This case's target; a sandbox is reset to its seed and arranged with the case's `sandbox:` state.
        Raises ConfigError if the sandbox refuses the arrangement."""
        from automation.api import prepare_sandbox

        item: CaseItem = request.node  # type: ignore[assignment]
        place = placement(request.config)
        sandbox = request.getfixturevalue("runbook_sandbox") if place.embedded else None
        target = make_target(place, item.loaded.model.app, sandbox)
        if place.sandboxed:
            prepare_sandbox(target, item.case.sandbox)
        return target
