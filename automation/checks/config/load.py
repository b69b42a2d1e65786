"""The checks file -> resolved checks, with file:line:column, the key and a suggestion on every error.

Validation goes as far as it can before anything runs: the runbook exists, each input is one of its inputs,
a secret input is given only by reference, the environment exists, the cron expression and time zones
parse, a `degraded.steps` key names a step of the runbook.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ValidationError

from automation.checks.alerting.policy import AlertRule
from automation.checks.config.schedule import Schedule, Window, describe, parse_duration, with_spread
from automation.checks.config.spec import (
    Alert,
    ChecksFile,
    CheckSpec,
    Defaults,
    FromCredential,
    FromEnv,
    Maintenance,
)
from automation.checks.model import CheckInfo
from automation.errors import ConfigError, RunbookLoadError
from automation.loader import Catalog, LoadedRunbook, _data_path, suggest, walk_steps
from automation.paths import checks_file
from automation.yamlfile import Path_, error_at_key, parse_yaml, read_yaml_text

CHECKS_FILE = "checks.yaml"


class ChecksFileError(RunbookLoadError):
    """The checks file is malformed (file:line:column, the key, a suggestion). Exit 2; nothing ran."""


@dataclass(frozen=True)
class _Where:
    """The file being read, for errors at a key's line."""

    source: str
    text: str
    positions: dict[Path_, tuple[int, int]]

    def error(self, message: str, path: tuple[Any, ...]) -> RunbookLoadError:
        return error_at_key(message, self.source, self.text, self.positions, path)


@dataclass(frozen=True)
class ChannelConfig:
    kind: str  # "ticket" or "webhook"
    queue: str = "operations"
    url: str | None = None
    url_env: str | None = None
    secret_env: str | None = None

    @property
    def id(self) -> str:
        """How history names this channel (stable across restarts)."""
        if self.kind == "ticket":
            return f"ticket:{self.queue}"
        return f"webhook:{self.url_env or _host(self.url or '')}"


@dataclass(frozen=True)
class Check:
    """One check, its defaults applied and its durations in seconds."""

    name: str
    title: str
    runbook: str
    env: str
    schedule: Schedule
    timeout_s: float
    attempts: int = 1
    backoff_s: float = 10.0
    inputs: dict[str, Any] = field(default_factory=dict)
    degraded_run_s: float | None = None
    degraded_steps: dict[str, float] = field(default_factory=dict)
    rule: AlertRule = field(default_factory=AlertRule)
    channels: tuple[ChannelConfig, ...] = ()
    windows: tuple[Window, ...] = ()
    screenshots: str = "each-step"
    enabled: bool = True
    line: int | None = None

    def info(self) -> CheckInfo:
        return CheckInfo(
            name=self.name,
            title=self.title,
            runbook=self.runbook,
            env=self.env,
            schedule=describe(self.schedule),
            timeout_s=self.timeout_s,
            degraded_run_s=self.degraded_run_s,
            degraded_steps=dict(self.degraded_steps),
        )


@dataclass(frozen=True)
class ChecksConfig:
    checks: dict[str, Check]
    passed_s: float
    failed_s: float
    path: Path | None = None

    def select(self, names: list[str]) -> list[Check]:
        """The named checks (all when none is named). Raises ConfigError naming an unknown one."""
        if not names:
            return [c for c in self.checks.values() if c.enabled]
        unknown = [n for n in names if n not in self.checks]
        if unknown:
            known = sorted(self.checks)
            raise ConfigError(
                f"no check named '{unknown[0]}'{suggest(unknown[0], known)}; known: {', '.join(known)}"
            )
        return [self.checks[n] for n in names]


def checks_path(catalog: Catalog | None = None) -> Path:
    """RUNBOOK_CHECKS, else checks.yaml (or a checks/ folder) in the catalog's first runbooks folder."""
    configured = checks_file()
    if configured:
        return configured
    roots = (catalog or Catalog.default()).roots
    root = roots[0] if roots else Path("runbooks")
    folder = root / "checks"
    return folder if folder.is_dir() and not (root / CHECKS_FILE).exists() else root / CHECKS_FILE


def load_checks(path: Path | None = None, *, catalog: Catalog | None = None) -> ChecksConfig:
    """Read and validate the checks file (or every *.yaml of a checks/ folder). Raises ChecksFileError."""
    catalog = catalog or Catalog.default()
    path = path or checks_path(catalog)
    files = sorted(path.glob("*.y*ml")) if path.is_dir() else [path]
    checks: dict[str, Check] = {}
    retention = (2 * 86400.0, 30 * 86400.0)
    for file in files:
        found, retention = _load_file(file, catalog)
        for name, check in found.items():
            if name in checks:
                raise ChecksFileError(f"check '{name}' is defined twice", path=str(file), line=check.line)
            checks[name] = check
    return ChecksConfig(checks=checks, passed_s=retention[0], failed_s=retention[1], path=path)


