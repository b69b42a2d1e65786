"""The run's side of the console, without a browser: the StorePrompter asks in the store and waits, in the
engine's thread (here a thread of the test), for an answer given from any page, for a cancel, or for the
question's time limit (on a clock the test moves: nothing here waits on the wall clock for a deadline)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from automation.console.runs import events, questions, records
from automation.console.runs.channel import RunLine, StorePrompter, StoreReporter, step_view, stop_probe
from automation.console.runs.wakeup import Wakeup
from automation.console.store import ConsoleStore
from automation.engine.answers import Question
from automation.errors import QuestionUnanswered, RunCancelled
from automation.result import StepRecord

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
WITHIN_S = 10.0  # how long the test waits for the run's thread to react; it reacts at once when rung
YES_NO = Question("ends_with_symbol", "Does the password end with a symbol?", kind="yes_no", step="1")
SECRET = Question("new_password", "The new password", secret=True, step="2.2")


class Clock:
    """A clock the test moves; the prompter reads it from its own thread."""

    def __init__(self) -> None:
        self.now = T0
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self.now

    def advance(self, span: timedelta) -> None:
        with self._lock:
            self.now += span


@dataclass
class Asking:
    """prompter.ask(question) running in a thread: what it returned, or what it raised."""

    prompter: StorePrompter
    question: Question
    result: list[Any] = field(default_factory=list)
    thread: threading.Thread | None = None

    def start(self) -> Asking:
        def ask() -> None:
            try:
                self.result.append(self.prompter.ask(self.question))
            except Exception as exc:  # noqa: BLE001 - handed to the test, which expects some
                self.result.append(exc)

        self.thread = threading.Thread(target=ask, daemon=True)
        self.thread.start()
        return self

    def waiting(self) -> questions.QuestionRow:
        """The question once the thread has asked it (its event written)."""
        line = self.prompter.line
        seen = line.wake.generation(line.run_id)
        deadline = time.monotonic() + WITHIN_S
        while time.monotonic() < deadline:
            # its question event is written last, once the row and the run's status say so
            if any(e.kind == "question" for e in events.events_after(line.store, line.run_id)):
                found = questions.waiting_question(line.store, line.run_id)
                assert found is not None
                return found
            seen = line.wake.wait(line.run_id, seen, 0.5)  # the prompter rings when it asks
        raise AssertionError("the prompter never asked")

    def outcome(self) -> Any:
        assert self.thread is not None
        self.thread.join(WITHIN_S)
        assert not self.thread.is_alive(), "the prompter still waits"
        return self.result[0]


@pytest.fixture
def line(store: ConsoleStore) -> RunLine:
    new = records.NewRun("run-1", "unknown-login-error", "sandbox", "ana", "portal-support", "session", {})
    records.insert_run(store, new)
    records.claim_next(store, "host:1:1")
    return RunLine(store, Wakeup(), "run-1")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def prompter(line: RunLine, clock: Clock) -> StorePrompter:
    return StorePrompter(line, StoreReporter(line), timedelta(minutes=10), clock=clock)


@pytest.fixture
def ask(prompter: StorePrompter) -> Iterator[Any]:
    started: list[Asking] = []

    def start(question: Question) -> Asking:
        started.append(Asking(prompter, question).start())
        return started[-1]

    yield start
    for asking in started:  # a failed test leaves no thread waiting on the store
        records.request_cancel(prompter.line.store, prompter.line.run_id, "teardown")
        prompter.line.wake.ring(prompter.line.run_id)
        if asking.thread is not None:
            asking.thread.join(WITHIN_S)


def kinds(line: RunLine) -> list[str]:
    return [e.kind for e in events.events_after(line.store, line.run_id)]


def status(line: RunLine) -> str:
    row = records.get_run(line.store, line.run_id)
    assert row is not None
    return row.status


def test_an_answer_given_from_a_page_is_what_the_run_gets(line: RunLine, ask: Any) -> None:
    asking = ask(YES_NO)
    waiting = asking.waiting()
    assert status(line) == "waiting"
    assert waiting.deadline == T0 + timedelta(minutes=10)
    assert questions.give_answer(line.store, waiting, "yes", by="lee", via="session")
    line.wake.ring(line.run_id)
    assert asking.outcome() == "yes"
    assert status(line) == "running"
    shown = events.events_after(line.store, line.run_id)
    assert [e.kind for e in shown] == ["question", "answered"]
    assert shown[1].data == {"id": waiting.id, "name": "ends_with_symbol", "by": "lee", "value": "yes"}


def test_a_secret_answer_reaches_the_run_and_is_shown_masked(line: RunLine, ask: Any) -> None:
    asking = ask(SECRET)
    waiting = asking.waiting()
    assert waiting.secret and "PUBLIC KEY" in waiting.public_key
    questions.give_answer(line.store, waiting, "Bright-Morning-4sun", by="ana", via="session")
    line.wake.ring(line.run_id)
    assert asking.outcome() == "Bright-Morning-4sun"
    answered = events.events_after(line.store, line.run_id)[-1]
    assert answered.data["value"] == questions.MASK
    assert "Bright-Morning-4sun" not in str(events.events_after(line.store, line.run_id))


def test_a_cancel_while_waiting_raises_run_cancelled(line: RunLine, ask: Any) -> None:
    asking = ask(YES_NO)
    waiting = asking.waiting()
    records.request_cancel(line.store, line.run_id, "lee")
    line.wake.ring(line.run_id)
    stopped = asking.outcome()
    assert isinstance(stopped, RunCancelled) and "lee" in str(stopped), stopped
    assert not questions.give_answer(line.store, waiting, "yes", by="ana", via="session")  # closed


def test_nobody_answering_by_the_deadline_raises_question_unanswered(
    line: RunLine, ask: Any, clock: Clock
) -> None:
    asking = ask(YES_NO)
    waiting = asking.waiting()
    clock.advance(timedelta(minutes=9, seconds=59))
    line.wake.ring(line.run_id)  # it looks again: still time
    assert questions.waiting_question(line.store, line.run_id) == waiting
    clock.advance(timedelta(seconds=1))
    line.wake.ring(line.run_id)
    ended = asking.outcome()
    assert isinstance(ended, QuestionUnanswered) and "within 10 minutes" in str(ended), ended
    assert not questions.give_answer(line.store, waiting, "yes", by="ana", via="session")  # too late
    assert kinds(line) == ["question"]


def test_the_stop_probe_answers_once_the_run_is_cancelled(line: RunLine) -> None:
    probe = stop_probe(line)
    assert probe() is None
    records.request_cancel(line.store, line.run_id, "lee")
    line.wake.ring(line.run_id)
    stopped = probe()
    assert isinstance(stopped, RunCancelled) and "lee" in str(stopped)


def test_a_step_shows_the_details_an_agent_needs_and_not_the_rest() -> None:
    branch = StepRecord("3", "branch", "Did the reset fix the login?", detail="took arm 1", error=None)
    shot = StepRecord("4", "click", "Submit", detail="2 attempts", error="Timeout 5000ms\n  call log: ...")
    assert step_view(branch)["detail"] == "took arm 1"
    view = step_view(shot, "failed")
    assert (view["detail"], view["error"], view["status"]) == (None, "Timeout 5000ms", "failed")
