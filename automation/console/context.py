"""What the console's routes share: the store, console.yaml, the catalog, the login throttle, the clock; and
who is asking (the actor the gate found). One `Console` per app, kept on `app.state.console`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from fastapi import Request

from automation.catalog import Catalog
from automation.console.config import ConsoleConfig
from automation.console.permissions import Action, Actor, RunbookRef, allowed
from automation.console.store import ConsoleStore, now_utc
from automation.console.throttle import LoginThrottle
from automation.loader import LoadedRunbook

if TYPE_CHECKING:
    from automation.console.runs.records import RunRow
    from automation.console.runs.service import RunService


@dataclass
class Console:
    store: ConsoleStore
    config: ConsoleConfig
    catalog: Catalog
    throttle: LoginThrottle = field(default_factory=LoginThrottle)
    clock: Callable[[], datetime] = now_utc
    runs: RunService | None = None  # set by create_app

    def may(self, actor: Actor, action: Action, runbook: LoadedRunbook) -> bool:
        """permissions.allowed for one runbook of the catalog."""
        ref = RunbookRef(runbook.name, frozenset(runbook.model.tags))
        return allowed(actor, action, ref, self.config.teams)

    def may_run(self, actor: Actor, action: Action, run: RunRow) -> bool:
        """permissions.allowed for one run (its runbook's tags from the catalog, when it still loads)."""
        try:
            tags = frozenset(self.catalog.get(run.runbook).model.tags)
        except Exception:  # noqa: BLE001 - a runbook removed or broken since: its runs are judged by name
            tags = frozenset()
        return allowed(actor, action, run.ref(tags), self.config.teams)

    def runbooks_for(self, actor: Actor, query: str = "") -> list[LoadedRunbook]:
        """The runbooks the actor may see, matching `query` (any word, in name, title, description or tags)."""
        loaded, _problems = self.catalog.load_all()  # a file that does not load is `runbook validate`'s
        visible = [r for r in loaded if self.may(actor, Action.RUNBOOK_VIEW, r)]
        return sorted((r for r in visible if matches(r, query)), key=lambda r: r.name)


def matches(runbook: LoadedRunbook, query: str) -> bool:
    """Every word of `query` appears in the runbook's name, title, description or tags (case ignored)."""
    model = runbook.model
    text = " ".join([model.name, model.title, model.description or "", *model.tags]).casefold()
    return all(word in text for word in query.casefold().split())


def console_of(request: Request) -> Console:
    return request.app.state.console


def actor_of(request: Request) -> Actor:
    """The actor the gate let through (routes behind the gate only)."""
    actor = getattr(request.state, "actor", None)
    assert actor is not None, "a route behind the gate was reached without an actor"
    return actor
