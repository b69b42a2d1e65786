"""The checks file -> resolved checks, with file:line:column, the key and a suggestion on every error.

Validation goes as far as it can before anything runs: the runbook exists, each input is one of its inputs,
a secret input is given only by reference, the environment exists, the cron expression and time zones
parse, a `degraded.steps` key names a step of the runbook.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ValidationError

from automation.catalog import Catalog
from automation.checks.config.resolved import (
    ChannelConfig,
    Check,
    ChecksConfig,
    ChecksFileError,
    resolve_inputs,
)
from automation.checks.config.schedule import Schedule, Window, parse_duration, with_spread
from automation.checks.config.spec import (
    Alert,
    ChecksFile,
    CheckSpec,
    Defaults,
    FromCredential,
    FromEnv,
    Maintenance,
    written_keys,
)
from automation.checks.model import AlertRule
from automation.errors import ConfigError, RunbookLoadError
from automation.loader import LoadedRunbook, walk_steps
from automation.paths import checks_file
from automation.yamlfile import Where, first_problem, parse_yaml, read_yaml_text, suggest

# The resolved checks (resolved.py) are named here too: where their importers have always found them.
__all__ = [
    "CHECKS_FILE",
    "ChannelConfig",
    "Check",
    "ChecksConfig",
    "ChecksFileError",
    "checks_path",
    "load_checks",
    "resolve_inputs",
]

CHECKS_FILE = "checks.yaml"


class _ChecksWhere(Where):
    """The checks file being read: its errors are ChecksFileErrors."""

    def error(self, message: str, path: tuple[Any, ...]) -> ChecksFileError:
        return ChecksFileError.of(super().error(message, path))


def checks_path(catalog: Catalog | None = None) -> Path:
    """RUNBOOK_CHECKS, else checks.yaml (or a checks/ folder) in the catalog's first runbooks folder."""
    return _search(catalog or Catalog.default())[0]


def _search(catalog: Catalog) -> tuple[Path, list[str]]:
    """The checks file (or folder) to read, and the places looked at, to name them when there is none."""
    configured = checks_file()
    if configured:
        return configured, [f"{configured} (RUNBOOK_CHECKS)"]
    root = catalog.roots[0] if catalog.roots else Path("runbooks")
    folder = root / "checks"
    chosen = folder if folder.is_dir() and not (root / CHECKS_FILE).exists() else root / CHECKS_FILE
    return chosen, [str(root / CHECKS_FILE), f"{folder}/"]


def load_checks(path: Path | None = None, *, catalog: Catalog | None = None) -> ChecksConfig:
    """Read and validate the checks file (or every *.yaml of a checks/ folder). Raises ChecksFileError."""
    catalog = catalog or Catalog.default()
    path, looked = (path, [str(path)]) if path else _search(catalog)
    if not path.exists():
        raise ChecksFileError(
            f"there is no checks file here (looked at: {', '.join(looked)}); write one (see README: "
            "Operations), set RUNBOOK_CHECKS, or copy the built-in one out with `runbook init`",
            path=str(path),
        )
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
    try:
        return read_yaml_text(file)
    except RunbookLoadError as exc:
        raise ChecksFileError.of(exc) from None


