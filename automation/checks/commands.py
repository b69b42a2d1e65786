"""The bodies of the one-shot `runbook checks ...` commands (list, run, status, history) as library functions:
each returns a typed result the CLI renders as text or JSON (where checks keep things is places.py). Tests
and the scheduler call these; the CLI is a few lines over each. The long-running processes are elsewhere:
`checks serve` is watchdog/serve.py, `checks web` web/server.py, `checks worker` and `checks beat`
fleet/processes.py.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from automation.checks.config.load import Check, ChecksConfig
from automation.checks.model import CheckRun
from automation.checks.places import Places

if TYPE_CHECKING:
    from automation.checks.storage.history import History
    from automation.checks.watchdog.run_check import Host

# The history store (SQLAlchemy), the runner (metrics, alerts, the engine) and the evidence folder are
# imported in the functions that use them: `runbook checks validate` and `list` only read the checks file.


def describe(config: ChecksConfig) -> list[dict[str, Any]]:
    """`checks list`: one entry per check."""
    return [
        {
            "name": c.name,
            "title": c.title,
            "runbook": c.runbook,
            "env": c.env,
            "schedule": c.info().schedule,
            "timeout_s": c.timeout_s,
            "attempts": c.attempts,
            "alert": _alert_text(c),
            "channels": [ch.id for ch in c.channels],
            "maintenance": [w.name for w in c.windows],
            "enabled": c.enabled,
        }
        for c in config.checks.values()
    ]


def _alert_text(check: Check) -> str:
    from automation.checks.config.schedule import format_period

    rule = check.rule
    within = f" within {format_period(rule.within_s)}" if rule.within_s else " in a row"
    return f"after {rule.after} failures{within}; recovers after {rule.recover_after} passes"


@dataclass(frozen=True)
class RunOutcome:
    runs: tuple[CheckRun, ...]

    @property
    def exit_code(self) -> int:
        return 0 if all(r.status in ("passed", "degraded", "skipped") for r in self.runs) else 1


def run_checks(
    config: ChecksConfig,
    names: list[str],
    places: Places,
    *,
    only_due: bool = False,
    host: Host | None = None,
) -> RunOutcome:
    """Run the named (or, with only_due, the due) checks once, record them and alert. Raises ConfigError."""
    from automation.checks.watchdog.scheduler import Scheduler

    host = host or places.host()
    chosen = config.select(names)
    if only_due:
        scheduler = Scheduler(
            ChecksConfig({c.name: c for c in chosen}, config.passed_s, config.failed_s, config.path),
            host,
            concurrency=0,
        )
        before = {c.name: host.history.last_run(c.name) for c in chosen}
        scheduler.tick(host.clock())
        after = [host.history.last_run(c.name) for c in chosen]
        return RunOutcome(tuple(r for c, r in zip(chosen, after, strict=True) if r and r != before[c.name]))
    from automation.checks.config.resolved import in_window
    from automation.checks.watchdog.run_check import run_check, skip_check

    runs = []
    for check in chosen:
        now = host.clock()
        window = in_window(check, now)
        runs.append(skip_check(check, now, host, window) if window else run_check(check, host, config=config))
    return RunOutcome(tuple(runs))


def status(config: ChecksConfig, places: Places, *, now: datetime | None = None) -> list[Any]:
    """`checks status`: one row per check (the status page's data)."""
    from automation.checks.config.resolved import in_window
    from automation.checks.storage.history import History
    from automation.checks.watchdog.run_check import utcnow
    from automation.checks.web.status import status_rows

    with History(data_dir=places.data_dir) if places.data_dir else _default_history() as history:
        return status_rows(
            history,
            [c.info() for c in config.checks.values()],
            now or utcnow(),
            in_maintenance=lambda name, at: in_window(config.checks[name], at) is not None,
        )


def history(
    config: ChecksConfig, name: str, places: Places, *, since_s: float = 86400.0, now: datetime | None = None
) -> list[CheckRun]:
    """`checks history NAME`: its runs, newest first. Raises ConfigError for an unknown check."""
    from automation.checks.storage.history import History
    from automation.checks.watchdog.run_check import utcnow

    config.select([name])
    since = (now or utcnow()) - timedelta(seconds=since_s)
    with History(data_dir=places.data_dir) if places.data_dir else _default_history() as store:
        return store.runs(name, since=since)


def _default_history() -> History:
    from automation.checks.storage.history import History

    return History()


def run_json(run: CheckRun) -> dict[str, Any]:
    """A run as `--json` prints it."""
    from dataclasses import asdict

    return json.loads(json.dumps(asdict(run), default=str))
