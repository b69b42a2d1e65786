"""One exception hierarchy for the whole package, and the exit codes it maps to.

    RunbookError                      base; never raised itself
    ├── UsageError                    exit 2: nothing was executed, the caller must fix their input
    │   ├── RunbookLoadError          a runbook file is malformed (file:line:column, key, suggestion)
    │   ├── InputValueError           a CLI/API input value is invalid (names the input)
    │   ├── MissingAnswerError        an `ask` needs an answer and there is no terminal to ask on
    │   ├── PatternTimeout            a runbook's pattern takes too long on a value (names the pattern's file:line)
    │   ├── TextTooLong               a value is longer than a runbook's pattern is matched on
    │   └── ConfigError               the environments file or an override is wrong
    ├── TargetUnreachableError        exit 3: the browser cannot start or the target does not answer
    │   └── SandboxInUse              a served sandbox is reset-leased by another run (nothing executed)
    ├── StepFailed                    a step did not do what the runbook expected (ends the run as failed)
    ├── RunTimedOut                   the run hit its wall-clock cap (RunOptions.deadline_s): status timed-out
    ├── RunStopped                    the run was stopped from outside while it ran; the evidence is saved
    │   ├── RunCancelled              someone cancelled it: status cancelled
    │   ├── QuestionUnanswered        a question waited past its time limit: status unanswered
    │   └── ServerStopping            the server running it is shutting down: status aborted
    ├── EvidenceError                 evidence could not be written safely (e.g. a trace still holds a secret)
    └── TicketError                   a ticket could not be opened or delivered
        └── TrackerUnavailable        the tracker is down, slow or answered 5xx: the ticket waits in the outbox

    Interrupted (a KeyboardInterrupt) Ctrl-C (SIGINT, exit 130) or SIGTERM (exit 143) during a run

Messages are written for the person who must act: what happened, where, and what to do next.
Third-party errors (Playwright, httpx, PyYAML, pydantic) are translated where they enter, with `raise ... from`.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes of `runbook`, documented in README.md."""

    RESOLVED = 0
    NOT_RESOLVED = 1  # escalated or failed
    BAD_INPUT = 2  # bad input or runbook; nothing executed
    UNREACHABLE = 3  # target or browser unreachable
    INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)
    TERMINATED = 143  # SIGTERM (128 + SIGTERM), e.g. `kill`, systemd or a container stopping


class RunbookError(Exception):
    """Base of every error this package raises on purpose."""

    exit_code: ExitCode = ExitCode.NOT_RESOLVED


class UsageError(RunbookError):
    """The caller's input is wrong; raised before any browser starts."""

    exit_code = ExitCode.BAD_INPUT


class RunbookLoadError(UsageError):
    """A runbook file cannot be read, parsed or validated. Fix the file at the place named."""

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        column: int | None = None,
        snippet: str | None = None,
    ) -> None:
        self.path, self.line, self.column, self.snippet = path, line, column, snippet
        self.message = message
        super().__init__(self.__str__())

    @property
    def location(self) -> str:
        where = self.path or "<runbook>"
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return where

    def __str__(self) -> str:
        text = f"{self.location}: {self.message}"
        if self.snippet:
            text += "\n" + self.snippet
        return text


class InputValueError(UsageError):
    """An input value given on the command line or to `run()` is invalid. Names the input."""

    def __init__(self, name: str, message: str) -> None:
        self.name = name
        super().__init__(f"input '{name}': {message}")


class MissingAnswerError(UsageError):
    """An `ask` step needs an answer, there is no terminal, and no option gave it."""


class PatternTimeout(UsageError):
    """A pattern from a runbook backtracked past its time limit on a value (automation/patterns.py). Names the
    pattern and its place; an input or an answer carries it as an InputValueError naming the field, a step
    that matched page text or mail fails with it."""

    def __init__(self, pattern: str, where: str, limit_s: float) -> None:
        self.pattern, self.where, self.limit_s = pattern, where, limit_s
        super().__init__(
            f"the pattern {pattern!r} at {where} takes too long on this value (catastrophic backtracking, "
            f"stopped after {limit_s:g}s): simplify it (no nested repeats such as (a+)+ or (a|aa)+)"
        )


class TextTooLong(UsageError):
    """A value is longer than a runbook's pattern is checked on (automation/patterns.py)."""


class ConfigError(UsageError):
    """The environments file, an --env name or a --base-url override is wrong."""


class TargetUnreachableError(RunbookError):
    """The browser could not start or the target did not answer. Check the URL / the browser path."""

    exit_code = ExitCode.UNREACHABLE


class SandboxInUse(TargetUnreachableError):
    """Another run holds the served sandbox's reset lease; run again when it ends, or use your own sandbox."""


class StepFailed(RunbookError):
    """A step did not do what the runbook expected; the run ends as failed with evidence saved."""


class RunTimedOut(RunbookError):
    """The run used up its time limit (`deadline_s`); the step in flight failed and the evidence is saved."""


class RunStopped(RunbookError):
    """The run was stopped from outside (the console) while it ran; the step in flight failed, the evidence is
    saved. `status` is how run.json names the ending."""

    status = "cancelled"


class RunCancelled(RunStopped):
    """Someone cancelled the run (the agent, a lead, an API client)."""

    status = "cancelled"


class QuestionUnanswered(RunStopped):
    """A question waited for an answer past its time limit (the agent hung up, closed the page)."""

    status = "unanswered"


class ServerStopping(RunStopped):
    """The server executing the run is shutting down (SIGTERM): the run stops like a Ctrl-C, evidence saved."""

    status = "aborted"


class Interrupted(KeyboardInterrupt):
    """A signal (Ctrl-C or SIGTERM) stopped the run; the evidence gathered so far is saved.

    A KeyboardInterrupt, so that code which already stops for Ctrl-C stops for SIGTERM as well."""

    def __init__(self, signum: int, name: str, exit_code: ExitCode) -> None:
        self.signum, self.name, self.exit_code = signum, name, exit_code
        super().__init__(name)


class EvidenceError(RunbookError):
    """Evidence could not be written safely; the unsafe artifact was withheld, never kept."""


class TicketError(RunbookError):
    """A ticket could not be opened."""


class TrackerUnavailable(TicketError):
    """The tracker is down, slow or answered 5xx; the ticket stays in the local outbox for retry."""