def _read(file: Path) -> str:
    """The file's text, within the loader's limits (size, UTF-8). Raises ChecksFileError."""
    if not file.exists():
        raise ChecksFileError(
            "there is no checks file here; write one (see README: Operations) or set RUNBOOK_CHECKS",
            path=str(file),
        )
    try:
        return read_yaml_text(file)
    except RunbookLoadError as exc:
        raise ChecksFileError(exc.message, path=exc.path, line=exc.line, column=exc.column) from None


def _load_file(file: Path, catalog: Catalog) -> tuple[dict[str, Check], tuple[float, float]]:
    text = _read(file)
    data, positions = parse_yaml(text, str(file))
    where = _Where(str(file), text, positions)
    if not isinstance(data, dict) or "checks" not in data:
        raise _error(
            where, "a checks file is a mapping with checks: (and optionally defaults:, maintenance:)", ()
        )
    try:
        model = ChecksFile.model_validate(data)
    except ValidationError as exc:
        raise _validation_error(exc, data, where) from None
    windows = tuple(_window(m, ("maintenance", i), where) for i, m in enumerate(model.maintenance))
    checks = {
        name: _resolve(name, spec, model.defaults, windows, catalog, where)
        for name, spec in model.checks.items()
    }
    retention = (
        parse_duration(model.retention.passed),
        parse_duration(model.retention.failed),
    )
    return checks, retention


def _error(where: _Where, message: str, path: tuple[Any, ...]) -> ChecksFileError:
    base = where.error(message, path)
    return ChecksFileError(
        base.message, path=base.path, line=base.line, column=base.column, snippet=base.snippet
    )


def _validation_error(exc: ValidationError, data: Any, where: _Where) -> ChecksFileError:
    errors = sorted(exc.errors(include_url=False), key=lambda e: -len(e["loc"]))
    first = errors[0]
    path = _data_path(data, first["loc"])
    if first["type"] == "extra_forbidden":
        bad = str(first["loc"][-1])
        message = f"unknown key '{bad}'{suggest(bad, _vocabulary())}"
    elif first["type"] == "missing":
        message = f"'{first['loc'][-1]}' is required here"
    elif first["type"] == "string_pattern_mismatch" and path and path[0] == "checks":
        message = "a check's name is lower case letters, digits, - and _, starting with a letter"
    else:
        message = first["msg"].removeprefix("Value error, ")
    return _error(where, message, path)


def _vocabulary() -> list[str]:
    from automation.checks.config import spec

    words: set[str] = set()
    for model in vars(spec).values():
        if isinstance(model, type) and issubclass(model, spec._Model):
            words.update(info.alias or name for name, info in model.model_fields.items())
    return sorted(words)


# -- resolving one check ---------------------------------------------------------------------------------


def _resolve(
    name: str,
    spec: CheckSpec,
    defaults: Defaults,
    global_windows: tuple[Window, ...],
    catalog: Catalog,
    where: _Where,
) -> Check:
    here = ("checks", name)
    loaded = _runbook(spec.runbook, catalog, where, here + ("runbook",))
    timezone = spec.timezone or defaults.timezone
    _zone(timezone, where, here + (("timezone",) if spec.timezone else ()))
    schedule = _schedule(name, spec, timezone, where, here)
    _check_inputs(spec, loaded, where, here)
    degraded = spec.degraded
    steps = dict(degraded.steps) if degraded else {}
    _check_step_names(steps, loaded, where, here + ("degraded", "steps"))
    retries = spec.retries or defaults.retries
    alert = spec.alert or defaults.alert
    own = tuple(
        _window(m, here + ("maintenance", i), where, tz=timezone) for i, m in enumerate(spec.maintenance)
    )
    return Check(
        name=name,
        title=spec.title or loaded.model.title,
        runbook=spec.runbook,
        env=_env(spec.env or defaults.env, where, here),
        schedule=schedule,
        timeout_s=parse_duration(spec.timeout or defaults.timeout),
        attempts=retries.attempts,
        backoff_s=parse_duration(retries.backoff),
        inputs=dict(spec.inputs),
        degraded_run_s=parse_duration(degraded.run) if degraded and degraded.run else None,
        degraded_steps={label: parse_duration(value) for label, value in steps.items()},
        rule=_rule(alert),
        channels=tuple(_channel(c) for c in alert.channels),
        windows=tuple(w for w in global_windows if not w.checks or name in w.checks) + own,
        screenshots=spec.screenshots or defaults.screenshots,
        enabled=spec.enabled,
        line=where.positions.get(here, (None, None))[0],
    )


def _runbook(name: str, catalog: Catalog, where: _Where, path: tuple[Any, ...]) -> LoadedRunbook:
    names = catalog.names()
    if name not in names:
        known = sorted(names)
        raise _error(
            where, f"no runbook named '{name}'{suggest(name, known)}; known: {', '.join(known)}", path
        )
    return catalog.load_file(names[name])


def _zone(name: str, where: _Where, path: tuple[Any, ...]) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise _error(where, f"'{name}' is not a time zone; write e.g. UTC or Europe/London", path) from None


