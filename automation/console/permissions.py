"""May this actor do this action on this resource? One pure function, `allowed`, answered from data.

The console's pages, its JSON API and its event stream all ask `allowed`; none of them checks a role itself.
What each role may do is the table GRANTS (role -> action -> scope); which runbooks a team may run is the
`teams:` section of console.yaml (automation.console.config), handed in as `teams`. Anything the table does
not grant is refused: a new action is nobody's until a line here gives it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

Via = Literal["session", "token"]


class Role(StrEnum):
    """What a console account is for (issue 21)."""

    AGENT = "agent"  # runs the runbooks their team may run; sees, answers and cancels their own runs
    LEAD = "lead"  # an agent who also sees, answers and cancels every run of the team
    OPERATIONS = "operations"  # the checks pages; every run, read-only
    ADMIN = "admin"  # everything: users, tokens, the audit log


class Action(StrEnum):
    RUNBOOK_VIEW = "runbook.view"  # see a runbook in the list and its start form
    RUNBOOK_RUN = "runbook.run"  # start a run of it
    RUN_VIEW = "run.view"  # a run's page, its events and its evidence
    RUN_ANSWER = "run.answer"  # answer a run's question
    RUN_CANCEL = "run.cancel"
    CHECKS_VIEW = "checks.view"  # the checks status page and /metrics
    USERS_MANAGE = "users.manage"
    TOKENS_MANAGE = "tokens.manage"
    AUDIT_VIEW = "audit.view"


class Scope(StrEnum):
    """How far a grant reaches."""

    OWN = "own"  # a run the actor started, in the actor's team
    TEAM = "team"  # a runbook the actor's team may run, or a run of the actor's team
    ALL = "all"  # every resource of the action's kind


RUNBOOK_ACTIONS = frozenset({Action.RUNBOOK_VIEW, Action.RUNBOOK_RUN})
RUN_ACTIONS = frozenset({Action.RUN_VIEW, Action.RUN_ANSWER, Action.RUN_CANCEL})
# The rest concern the whole site: their resource is None.
SITE_ACTIONS = frozenset(Action) - RUNBOOK_ACTIONS - RUN_ACTIONS
# Accounts are managed by a person signed in, never through an API token: a leaked helpdesk token must not be
# able to mint users or tokens, whatever its role.
SESSION_ONLY = frozenset({Action.USERS_MANAGE, Action.TOKENS_MANAGE})

GRANTS: Mapping[Role, Mapping[Action, Scope]] = {
    Role.AGENT: {
        Action.RUNBOOK_VIEW: Scope.TEAM,
        Action.RUNBOOK_RUN: Scope.TEAM,
        Action.RUN_VIEW: Scope.OWN,
        Action.RUN_ANSWER: Scope.OWN,
        Action.RUN_CANCEL: Scope.OWN,  # the customer hung up: the agent stops their own run
    },
    Role.LEAD: {
        Action.RUNBOOK_VIEW: Scope.TEAM,
        Action.RUNBOOK_RUN: Scope.TEAM,
        Action.RUN_VIEW: Scope.TEAM,
        Action.RUN_ANSWER: Scope.TEAM,
        Action.RUN_CANCEL: Scope.TEAM,
    },
    Role.OPERATIONS: {
        Action.CHECKS_VIEW: Scope.ALL,
        Action.RUN_VIEW: Scope.ALL,
    },
    Role.ADMIN: dict.fromkeys(Action, Scope.ALL),
}


@dataclass(frozen=True)
class Actor:
    """Who asks: a signed-in user (via "session") or an API token (via "token"), with the role it acts in."""

    name: str
    role: Role
    team: str | None = None
    via: Via = "session"
    disabled: bool = False


@dataclass(frozen=True)
class Team:
    """Which runbooks a team may run: by name, or by any of their tags."""

    name: str
    runbooks: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()

    def may_run(self, runbook: RunbookRef) -> bool:
        return runbook.name in self.runbooks or not self.tags.isdisjoint(runbook.tags)


@dataclass(frozen=True)
class RunbookRef:
    """A runbook as a permission sees it."""

    name: str
    tags: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class RunRef:
    """A run as a permission sees it: its runbook, who started it, and the team that person was in."""

    runbook: RunbookRef
    started_by: str
    team: str | None


Resource = RunbookRef | RunRef | None


def allowed(actor: Actor, action: Action, resource: Resource, teams: Mapping[str, Team]) -> bool:
    """True when `actor` may do `action` on `resource` (None for the site-wide actions). Never raises.

    A disabled actor may do nothing; a resource of the wrong kind for the action is refused."""
    if actor.disabled:
        return False
    if action in SESSION_ONLY and actor.via != "session":
        return False
    scope = GRANTS.get(actor.role, {}).get(action)
    if scope is None:
        return False
    if action in SITE_ACTIONS:
        return resource is None and scope is Scope.ALL
    if action in RUNBOOK_ACTIONS:
        return isinstance(resource, RunbookRef) and _reaches_runbook(actor, scope, resource, teams)
    return isinstance(resource, RunRef) and _reaches_run(actor, scope, resource)


def _reaches_runbook(actor: Actor, scope: Scope, runbook: RunbookRef, teams: Mapping[str, Team]) -> bool:
    if scope is Scope.ALL:
        return True
    team = teams.get(actor.team) if actor.team is not None else None
    return team is not None and team.may_run(runbook)


def _reaches_run(actor: Actor, scope: Scope, run: RunRef) -> bool:
    if scope is Scope.ALL:
        return True
    same_team = actor.team is not None and run.team == actor.team
    if scope is Scope.TEAM:
        return same_team
    return same_team and run.started_by == actor.name
