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
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from automation.errors import ConfigError, RunbookError

if TYPE_CHECKING:
    from automation.environments import Target
    from automation.loader import Catalog, LoadedRunbook
    from automation.sandbox import SandboxServer
    from automation.schema import Case

TRACING = ("on", "off", "retain-on-failure")
SCREENSHOT = ("on", "off", "only-on-failure")
_TOP_KEY = re.compile(r"^(name|steps)\s*:", re.M)


# -- options: defined once, exposed as a flag and an ini key --------------------------------------------------


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


def pytest_configure(config: pytest.Config) -> None:
    from automation.sandbox.server import APPS

    config.addinivalue_line("markers", "runbook: a case of a runbook file (drives real Chromium)")
    # the sandbox's apps are always known, so `-m netsuite --strict-markers` works on a folder of portal runbooks
    for app in APPS:
        _register_marker(config, app, f"runbooks of the {app} app")
    for name in SETTINGS:
        setting(config, name)  # a bad ini value stops the session before anything runs
    if setting(config, "runbook_env"):
        placement(config)  # so does an unknown environment, as a usage error rather than per-case failures
    # Registered now, after every entry-point plugin, so these fixtures override pytest-playwright's
    # (same-node fixtures: the later registration wins); conftest overrides still win over ours.
    if not config.pluginmanager.has_plugin("runbook-fixtures"):
        config.pluginmanager.register(RunbookFixtures(), "runbook-fixtures")


# -- where cases run --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Placement:
    """Where this session's cases run, from --base-url and --runbook-env."""

    env: str | None  # a real (non-sandbox) environment's name
    base_url: str | None
    sandboxed: bool  # state can be reset and arranged (a sandbox, embedded or served)
    embedded: bool  # the plugin's own sandbox

    def describe(self) -> str:
        if self.base_url:
            return f"--base-url {self.base_url}"
        return f"environment '{self.env}'" if self.env else "the embedded sandbox"


_PLACEMENT = pytest.StashKey[Placement]()


def _base_url(config: pytest.Config) -> str | None:
    value = config.getoption("base_url", default=None)
    if not value:
        try:
            value = config.getini("base_url")
        except ValueError:  # neither pytest-base-url nor pytest-playwright's fallback is loaded
            value = None
    return value or None


def placement(config: pytest.Config) -> Placement:
    """Decided once per session. Raises pytest.UsageError for an unknown environment or a bad environments file."""
    if _PLACEMENT not in config.stash:
        config.stash[_PLACEMENT] = _decide_placement(config)
    return config.stash[_PLACEMENT]


def _decide_placement(config: pytest.Config) -> Placement:
    from automation.environments import load_config
    from automation.paths import environments_file as config_path

    env, base_url = setting(config, "runbook_env"), _base_url(config)
    if env is None:
        return Placement(None, base_url, sandboxed=base_url is None, embedded=base_url is None)
    try:
        spec = load_config().environments.get(env)
    except ConfigError as exc:
        raise pytest.UsageError(str(exc)) from exc
    if spec is None:
        raise pytest.UsageError(f"--runbook-env {env}: no such environment in {config_path()}")
    if base_url:
        return Placement(None if spec.sandbox else env, base_url, sandboxed=False, embedded=False)
    if spec.sandbox:
        return Placement(None, None, sandboxed=True, embedded=True)
    # only a sandbox server has a mail outbox, so a mailbox marks a `runbook sandbox serve` (e.g. `local`)
    return Placement(env, None, sandboxed=isinstance(spec.mailbox, str), embedded=False)


def needs_sandbox(loaded: LoadedRunbook, case: Case) -> str | None:
    """Why this case can only run on a sandbox, or None."""
    from automation.preflight import asks_on_every_path

    if case.sandbox.settings:
        return "it sets sandbox settings: " + ", ".join(case.sandbox.settings)
    if case.sandbox.requests:
        return "it arranges sandbox state (" + ", ".join(r.post for r in case.sandbox.requests) + ")"
    # like api.preflight_answers: an input read from the mail outbox that every path needs is needed before
    # the browser starts (one on a branch is needed only when reached)
    given = {**case.inputs, **case.answers}
    for step in asks_on_every_path(loaded, None):
        if step.from_mail and step.ask in loaded.model.inputs and given.get(step.ask) in (None, ""):
            return f"it reads '{step.ask}' from the sandbox's mail outbox"
    return None


def make_target(place: Placement, app: str, sandbox: Any) -> Target:
    """The Target of a case of an `app` runbook, with no ticket tracker: a regression run never files real tickets."""
    from automation.environments import Target, resolve, sandbox_target

    if place.embedded:
        target = sandbox_target(sandbox)
    elif place.base_url:
        target = (
            resolve(place.env, {app: place.base_url})
            if place.env
            else Target(name="base-url", apps={app: place.base_url})
        )
    else:
        target = resolve(place.env)
    return dataclasses.replace(target, tickets=None)


# -- collection -------------------------------------------------------------------------------------------------


def is_runbook_file(path: Path) -> bool:
    """A YAML file with top-level `name:` and `steps:` keys (other YAML, such as checks.yaml, is not ours)."""
    if path.suffix not in (".yaml", ".yml"):
        return False
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    return {m.group(1) for m in _TOP_KEY.finditer(text)} == {"name", "steps"}


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> RunbookFile | None:
    if is_runbook_file(file_path):
        return RunbookFile.from_parent(parent, path=file_path)
    return None


_CATALOG = pytest.StashKey["Catalog"]()


