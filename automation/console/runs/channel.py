"""The run's side of the console: a Reporter that writes each step and instruction as an event, and a
Prompter that asks through the store and waits for the answer (or the cancel, or the question's time limit).

Both run in the executor's thread, inside the engine; what they write is already masked by the engine
(labels, details, errors), and a secret answer is never written: only who gave it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from automation.console.runs import events, questions, records
from automation.console.runs.sealing import KeyPair
from automation.console.runs.wakeup import POLL_S, Wakeup
from automation.console.store import ConsoleStore, now_utc
from automation.engine.answers import Question
from automation.errors import QuestionUnanswered, RunCancelled, RunStopped, ServerStopping
from automation.result import LIVE_DETAILS, StepRecord


def step_view(record: StepRecord, status: str | None = None) -> dict[str, Any]:
    """One step as the live page and the API show it (the engine masked every text of it)."""
    return {
        "number": record.number,
        "label": record.label,
        "action": record.action,
        "status": status or record.status,
        "duration_s": record.duration_s,
        "detail": record.detail if record.action in LIVE_DETAILS else None,
        "error": record.error.splitlines()[0] if record.error else None,
        "screenshot": record.screenshot,
    }


@dataclass
class RunLine:
    """What both sides share: the store, the wake-up and which run this is."""

    store: ConsoleStore
    wake: Wakeup
    run_id: str
    stopping: threading.Event = field(default_factory=threading.Event)  # set when the server shuts down

    def stopped(self) -> RunStopped | None:
        """Why the run must stop now, if it must: the server is shutting down, or someone cancelled it."""
        if self.stopping.is_set():
            return ServerStopping("the console server was stopped during the run; start it again")
        who = records.cancel_requested(self.store, self.run_id)
        return RunCancelled(f"cancelled by {who}") if who else None

    def event(self, kind: str, data: dict[str, Any]) -> None:
        events.add_event(self.store, self.run_id, kind, data)
        self.wake.ring(self.run_id)


@dataclass
class StoreReporter:
    line: RunLine
    last_screenshot: str | None = None

    def step_started(self, record: StepRecord) -> None:
        self.line.event("step", step_view(record, "running"))

    def step_finished(self, record: StepRecord) -> None:
        if record.screenshot:
            self.last_screenshot = record.screenshot
        self.line.event("step", step_view(record))

    def say(self, text: str) -> None:
        self.line.event("say", {"text": text})


@dataclass
class StorePrompter:
    """Asks in the store and waits. Raises RunCancelled when the run is cancelled meanwhile, and
    QuestionUnanswered when nobody answers within `answer_within`."""

    line: RunLine
    reporter: StoreReporter
    answer_within: timedelta
    clock: Any = now_utc
    asked: list[int] = field(default_factory=list)

    def ask(self, question: Question) -> str:
        keys = KeyPair() if question.secret else None
        row = questions.ask(
            self.line.store,
            run_id=self.line.run_id,
            name=question.name,
            prompt=question.prompt,
            kind=question.kind,
            secret=question.secret,
            pattern=question.pattern,
            pattern_hint=question.pattern_hint,
            step=question.step,
            screenshot=self.reporter.last_screenshot,
            deadline=self.clock() + self.answer_within,
            public_key=keys.public_pem if keys else "",
        )
        self.asked.append(row.id)
        records.set_status(self.line.store, self.line.run_id, "waiting")
        self.line.event("question", row.card())
        return self._wait(row, keys)

    def _wait(self, row: questions.QuestionRow, keys: KeyPair | None) -> str:
        seen = self.line.wake.generation(self.line.run_id)
        while True:
            stored, by = questions.take_answer(self.line.store, row.id)
            if stored is not None:
                value = keys.open(stored) if keys is not None else stored
                records.set_status(self.line.store, self.line.run_id, "running")
                shown = questions.MASK if row.secret else value
                self.line.event("answered", {"id": row.id, "name": row.name, "by": by, "value": shown})
                return value
            stopped = self.line.stopped()
            if stopped is not None and questions.close_question(self.line.store, row.id, "cancelled"):
                raise stopped
            left = (row.deadline - self.clock()).total_seconds()
            if left <= 0 and questions.close_question(self.line.store, row.id, "unanswered"):
                raise QuestionUnanswered(
                    f"nobody answered '{row.prompt}' within {_duration(self.answer_within)}"
                )
            seen = self.line.wake.wait(self.line.run_id, seen, max(min(POLL_S, left), 0.05))


def _duration(span: timedelta) -> str:
    seconds = int(span.total_seconds())
    if seconds % 60 or seconds < 60:
        return f"{seconds}s"
    return f"{seconds // 60} minutes" if seconds >= 120 else "1 minute"


def stop_probe(line: RunLine) -> Any:
    """For api.run's `stop`: a RunCancelled once someone asked the run to stop. Asked at every poll of a wait,
    so it reads the store only when the run's wake-up rang, or POLL_S after its last look (another replica)."""
    import time

    looked = {"generation": -1, "at": 0.0}

    def probe() -> RunStopped | None:
        generation = line.wake.generation(line.run_id)
        if (
            generation == looked["generation"]
            and time.monotonic() - looked["at"] < POLL_S
            and not line.stopping.is_set()
        ):
            return None
        looked["generation"], looked["at"] = generation, time.monotonic()
        return line.stopped()

    return probe
