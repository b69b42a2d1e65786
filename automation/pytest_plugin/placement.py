"""What a session decides once: where its cases run (the embedded sandbox, an environment of
environments.yaml or --base-url), the Target of each case, and the catalog where `use:` finds runbooks."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from automation.errors import ConfigError
from automation.pytest_plugin.options import setting

if TYPE_CHECKING:
    from automation.catalog import Catalog
    from automation.environments import Target
    from automation.loader import LoadedRunbook
    from automation.schema import Case


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


_CATALOG = pytest.StashKey["Catalog"]()


def catalog(config: pytest.Config) -> Catalog:
    """Where `use:` finds other runbooks: the folders pytest was given, then the default catalog's."""
    from automation.catalog import Catalog

    if _CATALOG not in config.stash:
        roots = []
        for arg in config.args:
            path = config.invocation_params.dir / arg.split("::")[0]
            roots.append(path if path.is_dir() else path.parent)
        config.stash[_CATALOG] = Catalog([*roots, *Catalog.default().roots])
    return config.stash[_CATALOG]