def _schedule(name: str, spec: CheckSpec, timezone: str, where: _Where, here: tuple[Any, ...]) -> Schedule:
    failing = parse_duration(spec.while_failing.every) if spec.while_failing else None
    every = parse_duration(spec.every) if spec.every is not None else None
    try:
        schedule = Schedule(every_s=every, cron=spec.cron, timezone=timezone, while_failing_every_s=failing)
    except ValueError as exc:
        raise _error(where, str(exc), here + (("cron",) if spec.cron else ("every",))) from None
    return with_spread(schedule, name)


def _check_inputs(spec: CheckSpec, loaded: LoadedRunbook, where: _Where, here: tuple[Any, ...]) -> None:
    declared = loaded.model.inputs
    for input_name, value in spec.inputs.items():
        path = here + ("inputs", input_name)
        if input_name not in declared:
            known = sorted(declared)
            raise _error(
                where,
                f"runbook {loaded.name} has no input '{input_name}'{suggest(input_name, known)}"
                f" (it has: {', '.join(known) or 'none'})",
                path,
            )
        if declared[input_name].type == "secret" and not isinstance(value, FromEnv | FromCredential):
            raise _error(
                where,
                f"'{input_name}' is a secret: never write it here; give it as {{env: VARIABLE}} "
                "or {credential: NAME.password}",
                path,
            )


def _labels(loaded: LoadedRunbook) -> set[str]:
    """Every step label a threshold may name (explicit or the default the terminal shows)."""
    from automation.engine.context import describe_step

    return {step.label or describe_step(step) for _, step in walk_steps(loaded.model.steps, ())}


def _check_step_names(
    steps: dict[str, float], loaded: LoadedRunbook, where: _Where, path: tuple[Any, ...]
) -> None:
    labels = _labels(loaded)
    for label in steps:
        # a number such as "4" or "4.2" names a step as the terminal numbers it
        if label in labels or re.fullmatch(r"\d+(\.\d+)*", label):
            continue
        raise _error(
            where,
            f"runbook {loaded.name} has no step labelled '{label}'{suggest(label, sorted(labels))}; "
            "name a step by its label or its number",
            path + (label,),
        )


def _env(name: str | None, where: _Where, here: tuple[Any, ...]) -> str:
    from automation.environments import load_config

    try:
        config = load_config()
    except ConfigError as exc:
        raise _error(where, f"the environments file is wrong: {exc}", here) from None
    chosen = name or config.default
    if chosen not in config.environments:
        known = sorted(config.environments)
        raise _error(
            where,
            f"no environment '{chosen}'{suggest(chosen, known)} (known: {', '.join(known)})",
            here + ("env",),
        )
    return chosen


def _window(spec: Maintenance, path: tuple[Any, ...], where: _Where, tz: str | None = None) -> Window:
    timezone = spec.timezone if "timezone" in spec.model_fields_set or tz is None else tz
    _zone(timezone, where, path)
    try:
        start = datetime.strptime(spec.start.strip(), "%Y-%m-%d %H:%M")
    except ValueError:
        raise _error(where, f"start '{spec.start}' is not 'YYYY-MM-DD HH:MM'", path + ("start",)) from None
    return Window(
        name=spec.name or f"maintenance from {spec.start}",
        start=start,
        duration_s=parse_duration(spec.duration),
        repeat=spec.repeat,
        timezone=timezone,
        checks=tuple(spec.checks),
    )


def _rule(alert: Alert) -> AlertRule:
    after, within = (
        (alert.after, None) if isinstance(alert.after, int) else (alert.after.failures, alert.after.within)
    )
    return AlertRule(
        after=after,
        within_s=parse_duration(within) if within is not None else None,
        recover_after=alert.recover_after,
        remind_every_s=parse_duration(alert.remind.every) if alert.remind else None,
        remind_at_most=alert.remind.at_most if alert.remind else 0,
        on_degraded=alert.degraded,
    )


def _channel(channel: Any) -> ChannelConfig:
    if channel.ticket is not None:
        return ChannelConfig(kind="ticket", queue=channel.ticket.queue)
    hook = channel.webhook
    return ChannelConfig(kind="webhook", url=hook.url, url_env=hook.url_env, secret_env=hook.secret_env)


def _host(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).hostname or "webhook"


def resolve_inputs(check: Check, credentials: dict[str, dict[str, str]]) -> dict[str, Any]:
    """The check's input values, references read now. Raises ConfigError naming a missing variable."""
    values: dict[str, Any] = {}
    for name, value in check.inputs.items():
        if isinstance(value, FromEnv):
            found = os.environ.get(value.env)
            if found in (None, ""):
                raise ConfigError(
                    f"check '{check.name}': input '{name}' comes from ${value.env}, which is not set"
                )
            values[name] = found
        elif isinstance(value, FromCredential):
            cred, _, part = value.credential.partition(".")
            found = credentials.get(cred, {}).get(part)
            if not found:
                raise ConfigError(
                    f"check '{check.name}': input '{name}' comes from credential {value.credential}, "
                    f"which environment '{check.env}' does not have"
                )
            values[name] = found
        else:
            values[name] = value
    return values
