"""Runbook cases as pytest items, built on pytest-playwright's fixtures and options (entry point `pytest11`).

`pytest runbooks/` (or any path holding runbook files: YAML with top-level `name:` and `steps:`) collects one
item per case, node id `path/file.yaml::<runbook>::<case>`, marked `runbook`, with the runbook's app
(`portal`, `netsuite`) and its tags, so `-k already-verified` and `-m "portal and login"` select. Each item runs
`api.run` in pytest-playwright's `browser` (launched with Debian's Chromium through `browser_type_launch_args`)
and passes iff the run ends in the case's `expect:` outcome.

Where cases run:
    default                 the embedded sandbox, started once per session (per xdist worker), reset for every
                            case and arranged with the case's `sandbox:` state
    --runbook-env NAME      an environment of environments.yaml (ini `runbook_env`); RUNBOOK_ENV is ignored, so a
                            shell set up for production never points the regression suite at it
    --base-url URL          the runbook's app at URL (a staging portal); cases needing sandbox state are skipped

Evidence is our engine's (redacted); pytest-playwright's own recorder never sees a runbook case. A case's run
folder is `<--output>/<slug of the test id>/` (run.json, report.html, trace.zip, screenshots/), kept by policy:
    --tracing on|off|retain-on-failure      default for cases: retain-on-failure (ini `runbook_tracing`)
    --screenshot on|off|only-on-failure     default for cases: only-on-failure (ini `runbook_screenshot`)
A passing case that keeps neither leaves no folder. Escalations open tickets in a store private to the session,
never in a configured tracker.

pytest reads the hooks from this module (the `pytest11` entry point); they live in their modules:
    options.py      the flags and ini settings, and the evidence policies
    placement.py    where the session's cases run, each case's Target, the catalog `use:` reads
    collection.py   runbook files -> a node per runbook -> an item per case
    items.py        the case item and its run
    fixtures.py     Chromium's launch arguments, the embedded sandbox, each case's target
    report.py       the evidence a case keeps and the report of a failing case
"""

from __future__ import annotations

import pytest

from automation.pytest_plugin.collection import pytest_collect_file, register_marker
from automation.pytest_plugin.fixtures import RunbookFixtures
from automation.pytest_plugin.options import (
    SETTINGS,
    pytest_addoption,
    pytest_load_initial_conftests,
    setting,
)
from automation.pytest_plugin.placement import placement

__all__ = ["pytest_addoption", "pytest_collect_file", "pytest_configure", "pytest_load_initial_conftests"]


def pytest_configure(config: pytest.Config) -> None:
    from automation.sandbox.server import APPS

    config.addinivalue_line("markers", "runbook: a case of a runbook file (drives real Chromium)")
    # the sandbox's apps are always known, so `-m netsuite --strict-markers` works on a folder of portal runbooks
    for app in APPS:
        register_marker(config, app, f"runbooks of the {app} app")
    for name in SETTINGS:
        setting(config, name)  # a bad ini value stops the session before anything runs
    if setting(config, "runbook_env"):
        placement(config)  # so does an unknown environment, as a usage error rather than per-case failures
    # Registered now, after every entry-point plugin, so these fixtures override pytest-playwright's
    # (same-node fixtures: the later registration wins); conftest overrides still win over ours.
    if not config.pluginmanager.has_plugin("runbook-fixtures"):
        config.pluginmanager.register(RunbookFixtures(), "runbook-fixtures")