def catalog(config: pytest.Config) -> Catalog:
    """Where `use:` finds other runbooks: the folders pytest was given, then the default catalog's."""
    from automation.loader import Catalog

    if _CATALOG not in config.stash:
        roots = []
        for arg in config.args:
            path = config.invocation_params.dir / arg.split("::")[0]
            roots.append(path if path.is_dir() else path.parent)
        config.stash[_CATALOG] = Catalog([*roots, *Catalog.default().roots])
    return config.stash[_CATALOG]


def _register_marker(config: pytest.Config, name: str, about: str) -> None:
    # --strict-markers accepts only registered names; apps and tags are open-ended, so register them as met
    known = {line.split(":")[0].split("(")[0].strip() for line in config.getini("markers")}
    if name not in known:
        config.addinivalue_line("markers", f"{name}: {about}")


class RunbookFile(pytest.File):
    """A runbook file: one RunbookNode named after the runbook, if it has cases."""

    def collect(self) -> Iterator[RunbookNode]:
        loaded = catalog(self.config).load_file(self.path)
        if loaded.model.cases:
            yield RunbookNode.from_parent(self, name=loaded.name, loaded=loaded)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException]) -> Any:  # type: ignore[override]
        # RunbookLoadError already says file:line:column, the key, a snippet and what to write instead
        if isinstance(excinfo.value, RunbookError):
            return str(excinfo.value)
        return super().repr_failure(excinfo)


class RunbookNode(pytest.Collector):
    """A runbook: its cases, marked `runbook`, with its app and its tags."""

    def __init__(self, *, loaded: LoadedRunbook, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.loaded = loaded
        model = loaded.model
        marks = [("runbook", "a case of a runbook file"), (model.app, f"runbooks of the {model.app} app")]
        marks += [(tag, "a runbook tag") for tag in model.tags]
        for name, about in marks:
            _register_marker(self.config, name, about)
            self.add_marker(name)

    def collect(self) -> Iterator[CaseItem]:
        for index, case in enumerate(self.loaded.model.cases):
            yield CaseItem.from_parent(
                self, name=case.name, callobj=run_case, loaded=self.loaded, case=case, index=index
            )


# -- running a case ---------------------------------------------------------------------------------------------


class CaseFailed(AssertionError):
    """A runbook case did not end in its `expect:` outcome; the message is the whole report."""


class CaseItem(pytest.Function):
    """One case of a runbook. A pytest Function, so fixtures, marks, -k, xdist and junitxml work as for tests."""

    def __init__(self, *, loaded: LoadedRunbook, case: Case, index: int, **kwargs: Any) -> None:
        self.loaded, self.case, self.index = loaded, case, index
        super().__init__(**kwargs)
        place = placement(self.config)
        reason = None if place.sandboxed else needs_sandbox(self.loaded, self.case)
        if reason:  # a mark, not a skip in setup: no browser or sandbox starts, and the report names the case
            self.add_marker(
                pytest.mark.skip(reason=f"needs the sandbox ({reason}); {place.describe()} has none")
            )

    @property
    def case_line(self) -> int | None:
        return self.loaded.line_of(("cases", self.index))

    def where(self) -> str:
        line = self.case_line
        return f"{_display(self.path, self.config)}:{line}" if line else _display(self.path, self.config)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        line = self.case_line
        return self.path, (line - 1 if line else None), f"{self.loaded.name}::{self.case.name}"

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException]) -> Any:  # type: ignore[override]
        if isinstance(excinfo.value, CaseFailed):
            return str(excinfo.value)
        if isinstance(excinfo.value, RunbookError):  # bad case inputs, a missing answer: ours, said plainly
            return f"{self.where()}: case '{self.case.name}': {excinfo.value}"
        return super().repr_failure(excinfo)


def run_case(
    request: pytest.FixtureRequest,
    browser: Any,
    runbook_target: Target,
    runbook_data_dir: Path,
    output_path: str,
) -> None:
    """Run one case in pytest-playwright's browser; passes iff the run ends in the case's outcome.
    Raises CaseFailed naming the step, its YAML line, locator and page, and the evidence kept."""
    from automation.api import run
    from automation.commands.qa import failure_report, keep_evidence

    item: CaseItem = request.node  # type: ignore[assignment]
    case, folder = item.case, Path(output_path)
    pictures = evidence_policy(request.config, "--screenshot", "runbook_screenshot")
    result = run(
        item.loaded,
        case.inputs,
        answers=case.answers,
        target=runbook_target,
        browser=browser,
        evidence_root=folder.parent,
        run_id=folder.name,
        reset_sandbox=False,
        catalog=catalog(request.config),
        data_dir=runbook_data_dir,
        screenshots="off" if pictures == "off" else "each-step",  # off: not taken at all, not just deleted
    )
    config = request.config
    failed = result.outcome != case.expect
    kept = keep_evidence(
        Path(result.evidence_dir),
        failed,
        tracing=evidence_policy(config, "--tracing", "runbook_tracing"),
        screenshot=pictures,
    )
    item.user_properties.extend((f"runbook_{kind}", _display(path, config)) for kind, path in kept)
    if failed:
        show = functools.partial(_display, config=config)
        raise CaseFailed(failure_report(result, case, where=item.where(), kept=dict(kept), show=show))


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


def _display(path: Path, config: pytest.Config) -> str:
    """A path as the person typed theirs: relative to where pytest was started, when inside it."""
    try:
        return str(path.resolve().relative_to(config.invocation_params.dir.resolve()))
    except ValueError:
        return str(path)
