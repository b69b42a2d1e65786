"""The library API the CLI, the scheduler and the pytest plugin all call: no command has its own path."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from automation import patterns
from automation.catalog import Catalog, load_runbook
from automation.engine.answers import Prompter, how_to_give, text_problem
from automation.engine.context import Reporter
from automation.environments import Target, missing_mailbox_variables, resolve
from automation.errors import (
    ConfigError,
    InputValueError,
    MissingAnswerError,
    PatternTimeout,
    RunStopped,
    SandboxInUse,
    TargetUnreachableError,
    TextTooLong,
)
from automation.loader import LoadedRunbook, walk_steps
from automation.redaction.canon import SecretTooShort, check_secret
from automation.result import SCREENSHOT_POLICIES, RunResult
from automation.schema import Ask, Input, SandboxArrangement, Use


def is_email(value: str) -> bool:
    """What the pattern ^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$ accepts (one @, no blanks, a dot inside the domain), in
    linear time: that pattern backtracks quadratically on a long domain of dots (50,000 took 17 s)."""
    local, at, domain = value.partition("@")
    blank = any(char.isspace() for char in value)
    return bool(at and local) and "@" not in domain and "." in domain[1:-1] and not blank


def check_text(name: str, raw: Any) -> None:
    """Refuse a value the browser, the report and the ticket store cannot carry faithfully: bytes that are
    not UTF-8 (they reach us as surrogates) and control characters. Raises InputValueError naming it."""
    problem = text_problem(raw) if isinstance(raw, str) else None
    if problem:
        raise InputValueError(name, problem)


def _coerce(name: str, spec: Input, raw: Any, *, where: str) -> Any:
    """The value as the run takes it; `where` is the file:line of the input's pattern, for its errors."""
    check_text(name, raw)
    if spec.type == "int":
        try:
            return int(raw)
        except (TypeError, ValueError):
            raise InputValueError(name, f"'{raw}' is not a whole number") from None
    if spec.type == "bool":
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in ("yes", "true", "1", "y"):
            return True
        if text in ("no", "false", "0", "n"):
            return False
        raise InputValueError(name, f"'{raw}' is not yes or no")
    value = str(raw).strip()
    if spec.type == "email" and not is_email(value):
        raise InputValueError(name, f"'{value}' is not an email address")
    if spec.type == "enum" and value not in (spec.choices or []):
        raise InputValueError(name, f"'{value}' is not one of {', '.join(spec.choices or [])}")
    if spec.type == "secret":
        _check_secret(name, value)
    if spec.pattern and not _meets(name, spec.pattern, value, where):
        shown = "the value given" if spec.type == "secret" else f"'{value}'"
        rule = spec.pattern_hint or f"the expected form ({spec.pattern})"
        raise InputValueError(name, f"{shown} does not meet {rule}")
    return value


def _meets(name: str, pattern: str, value: str, where: str) -> bool:
    """The value against its input's pattern, bounded (patterns.py); too long or too slow: InputValueError."""
    try:
        return patterns.fullmatch(pattern, value, where=where) is not None
    except (PatternTimeout, TextTooLong) as exc:
        raise InputValueError(name, str(exc)) from exc


def _check_secret(name: str, value: str) -> None:
    """A secret is used stripped, and masked as used; one too short to mask is refused (InputValueError)."""
    try:
        check_secret(value)
    except SecretTooShort as exc:
        raise InputValueError(name, str(exc)) from None


def check_secret_answers(loaded: LoadedRunbook, answers: dict[str, Any], catalog: Catalog | None) -> None:
    """Answers given up front to secret questions must be long enough to mask. Raises InputValueError."""
    for step in _asks(loaded, catalog):
        answer = answers.get(step.ask)
        if step.secret and step.kind != "yes_no" and answer not in (None, ""):
            _check_secret(f"{step.ask} (--answer {step.ask}=...)", str(answer))


def asked_in_steps(loaded: LoadedRunbook) -> set[str]:
    """The names this runbook's own `ask` steps set: an input of that name may be left out and asked."""
    return {step.ask for _, step in walk_steps(loaded.model.steps, ()) if isinstance(step, Ask)}


