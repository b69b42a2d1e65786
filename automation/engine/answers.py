"""Where an `ask` gets its answer: an option given up front, the environment's mailbox (when the runbook says
`from_mail`), or the agent at the terminal. Never a wait on a prompt without a terminal."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from automation import patterns
from automation.errors import PatternTimeout, StepFailed, TextTooLong
from automation.redaction.canon import canonical, check_secret
from automation.schema import Ask, FromMail
from automation.templating import render

if TYPE_CHECKING:
    from automation.loader import LoadedRunbook

YES = {"y", "yes", "true", "1", "oui"}
NO = {"n", "no", "false", "0", "non"}


@dataclass(frozen=True)
class Question:
    """What a run asks the agent: enough for a terminal prompt or a question card in the console."""

    name: str  # the variable the answer goes into
    prompt: str  # rendered, as the agent reads it
    kind: str = "text"  # "text" or "yes_no"
    secret: bool = False  # typed without echo, never stored or shown again
    pattern: str | None = None  # a regex the answer must match
    pattern_hint: str | None = None  # its rule in words
    step: str = ""  # the number of the step that asks

    @property
    def yes_no(self) -> bool:
        return self.kind == "yes_no"


class Prompter(Protocol):
    """Asks the agent; implemented by the terminal, the agent console, or by tests.

    May raise RunStopped (cancelled, unanswered) to end the run while it waits."""

    def ask(self, question: Question) -> str: ...


def text_problem(text: str) -> str | None:
    """Why a typed value cannot be carried faithfully (bytes that are not UTF-8 reach us as surrogates; control
    characters), or None."""
    for index, char in enumerate(text, start=1):
        kind = unicodedata.category(char)
        if kind == "Cs":
            return (
                f"is not valid UTF-8 text (character {index}): check the encoding of the terminal or "
                "script that passed it, and give it again"
            )
        if kind == "Cc":
            return f"contains a control character (U+{ord(char):04X}, character {index}): remove it"
    return None


def normalise(step: Ask, raw: Any, *, where: str = "<runbook>") -> Any:
    """Check an answer against the step; returns the value to store, which is also the value masked. `where`
    is the file:line of the step's pattern, named when the pattern takes too long on the answer.

    Raises ValueError with a reason (a secret too short to mask is refused: SecretTooShort)."""
    if step.kind == "yes_no":
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in YES:
            return True
        if text in NO:
            return False
        raise ValueError("answer yes or no")
    problem = text_problem(str(raw))
    if problem:
        raise ValueError(f"the answer {problem}")
    text = canonical(str(raw))
    if step.secret:
        check_secret(text)
    if step.pattern and not _meets(step.pattern, text, where):
        raise ValueError(f"it does not meet {step.pattern_hint or f'the expected form ({step.pattern})'}")
    return text


def _meets(pattern: str, text: str, where: str) -> bool:
    """The answer against the step's pattern, bounded (automation/patterns.py); ValueError when it is too long
    or the pattern backtracks past its time limit."""
    try:
        return patterns.fullmatch(pattern, text, where=where) is not None
    except TextTooLong as exc:
        raise ValueError(f"the answer {exc}") from exc
    except PatternTimeout as exc:
        raise ValueError(str(exc)) from exc


def pattern_at(loaded: LoadedRunbook, file: str | None, path: tuple[Any, ...], *keys: str) -> str:
    """The file:line of a step's pattern (its "pattern", or "from_mail", "pattern"), for its errors."""
    return patterns.place(file or loaded.path, loaded.line_of(path + keys))


def found_in(pattern: str, text: str, where: str) -> str | None:
    """What `pattern` (written at `where`) keeps of page text an `extract` reads: its first group, or the whole
    match; None if it does not match. Raises StepFailed if the pattern takes too long on the text."""
    try:
        match = patterns.search(pattern, text, where=where)
    except PatternTimeout as exc:
        raise StepFailed(str(exc)) from None
    return patterns.kept(match) if match else None


def read_mailbox(
    mailbox: Any,
    spec: FromMail,
    variables: Mapping[str, Any],
    *,
    since: float,
    timeout_s: float,
    where: str = "from_mail.pattern",
) -> str | None:
    """Wait for the newest mail to `to`, arrived since `since`, whose text, HTML or subject matches; the
    pattern's first group wins. Then keep, mark read or delete that mail. Raises StepFailed if the mailbox
    cannot be read, or if the pattern (written at `where`) takes too long on a mail."""
    from automation.mail import MailboxError, find_answer, open_mailbox

    to = render(spec.to, variables)
    try:
        with open_mailbox(mailbox) as box:
            return find_answer(
                box,
                to=to,
                pattern=spec.pattern,
                subject=spec.subject,
                since=since,
                timeout_s=timeout_s,
                then=spec.then,
                where=where,
            )
    except MailboxError as exc:
        raise StepFailed(f"{exc}") from None
    except PatternTimeout as exc:  # a mail anyone can send must not hold the run: the step fails, named
        raise StepFailed(f"from_mail: {exc}") from None


def how_to_give(name: str, is_input: bool) -> str:
    if is_input:
        return f"pass --{name.replace('_', '-')} VALUE, or run it in a terminal to be asked"
    return f"pass --answer {name}=VALUE, or run it in a terminal to be asked"
