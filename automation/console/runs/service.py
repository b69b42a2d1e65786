"""What a person (or a helpdesk through the API) does with runs: start one, look at it, answer its question,
cancel it, search the history. The pages, the JSON API and the event stream all call these; each asks
`permissions.allowed` (through Console.may) and records what it did in the audit log.

Errors are RunbookErrors with the HTTP status that fits (`status`), so the API and the pages answer alike:
a value that will not do names its field (422), a run the actor may not touch is 403, an unknown one 404.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from automation import patterns
from automation.api import check_secret_answers, check_text, validate_inputs
from automation.console.permissions import Action, Actor
from automation.console.runs import audit, events, questions, records
from automation.console.runs.executor import Executor, Unstored
from automation.console.runs.external import TICKET_ID
from automation.console.runs.sealing import MAX_SEALED_BYTES
from automation.console.runs.wakeup import Wakeup
from automation.engine.answers import normalise
from automation.errors import InputValueError, RunbookError, RunbookLoadError, UsageError
from automation.evidence.folder import new_run_id
from automation.loader import LoadedRunbook, walk_steps
from automation.schema import Ask


class Refused(UsageError):
    """The actor may not do this (403): their role or team does not reach it."""

    status = 403


class NotFound(UsageError):
    """No such runbook or run (404)."""

    status = 404


class Conflict(UsageError):
    """The run is not in a state for this (409): it has ended, or its question was answered already."""

    status = 409


def http_status(exc: RunbookError) -> int:
    """The HTTP status an error answers with: its own, 422 for a bad value, 400 for other usage errors."""
    if isinstance(exc, InputValueError):
        return 422
    return int(getattr(exc, "status", 400 if isinstance(exc, UsageError) else 500))


def via_of(actor: Actor) -> str:
    return "session" if actor.via == "session" else f"token {actor.name}"


@dataclass
class RunService:
    console: Any  # automation.console.context.Console (its store, config, catalog, may)
    wake: Wakeup
    executor: Executor

    @property
    def store(self) -> Any:
        return self.console.store

    # -- starting ---------------------------------------------------------------------------------------------

    def runbook(self, actor: Actor, name: str, action: Action = Action.RUNBOOK_VIEW) -> LoadedRunbook:
        if name not in self.console.catalog.names():
            raise NotFound(f"no runbook named '{name[:80]}': the list shows the ones you may run")
        try:
            loaded = self.console.catalog.get(name)
        except RunbookLoadError as exc:
            raise NotFound(f"runbook '{name}' does not load ({exc.message}): tell an administrator") from None
        if not self.console.may(actor, action, loaded):
            raise Refused(f"your team may not run '{name}'")
        return loaded

    def start(
        self,
        actor: Actor,
        name: str,
        inputs: dict[str, Any],
        *,
        answers: dict[str, Any] | None = None,
        external_ticket: str | None = None,
        idempotency_key: str | None = None,
    ) -> tuple[records.RunRow, bool]:
        """Validate the inputs as the CLI does (field by field) and queue the run. Returns (run, created):
        a repeated idempotency key returns the first run. Raises InputValueError (422), Refused, NotFound."""
        loaded = self.runbook(actor, name, Action.RUNBOOK_RUN)
        given = {k: v for k, v in inputs.items() if v not in (None, "")}
        values = validate_inputs(loaded, given, command_line=False)
        secret_names = {n for n, spec in loaded.model.inputs.items() if spec.type == "secret"}
        shown = {n: v for n, v in values.items() if n not in secret_names and not _server_side(loaded, n)}
        answers = {k: v for k, v in (answers or {}).items() if v not in (None, "")}
        for key, answer in answers.items():
            check_text(f"answers.{key}", str(answer))
        check_secret_answers(loaded, answers, self.console.catalog)
        if external_ticket is not None and (
            not TICKET_ID.fullmatch(external_ticket) or ".." in external_ticket
        ):
            raise InputValueError("external_ticket", "is not a ticket id: letters, digits and - _ . only")
        run_id = new_run_id(loaded.name)
        new = records.NewRun(
            id=run_id,
            runbook=loaded.name,
            environment=self.executor.settings.environment or "default",
            started_by=actor.name,
            team=actor.team,
            via=via_of(actor),
            inputs=shown,
            external_ticket=external_ticket,
            idempotency_key=idempotency_key,
        )
        row, created = records.insert_run(self.store, new)
        if not created:
            return row, False
        secret_inputs = {n: v for n, v in values.items() if n in secret_names}
        self.executor.secrets.keep(row.id, Unstored(secret_inputs, answers))
        with self.store.transaction() as conn:
            detail = f"{loaded.name} " + " ".join(f"{k}={v}" for k, v in shown.items())
            audit.record(
                conn, actor=actor.name, via=new.via, action="run.start", run_id=row.id, detail=detail
            )
        position = records.queue_position(self.store, row)
        events.add_event(self.store, row.id, "status", {"status": "queued", "position": position})
        self.wake.ring(row.id)
        return row, True

    # -- looking ----------------------------------------------------------------------------------------------

    def run(self, actor: Actor, run_id: str, action: Action = Action.RUN_VIEW) -> records.RunRow:
        """The run, if the actor may do `action` on it. Raises NotFound (also for a run they may not see
        at all: its existence is not told), Refused (seen, but not this action)."""
        row = records.get_run(self.store, run_id)
        if row is None or not self.console.may_run(actor, Action.RUN_VIEW, row):
            raise NotFound(f"no run '{run_id[:160]}' that you may see")
        if action is not Action.RUN_VIEW and not self.console.may_run(actor, action, row):
            raise Refused(f"you may not {action.value.split('.')[1]} this run")
        return row

    def history(self, actor: Actor, query: records.RunQuery) -> list[records.RunRow]:
        """The runs the actor may see that match, newest first."""
        found = records.search_runs(self.store, query)
        return [row for row in found if self.console.may_run(actor, Action.RUN_VIEW, row)]

    def state(self, actor: Actor, run_id: str) -> dict[str, Any]:
        """A run as `GET /api/runs/{id}` shows it."""
        row = self.run(actor, run_id)
        waiting = questions.waiting_question(self.store, run_id) if row.status == "waiting" else None
        return {
            "id": row.id,
            "runbook": row.runbook,
            "status": row.status,
            "outcome": row.outcome,
            "summary": row.summary,
            "error": row.error,
            "started_by": row.started_by,
            "inputs": row.inputs,
            "created": row.created.isoformat(),
            "finished": row.finished.isoformat() if row.finished else None,
            "position": records.queue_position(self.store, row),
            "steps": events.steps_of(events.events_after(self.store, run_id, 0, limit=100_000)),
            "question": waiting.card() if waiting else None,
            "ticket": (row.result or {}).get("ticket"),
            "external_ticket": (row.result or {}).get("external_ticket")
            or ({"id": row.external_ticket, "status": "pending"} if row.external_ticket else None),
            "url": f"/runs/{row.id}",
        }

    # -- acting on a run --------------------------------------------------------------------------------------

    def answer(self, actor: Actor, run_id: str, name: str, value: Any) -> None:
        """Answer the run's waiting question `name`. Raises InputValueError (the answer will not do, named),
        Conflict (no such question waits), Refused, NotFound."""
        row = self.run(actor, run_id, Action.RUN_ANSWER)
        waiting = questions.waiting_question(self.store, run_id)
        if waiting is None or waiting.name != name:
            raise Conflict(f"run '{row.id}' is not waiting for '{name[:80]}' (it is {row.status})")
        text = _checked_answer(waiting, value, where=self._pattern_at(row.runbook, waiting))
        if not questions.give_answer(self.store, waiting, text, by=actor.name, via=via_of(actor)):
            raise Conflict(f"'{name}' was answered already, or its time ran out")
        shown = questions.MASK if waiting.secret else text
        with self.store.transaction() as conn:
            audit.record(
                conn,
                actor=actor.name,
                via=via_of(actor),
                action="run.answer",
                run_id=run_id,
                detail=f"{name} = {shown}",
            )
        self.wake.ring(run_id)

    def _pattern_at(self, runbook: str, waiting: questions.QuestionRow) -> str:
        """The file:line of the waiting question's pattern, named if it takes too long on the answer: the ask
        of that name and pattern in the run's runbook, else the step's number (an ask in a used runbook)."""
        if waiting.pattern is None:
            return ""
        fallback = f"runbook {runbook}, step {waiting.step}"
        try:
            loaded = self.console.catalog.get(runbook)
        except RunbookError:
            return fallback
        for block, steps in (("steps", loaded.model.steps), ("finally", loaded.model.finally_)):
            for path, step in walk_steps(steps, (block,)):
                if isinstance(step, Ask) and (step.ask, step.pattern) == (waiting.name, waiting.pattern):
                    return patterns.place(loaded.path, loaded.line_of(path + ("pattern",)))
        return fallback

    def cancel(self, actor: Actor, run_id: str) -> str:
        """Stop the run (a queued one at once; a running one within a few seconds). Returns the status it had.
        Raises Conflict if it has ended, Refused, NotFound."""
        row = self.run(actor, run_id, Action.RUN_CANCEL)
        had = records.request_cancel(self.store, run_id, actor.name)
        if had is None:
            raise Conflict(f"run '{row.id}' has ended already ({row.status})")
        with self.store.transaction() as conn:
            audit.record(
                conn, actor=actor.name, via=via_of(actor), action="run.cancel", run_id=run_id, detail=had
            )
        if had == "queued":
            events.add_event(
                self.store,
                run_id,
                "finished",
                {
                    "status": "cancelled",
                    "outcome": None,
                    "summary": f"Cancelled by {actor.name} before it started.",
                },
            )
        self.wake.ring(run_id)
        return had


def _server_side(loaded: LoadedRunbook, name: str) -> bool:
    return loaded.model.inputs[name].from_env is not None


def _checked_answer(waiting: questions.QuestionRow, value: Any, *, where: str) -> str:
    """The answer as the run will take it, checked now so the field's error shows at once; `where` is the
    file:line of the question's pattern (named if it takes too long on the answer)."""
    text = "yes" if value is True else "no" if value is False else str(value if value is not None else "")
    step = Ask(
        ask=waiting.name,
        prompt=waiting.prompt,
        kind=waiting.kind,
        pattern=waiting.pattern,
        pattern_hint=waiting.pattern_hint,
        secret=waiting.secret,
    )  # type: ignore[arg-type]
    try:
        normalise(step, text, where=where)
    except ValueError as exc:
        raise InputValueError(waiting.name, str(exc)) from None
    if waiting.secret and len(text.encode("utf-8")) > MAX_SEALED_BYTES:
        raise InputValueError(waiting.name, f"a secret answer is at most {MAX_SEALED_BYTES} bytes")
    return text
