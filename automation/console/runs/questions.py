"""A run's questions in the store: asked by the run, answered from any page or the API, taken by the run.

A plain answer is kept in the row until the run takes it; a secret one only sealed to the key the run made for
that question (sealing.py), and wiped when taken. Whoever answers is recorded; the value never is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select, update

from automation.console.runs.sealing import seal
from automation.console.store import ConsoleStore, now_utc
from automation.store.tables.console import questions

MASK = "••••••"


@dataclass(frozen=True)
class QuestionRow:
    id: int
    run_id: str
    name: str
    prompt: str
    kind: str
    secret: bool
    pattern: str | None
    pattern_hint: str | None
    step: str
    screenshot: str | None
    asked: datetime
    deadline: datetime
    status: str  # waiting, answered, unanswered, cancelled
    public_key: str
    answered_by: str | None

    def card(self) -> dict[str, object]:
        """What a page or an API client is shown (never an answer)."""
        return {
            "id": self.id,
            "name": self.name,
            "prompt": self.prompt,
            "kind": self.kind,
            "secret": self.secret,
            "pattern": self.pattern,
            "pattern_hint": self.pattern_hint,
            "step": self.step,
            "screenshot": self.screenshot,
            "deadline": self.deadline.isoformat(),
        }


def _row(found: object) -> QuestionRow:
    return QuestionRow(
        **{name: getattr(found, name) for name in QuestionRow.__dataclass_fields__}  # type: ignore[arg-type]
    )


def ask(
    store: ConsoleStore,
    *,
    run_id: str,
    name: str,
    prompt: str,
    kind: str,
    secret: bool,
    pattern: str | None,
    step: str,
    screenshot: str | None,
    pattern_hint: str | None = None,
    deadline: datetime,
    public_key: str,
    now: datetime | None = None,
) -> QuestionRow:
    with store.transaction() as conn:
        written = conn.execute(
            insert(questions).values(
                run_id=run_id,
                name=name,
                prompt=prompt,
                kind=kind,
                secret=secret,
                pattern=pattern,
                pattern_hint=pattern_hint,
                step=step,
                screenshot=screenshot,
                asked=now or now_utc(),
                deadline=deadline,
                status="waiting",
                public_key=public_key,
            )
        )
        question_id = written.inserted_primary_key[0]
        return _row(conn.execute(select(questions).where(questions.c.id == question_id)).one())


def waiting_question(store: ConsoleStore, run_id: str) -> QuestionRow | None:
    with store.reading() as conn:
        found = conn.execute(
            select(questions)
            .where(questions.c.run_id == run_id, questions.c.status == "waiting")
            .order_by(questions.c.id.desc())
            .limit(1)
        ).first()
    return _row(found) if found is not None else None


def give_answer(
    store: ConsoleStore, question: QuestionRow, value: str, *, by: str, via: str, now: datetime | None = None
) -> bool:
    """Store the answer (sealed if secret) for the run to take. False when the question no longer waits
    (answered in another tab, or timed out): the first answer wins."""
    stored = seal(question.public_key, value) if question.secret else value
    with store.transaction() as conn:
        changed = conn.execute(
            update(questions)
            .where(questions.c.id == question.id, questions.c.status == "waiting")
            .values(
                status="answered",
                answer=stored,
                answered_by=by,
                answered_via=via,
                answered_at=now or now_utc(),
            )
        )
        return changed.rowcount == 1


def take_answer(store: ConsoleStore, question_id: int) -> tuple[str | None, str | None]:
    """(the stored answer, who gave it), the answer wiped from the row as it is taken; (None, None) while
    none is given."""
    with store.transaction() as conn:
        found = conn.execute(
            select(questions.c.answer, questions.c.answered_by).where(
                questions.c.id == question_id, questions.c.status == "answered"
            )
        ).first()
        if found is None or found.answer is None:
            return None, None
        conn.execute(update(questions).where(questions.c.id == question_id).values(answer=None))
        return found.answer, found.answered_by


def close_question(store: ConsoleStore, question_id: int, status: str) -> bool:
    """End a waiting question as `unanswered` or `cancelled`. False if an answer came first."""
    with store.transaction() as conn:
        changed = conn.execute(
            update(questions)
            .where(questions.c.id == question_id, questions.c.status == "waiting")
            .values(status=status)
        )
        return changed.rowcount == 1