def validate_inputs(
    loaded: LoadedRunbook, raw: dict[str, Any], *, command_line: bool = True
) -> dict[str, Any]:
    """Check and convert input values. Raises InputValueError naming the input; a missing one says how to
    give it on the command line unless `command_line` is False (a form or an API request names the field)."""
    spec = loaded.model.inputs
    for name in raw:
        if name not in spec:
            raise InputValueError(
                name, f"{loaded.name} has no such input (it has: {', '.join(spec) or 'none'})"
            )
    values: dict[str, Any] = {}
    asked = asked_in_steps(loaded)
    for name, item in spec.items():
        value = raw.get(name)
        if value in (None, "") and item.from_env:
            value = os.environ.get(item.from_env)
        if value in (None, ""):
            if item.default is not None:
                values[name] = item.default
            elif item.required and name not in asked:
                how = f": {how_to_give(name, True).split(', or')[0]}" if command_line else ""
                raise InputValueError(name, f"is required{how}")
            continue
        where = patterns.place(loaded.path, loaded.line_of(("inputs", name, "pattern")))
        values[name] = _coerce(name, item, value, where=where)
    return values


def _asks(loaded: LoadedRunbook, catalog: Catalog | None, seen: set[str] | None = None) -> list[Ask]:
    """Every `ask` the run may reach, sub-runbooks' included (answers reach them by name)."""
    seen = seen if seen is not None else {loaded.name}
    found: list[Ask] = []
    for _, step in walk_steps(loaded.model.steps, ()):
        if isinstance(step, Ask):
            found.append(step)
        elif isinstance(step, Use) and catalog is not None and step.use not in seen:
            seen.add(step.use)
            found += _asks(catalog.get(step.use), catalog, seen)
    return found


def preflight_answers(
    loaded: LoadedRunbook,
    values: dict[str, Any],
    answers: dict[str, Any],
    target: Target,
    prompter: Prompter | None,
    catalog: Catalog | None = None,
) -> None:
    """Without a terminal, an `ask` that every path reaches and an input (e.g. --code) could answer must be
    answerable before the browser starts. Questions on some paths only (in a branch arm, after a step that
    may end the run) are checked when reached (exit 2 there too, never a wait). Raises MissingAnswerError."""
    from automation.preflight import asks_on_every_path

    if prompter is not None:
        return
    for step in asks_on_every_path(loaded, catalog):
        if step.ask not in loaded.model.inputs or not step.check_before_run:
            continue
        if values.get(step.ask) not in (None, "") or answers.get(step.ask) not in (None, ""):
            continue
        if step.from_mail is not None and target.mailbox:
            continue
        raise MissingAnswerError(
            f"'{step.ask}' is needed ({step.prompt}) and there is no terminal to ask on: "
            f"{how_to_give(step.ask, step.ask in loaded.model.inputs)}"
        )


def check_mailbox(
    loaded: LoadedRunbook,
    values: dict[str, Any],
    answers: dict[str, Any],
    target: Target,
    catalog: Catalog | None = None,
) -> None:
    """A run that may read an answer from the mailbox (one not given up front) needs the mailbox's login
    variables set before the browser starts. Raises ConfigError (exit 2) naming them."""
    unanswered = [
        step
        for step in _asks(loaded, catalog)
        if step.from_mail is not None
        and values.get(step.ask) in (None, "")
        and answers.get(step.ask) in (None, "")
    ]
    missing = missing_mailbox_variables(target) if unanswered else []
    if missing:
        where = getattr(target.mailbox, "describe", lambda: "")()
        raise ConfigError(
            f"environment '{target.name}': '{unanswered[0].ask}' is read from the mailbox {where}, which needs "
            f"{' and '.join(missing)} set (in the environment or the secrets file)"
        )


@dataclass(frozen=True)
class SandboxLease:
    """The reset lease a run holds on its sandbox, from its reset to its end (see sandbox/lease.py)."""

    holder: str
    token: str


