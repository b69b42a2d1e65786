"""The plugin's options, each defined once and exposed as a flag and an ini key, and the evidence policies
that fall back to pytest-playwright's --tracing/--screenshot when those are given."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

TRACING = ("on", "off", "retain-on-failure")
SCREENSHOT = ("on", "off", "only-on-failure")


@dataclass(frozen=True)
class Setting:
    """An option of the plugin: flag `--runbook-x` and ini key `runbook_x`; the flag wins."""

    name: str
    help: str
    default: str | None = None
    choices: tuple[str, ...] | None = None

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


SETTINGS = {
    s.name: s
    for s in (
        Setting(
            "runbook_env",
            "Run runbook cases in this environment of environments.yaml instead of the embedded sandbox.",
        ),
        Setting(
            "runbook_tracing",
            "Keep a runbook case's trace.zip: on, off or retain-on-failure (default). "
            "--tracing, when given, wins.",
            "retain-on-failure",
            TRACING,
        ),
        Setting(
            "runbook_screenshot",
            "Keep a runbook case's screenshots: on, off or only-on-failure (default). "
            "--screenshot, when given, wins.",
            "only-on-failure",
            SCREENSHOT,
        ),
    )
}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("runbook", "runbook cases")
    for s in SETTINGS.values():
        group.addoption(s.flag, dest=s.name, default=None, choices=s.choices, help=s.help)
        parser.addini(s.name, help=s.help, default=s.default or "")


def setting(config: pytest.Config, name: str) -> str | None:
    """The flag if given, else the ini value, else the default. Raises pytest.UsageError for a bad ini value."""
    spec = SETTINGS[name]
    value = config.getoption(name) or config.getini(name) or spec.default
    if spec.choices and value not in spec.choices:
        raise pytest.UsageError(f"{name} = {value}: choose one of {', '.join(spec.choices)}")
    return value or None


_GIVEN = pytest.StashKey[frozenset[str]]()


def pytest_load_initial_conftests(
    early_config: pytest.Config, parser: pytest.Parser, args: list[str]
) -> None:
    # pytest-playwright's --tracing and --screenshot default to "off"; ours differ unless the flag is given, and
    # argparse cannot tell a default from an explicit "off". `args` includes addopts (ini and PYTEST_ADDOPTS).
    early_config.stash[_GIVEN] = frozenset(a.split("=", 1)[0] for a in args if a.startswith("--"))


def evidence_policy(config: pytest.Config, flag: str, name: str) -> str:
    """pytest-playwright's --tracing/--screenshot when given, else our setting."""
    if flag in config.stash.get(_GIVEN, frozenset()):
        return str(config.getoption(flag))
    return setting(config, name) or "off"
