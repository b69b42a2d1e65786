"""Who may do what in the console: one table of cases read as the roles of issue 21, then properties that
hold for every actor, action and resource hypothesis can make up."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from automation.console.permissions import (
    RUN_ACTIONS,
    RUNBOOK_ACTIONS,
    SITE_ACTIONS,
    Action,
    Actor,
    Resource,
    Role,
    RunbookRef,
    RunRef,
    Team,
    allowed,
)

TEAMS = {
    "portal": Team("portal", runbooks=frozenset({"reset-password"}), tags=frozenset({"login"})),
    "billing": Team("billing", runbooks=frozenset({"refund"})),
}
RESET = RunbookRef("reset-password", frozenset({"password"}))
RESEND = RunbookRef("resend-verify", frozenset({"login", "verification"}))  # portal's by its tag
REFUND = RunbookRef("refund")

ANA = Actor("ana", Role.AGENT, "portal")
LEO = Actor("leo", Role.LEAD, "portal")
OPS = Actor("olga", Role.OPERATIONS)
ADA = Actor("ada", Role.ADMIN)
BEN = Actor("ben", Role.AGENT, "billing")

ANAS_RUN = RunRef(RESET, started_by="ana", team="portal")
PIAS_RUN = RunRef(RESEND, started_by="pia", team="portal")  # another agent of ana's team
BENS_RUN = RunRef(REFUND, started_by="ben", team="billing")

A = Action
CASES: list[tuple[Actor, Action, Resource, bool]] = [
    # an agent: the team's runbooks, by name or by tag, and their own runs
    (ANA, A.RUNBOOK_VIEW, RESET, True),
    (ANA, A.RUNBOOK_RUN, RESEND, True),
    (ANA, A.RUNBOOK_RUN, REFUND, False),
    (ANA, A.RUN_VIEW, ANAS_RUN, True),
    (ANA, A.RUN_ANSWER, ANAS_RUN, True),
    (ANA, A.RUN_CANCEL, ANAS_RUN, True),  # her own run: the customer hung up
    (ANA, A.RUN_VIEW, PIAS_RUN, False),
    (ANA, A.RUN_ANSWER, PIAS_RUN, False),
    (ANA, A.RUN_CANCEL, PIAS_RUN, False),  # a teammate's run is the lead's to stop
    (ANA, A.RUN_VIEW, BENS_RUN, False),
    (ANA, A.CHECKS_VIEW, None, False),
    (ANA, A.USERS_MANAGE, None, False),
    # a lead: every run of the team, cancel included; nothing of another team
    (LEO, A.RUNBOOK_RUN, RESET, True),
    (LEO, A.RUN_VIEW, PIAS_RUN, True),
    (LEO, A.RUN_ANSWER, PIAS_RUN, True),
    (LEO, A.RUN_CANCEL, ANAS_RUN, True),
    (LEO, A.RUN_VIEW, BENS_RUN, False),
    (LEO, A.RUN_CANCEL, BENS_RUN, False),
    (LEO, A.RUNBOOK_RUN, REFUND, False),
    (LEO, A.AUDIT_VIEW, None, False),
    # operations: the checks pages and every run, read-only
    (OPS, A.CHECKS_VIEW, None, True),
    (OPS, A.RUN_VIEW, BENS_RUN, True),
    (OPS, A.RUN_ANSWER, ANAS_RUN, False),
    (OPS, A.RUN_CANCEL, ANAS_RUN, False),
    (OPS, A.RUNBOOK_RUN, RESET, False),
    (OPS, A.TOKENS_MANAGE, None, False),
    # an admin: everything
    (ADA, A.USERS_MANAGE, None, True),
    (ADA, A.TOKENS_MANAGE, None, True),
    (ADA, A.AUDIT_VIEW, None, True),
    (ADA, A.RUN_CANCEL, BENS_RUN, True),
    (ADA, A.RUNBOOK_RUN, REFUND, True),
    # how the question is put
    (Actor("ana", Role.AGENT, "portal", disabled=True), A.RUN_VIEW, ANAS_RUN, False),
    (Actor("ada", Role.ADMIN, via="token"), A.TOKENS_MANAGE, None, False),
    (Actor("ada", Role.ADMIN, via="token"), A.AUDIT_VIEW, None, True),
    (Actor("zendesk", Role.AGENT, "portal", via="token"), A.RUNBOOK_RUN, RESET, True),
    (Actor("nobody", Role.AGENT, None), A.RUNBOOK_VIEW, RESET, False),
    (Actor("lost", Role.AGENT, "gone-team"), A.RUNBOOK_VIEW, RESET, False),
    (ADA, A.RUN_VIEW, RESET, False),  # a runbook is not a run
    (ADA, A.RUNBOOK_RUN, None, False),
    (ADA, A.CHECKS_VIEW, RESET, False),
]


@pytest.mark.parametrize(
    ("actor", "action", "resource", "expected"),
    CASES,
    ids=[f"{a.name}-{a.role}-{x.value}-{i}" for i, (a, x, _, _) in enumerate(CASES)],
)
def test_the_roles_of_issue_21(actor: Actor, action: Action, resource: Resource, expected: bool) -> None:
    assert allowed(actor, action, resource, TEAMS) is expected


def test_every_action_is_of_one_kind() -> None:
    assert RUNBOOK_ACTIONS | RUN_ACTIONS | SITE_ACTIONS == set(Action)
    assert not RUNBOOK_ACTIONS & RUN_ACTIONS and not RUN_ACTIONS & SITE_ACTIONS


# -- properties --------------------------------------------------------------------------------------------

names = st.sampled_from(["ana", "leo", "pia", "ben", "zendesk"])
team_names = st.sampled_from(["portal", "billing", "nobody's"])
runbooks = st.builds(
    RunbookRef,
    name=st.sampled_from(["reset-password", "resend-verify", "refund", "other"]),
    tags=st.frozensets(st.sampled_from(["login", "password", "billing"]), max_size=2),
)
runs = st.builds(RunRef, runbook=runbooks, started_by=names, team=st.none() | team_names)
actors = st.builds(
    Actor,
    name=names,
    role=st.sampled_from(Role),
    team=st.none() | team_names,
    via=st.sampled_from(["session", "token"]),
    disabled=st.booleans(),
)
team_tables = st.dictionaries(
    team_names,
    st.builds(
        Team,
        name=st.just("t"),
        runbooks=st.frozensets(st.sampled_from(["reset-password", "refund", "other"])),
        tags=st.frozensets(st.sampled_from(["login", "billing"])),
    ),
)


def resource_for(action: Action) -> st.SearchStrategy[Resource]:
    if action in RUNBOOK_ACTIONS:
        return runbooks
    if action in RUN_ACTIONS:
        return runs
    return st.none()


action_and_resource = st.sampled_from(Action).flatmap(lambda a: st.tuples(st.just(a), resource_for(a)))


@given(actor=actors, pair=action_and_resource, teams=team_tables)
def test_a_disabled_actor_may_do_nothing(actor: Actor, pair: tuple[Action, Resource], teams) -> None:
    action, resource = pair
    assert not allowed(
        Actor(actor.name, actor.role, actor.team, actor.via, disabled=True), action, resource, teams
    )


@given(name=names, pair=action_and_resource, teams=team_tables)
def test_a_signed_in_admin_may_do_everything(name: str, pair: tuple[Action, Resource], teams) -> None:
    action, resource = pair
    assert allowed(Actor(name, Role.ADMIN), action, resource, teams)


@given(actor=actors, action=st.sampled_from(sorted(RUN_ACTIONS)), run=runs, teams=team_tables)
def test_an_agent_or_lead_never_acts_on_another_teams_run(
    actor: Actor, action: Action, run: RunRef, teams
) -> None:
    if actor.role in (Role.AGENT, Role.LEAD) and run.team != actor.team:
        assert not allowed(actor, action, run, teams)
    if actor.role in (Role.AGENT, Role.LEAD) and actor.team is None:
        assert not allowed(actor, action, run, teams)


@given(actor=actors, action=st.sampled_from(sorted(RUN_ACTIONS)), run=runs, teams=team_tables)
def test_an_agent_never_acts_on_someone_elses_run(actor: Actor, action: Action, run: RunRef, teams) -> None:
    if actor.role is Role.AGENT and run.started_by != actor.name:
        assert not allowed(actor, action, run, teams)


@given(actor=actors, runbook=runbooks, teams=team_tables)
def test_an_agent_runs_only_what_the_team_may(actor: Actor, runbook: RunbookRef, teams) -> None:
    team = teams.get(actor.team) if actor.team else None
    may = team is not None and (runbook.name in team.runbooks or bool(team.tags & runbook.tags))
    if actor.role in (Role.AGENT, Role.LEAD) and not actor.disabled:
        assert allowed(actor, Action.RUNBOOK_RUN, runbook, teams) is may


@given(actor=actors, pair=action_and_resource, teams=team_tables)
def test_a_token_never_manages_accounts(actor: Actor, pair: tuple[Action, Resource], teams) -> None:
    action, resource = pair
    if actor.via == "token" and action in (Action.USERS_MANAGE, Action.TOKENS_MANAGE):
        assert not allowed(actor, action, resource, teams)


@given(actor=actors, pair=action_and_resource, teams=team_tables)
def test_operations_only_looks(actor: Actor, pair: tuple[Action, Resource], teams) -> None:
    action, resource = pair
    if actor.role is Role.OPERATIONS and allowed(actor, action, resource, teams):
        assert action in (Action.CHECKS_VIEW, Action.RUN_VIEW)
