"""Where an `ask` gets its answer: an option given up front, the environment's mail outbox (sandbox and QA
runs, when the runbook says so), or the agent at the terminal. Never a wait on a prompt without a terminal."""

from __future__ import annotations

import re
import time
import unicodedata
from collections.abc import Mapping
from typing import Any, Protocol

import httpx

from ..errors import StepFailed
from ..evidence.canon import canonical, check_secret
from ..schema import Ask, FromMail
from .templating import render

YES = {"y", "yes", "true", "1", "oui"}
NO = {"n", "no", "false", "0", "non"}


class Prompter(Protocol):
    """Asks the agent; implemented by the terminal console, or by tests."""

    def ask(self, prompt: str, *, secret: bool = False, yes_no: bool = False) -> str: ...


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


def normalise(step: Ask, raw: Any) -> Any:
    """Check an answer against the step; returns the value to store, which is also the value masked.

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
    if step.pattern and not re.fullmatch(step.pattern, text):
        raise ValueError(f"it does not have the expected form ({step.pattern})")
    return text


def read_mailbox(
    mailbox: str, spec: FromMail, variables: Mapping[str, Any], *, timeout_s: float
) -> str | None:
    """Poll the outbox for the newest mail to `to` whose subject and text match; the first group wins."""
    to = render(spec.to, variables)
    pattern = re.compile(spec.pattern)
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            mails = httpx.get(mailbox, params={"to": to}, timeout=5).json()
        except (httpx.HTTPError, ValueError) as exc:
            raise StepFailed(f"cannot read the mail outbox at {mailbox}: {exc}") from exc
        for mail in mails:  # newest first
            if spec.subject and spec.subject.lower() not in mail.get("subject", "").lower():
                continue
            match = pattern.search(mail.get("text", ""))
            if match:
                return match.group(1) if match.groups() else match.group(0)
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.2)


def how_to_give(name: str, is_input: bool) -> str:
    if is_input:
        return f"pass --{name.replace('_', '-')} VALUE, or run it in a terminal to be asked"
    return f"pass --answer {name}=VALUE, or run it in a terminal to be asked"