def _load_file(file: Path, catalog: Catalog) -> tuple[dict[str, Check], tuple[float, float]]:
    text = _read(file)
    data, positions = parse_yaml(text, str(file))
    where = _ChecksWhere(str(file), text, positions)
    if not isinstance(data, dict) or "checks" not in data:
        raise where.error(
            "a checks file is a mapping with checks: (and optionally defaults:, maintenance:)", ()
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


def _validation_error(exc: ValidationError, data: Any, where: _ChecksWhere) -> ChecksFileError:
    message, path, first = first_problem(exc.errors(include_url=False), data, written_keys())
    if first["type"] == "string_pattern_mismatch" and path and path[0] == "checks":
        message = "a check's name is lower case letters, digits, - and _, starting with a letter"
    return where.error(message, path)


# -- resolving one check ---------------------------------------------------------------------------------


def _resolve(
    name: str,
    spec: CheckSpec,
    defaults: Defaults,
    global_windows: tuple[Window, ...],
    catalog: Catalog,
    where: _ChecksWhere,
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


def _runbook(name: str, catalog: Catalog, where: _ChecksWhere, path: tuple[Any, ...]) -> LoadedRunbook:
    names = catalog.names()
    if name not in names:
        raise where.error(catalog.not_found(name, names), path)
    return catalog.load_file(names[name])


def _zone(name: str, where: _ChecksWhere, path: tuple[Any, ...]) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise where.error(f"'{name}' is not a time zone; write e.g. UTC or Europe/London", path) from None


def _schedule(
    name: str, spec: CheckSpec, timezone: str, where: _ChecksWhere, here: tuple[Any, ...]
) -> Schedule:
    failing = parse_duration(spec.while_failing.every) if spec.while_failing else None
    every = parse_duration(spec.every) if spec.every is not None else None
    try:
        schedule = Schedule(every_s=every, cron=spec.cron, timezone=timezone, while_failing_every_s=failing)
    except ValueError as exc:
        raise where.error(str(exc), here + (("cron",) if spec.cron else ("every",))) from None
    return with_spread(schedule, name)


def _check_inputs(spec: CheckSpec, loaded: LoadedRunbook, where: _ChecksWhere, here: tuple[Any, ...]) -> None:
    declared = loaded.model.inputs
    for input_name, value in spec.inputs.items():
        path = here + ("inputs", input_name)
        if input_name not in declared:
            known = sorted(declared)
            raise where.error(
                f"runbook {loaded.name} has no input '{input_name}'{suggest(input_name, known)}"
                f" (it has: {', '.join(known) or 'none'})",
                path,
            )
        if declared[input_name].type == "secret" and not isinstance(value, FromEnv | FromCredential):
            raise where.error(
                f"'{input_name}' is a secret: never write it here; give it as {{env: VARIABLE}} "
                "or {credential: NAME.password}",
                path,
            )


def _labels(loaded: LoadedRunbook) -> set[str]:
    """Every step label a threshold may name (explicit or the default the terminal shows)."""
    from automation.step_labels import describe_step

    return {step.label or describe_step(step) for _, step in walk_steps(loaded.model.steps, ())}


def _check_step_names(
    steps: dict[str, float], loaded: LoadedRunbook, where: _ChecksWhere, path: tuple[Any, ...]
) -> None:
    labels = _labels(loaded)
    for label in steps:
        # a number such as "4" or "4.2" names a step as the terminal numbers it
        if label in labels or re.fullmatch(r"\d+(\.\d+)*", label):
            continue
        raise where.error(
            f"runbook {loaded.name} has no step labelled '{label}'{suggest(label, sorted(labels))}; "
            "name a step by its label or its number",
            path + (label,),
        )


def _env(name: str | None, where: _ChecksWhere, here: tuple[Any, ...]) -> str:
    from automation.environment_file import load_config

    try:
        config = load_config()
    except ConfigError as exc:
        raise where.error(f"the environments file is wrong: {exc}", here) from None
    chosen = name or config.default
    if chosen not in config.environments:
        known = sorted(config.environments)
        raise where.error(
            f"no environment '{chosen}'{suggest(chosen, known)} (known: {', '.join(known)})",
            here + ("env",),
        )
    return chosen


def _window(spec: Maintenance, path: tuple[Any, ...], where: _ChecksWhere, tz: str | None = None) -> Window:
    timezone = spec.timezone if "timezone" in spec.model_fields_set or tz is None else tz
    _zone(timezone, where, path)
    try:
        start = datetime.strptime(spec.start.strip(), "%Y-%m-%d %H:%M")
    except ValueError:
        raise where.error(f"start '{spec.start}' is not 'YYYY-MM-DD HH:MM'", path + ("start",)) from None
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