# How long a reset waits for another run's lease before it is refused, and when an unreleased lease lapses.
LEASE_WAIT_S = 30.0
LEASE_TTL_S = 600.0


def prepare_sandbox(
    target: Target,
    arrangement: SandboxArrangement | dict[str, Any] | None = None,
    *,
    holder: str | None = None,
    lease_ttl_s: float = LEASE_TTL_S,
    lease_wait_s: float = LEASE_WAIT_S,
) -> SandboxLease | None:
    """Start from the sandbox's seed fixture, then arrange a case's state through the apps' own forms.

    With `holder` (a run id), the reset also takes the sandbox's reset lease for that run, so that no other
    run's reset wipes its state; give it back with `release_sandbox()`. Without one, the reset still waits
    for another run's lease, and takes none. Raises ConfigError if the sandbox refuses an arrangement,
    TargetUnreachableError if it does not answer, SandboxInUse (one of those) if another run holds it past
    the wait."""
    arrange = SandboxArrangement.model_validate(arrangement or {})
    base = next(iter(target.apps.values()), None)
    if target.sandbox is None and not target.resettable:
        if arrange.settings or arrange.requests:  # never arrange state on a real target
            raise ConfigError(
                f"this case needs sandbox state, and environment '{target.name}' is not a sandbox"
            )
        return None
    import httpx  # here: a run on a real target never needs it (start-up cost, issue 12)

    try:
        lease = _reset(target, _control_base(target), holder, lease_ttl_s, lease_wait_s)
        if arrange.settings and base:
            target.sandbox_control(base, "settings", arrange.settings, timeout=10).raise_for_status()
        for request in arrange.requests:
            answer = httpx.post(target.base_url(request.app) + request.post, data=request.form, timeout=10)
            if answer.status_code >= 400:
                raise ConfigError(f"arranging the sandbox: POST {request.post} answered {answer.status_code}")
    except httpx.HTTPError as exc:
        raise TargetUnreachableError(
            f"the sandbox of environment '{target.name}' does not answer ({exc}). "
            "Is `runbook sandbox serve` running?"
        ) from exc
    return lease


def _control_base(target: Target) -> str | None:
    """Where the sandbox's `/_sandbox` routes answer: the embedded server's own address (an app's URL may be
    overridden to point elsewhere), else the first app's URL of a served sandbox."""
    urls = target.sandbox.urls if target.sandbox is not None else target.apps
    return next(iter(urls.values()), None)


def _reset(
    target: Target, base: str | None, holder: str | None, ttl_s: float, wait_s: float
) -> SandboxLease | None:
    """Reset the sandbox over HTTP (the embedded one too: it is reached like any other); take the lease if a
    holder is given. Raises SandboxInUse if another run holds it past wait_s."""
    if not base:
        return None
    body = {"ttl_s": ttl_s, "wait_s": wait_s, **({"holder": holder} if holder else {})}
    answer = target.sandbox_control(base, "reset", body, timeout=wait_s + 10)
    if answer.status_code == 403:  # a served sandbox whose token this engine lacks
        raise ConfigError(
            f"the sandbox at {base} refused the reset: it wants its token, which `runbook sandbox serve` "
            "wrote to a file (it says where); give it as RUNBOOK_SANDBOX_TOKEN, or run with the same RUNBOOK_DATA"
        )
    if answer.status_code == 409:
        found = answer.json()
        raise _busy(target, base, found.get("holder", "another run"), found.get("expires_in", ttl_s))
    answer.raise_for_status()
    token = answer.json().get("lease")
    return SandboxLease(holder, token) if holder and token else None


def _busy(target: Target, base: str | None, holder: str, expires_in: float) -> SandboxInUse:
    return SandboxInUse(
        f"the sandbox at {base} is in use by another run ({holder}), which reset it for its own use; it is "
        f"released when that run ends (at the latest in {expires_in:.0f}s). Run again when it has finished, "
        f"or use a sandbox of your own (--env sandbox starts one in this process)."
    )


def release_sandbox(target: Target, lease: SandboxLease | None) -> None:
    """Give back a reset lease taken by prepare_sandbox(); quiet if the sandbox has gone (it lapses anyway)."""
    if lease is None:
        return
    base = _control_base(target)
    import httpx

    try:
        target.sandbox_control(str(base), "release", {"lease": lease.token}, timeout=5)
    except httpx.HTTPError:
        pass  # the sandbox stopped, or the network is gone: the lease expires on its own


def run(
    runbook: str | Path | LoadedRunbook,
    inputs: dict[str, Any] | None = None,
    *,
    env: str | None = None,
    base_urls: dict[str, str] | None = None,
    target: Target | None = None,
    answers: dict[str, Any] | None = None,
    prompter: Prompter | None = None,
    reporter: Reporter | None = None,
    headed: bool = False,
    chromium: str | None = None,
    evidence_root: Path | None = None,
    catalog: Catalog | None = None,
    sandbox: SandboxArrangement | dict[str, Any] | None = None,
    reset_sandbox: bool = True,
    browser: Any = None,
    run_id: str | None = None,
    data_dir: Path | None = None,
    deadline_s: float | None = None,
    screenshots: str = "each-step",
    stop: Callable[[], RunStopped | None] | None = None,
    sandbox_wait_s: float = LEASE_WAIT_S,
) -> RunResult:
    """Load, validate and run a runbook. Raises UsageError (exit 2) before any browser starts on bad input.

    `screenshots`: "each-step" (a picture per step that changes the page), "on-failure" (the failing step's,
    and explicit `screenshot:` steps) or "off". `stop`, asked between steps and while a step waits, returns a
    RunStopped (RunCancelled) to end the run with: the console's cancel. `sandbox_wait_s`: how long the
    reset waits for another run's lease on a served sandbox before SandboxInUse (the console waits in short
    turns, so that a cancel is heard between them)."""
    from automation.engine.credentials import target_secrets
    from automation.engine.runner import RunOptions, execute

    if screenshots not in SCREENSHOT_POLICIES:
        raise InputValueError(
            "screenshots", f"'{screenshots}' is not one of {', '.join(SCREENSHOT_POLICIES)}"
        )
    catalog = catalog or Catalog.default()
    loaded = runbook if isinstance(runbook, LoadedRunbook) else load_runbook(runbook, catalog=catalog)
    values = validate_inputs(loaded, dict(inputs or {}))
    for name, answer in (answers or {}).items():
        check_text(name, answer)
    from automation.preflight import apps_used, check_credentials

    # the apps it opens decide whether the embedded sandbox is started at all
    target = target or resolve(env, base_urls, needs=apps_used(loaded, catalog))
    if loaded.model.app not in target.apps:
        target.base_url(loaded.model.app)  # raises ConfigError naming the app and how to give it
    target.session_for(loaded.model.app)  # a configured session must exist before a browser starts
    check_credentials(loaded, target, catalog)  # each one used, and its variables, before a browser starts
    preflight_answers(loaded, values, answers or {}, target, prompter, catalog)
    check_mailbox(loaded, values, answers or {}, target, catalog)
    check_secret_answers(loaded, answers or {}, catalog)
    target_secrets(target)  # a password too short to mask is refused before anything is prepared
    from automation.evidence.folder import new_run_id

    run_id = run_id or new_run_id(loaded.name)
    lease = None
    if reset_sandbox:
        ttl = (deadline_s + 60) if deadline_s else LEASE_TTL_S
        lease = prepare_sandbox(target, sandbox, holder=run_id, lease_ttl_s=ttl, lease_wait_s=sandbox_wait_s)
    options = RunOptions(
        headed=headed,
        chromium=chromium,
        evidence_root=evidence_root,
        browser=browser,
        run_id=run_id,
        data_dir=data_dir,
        deadline_s=deadline_s,
        screenshots=screenshots,
        stop=stop,
    )
    try:
        return execute(
            loaded,
            values,
            target,
            catalog=catalog,
            answers=answers,
            prompter=prompter,
            reporter=reporter,
            options=options,
        )
    finally:
        release_sandbox(target, lease)
