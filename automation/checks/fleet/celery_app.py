"""The distributed mode on Celery: one app, its configuration as data, and one task over the library.

`runbook checks beat` runs Celery beat with RedBeat (fleet.beat.FleetBeatScheduler): only the beat holding
RedBeat's lock in Redis schedules; it sends one `runbook.checks.run(check, tick)` per due tick, computed by
config/schedule.py exactly as the embedded scheduler computes it (fleet.ticks.Dispatcher). `runbook checks
worker` runs Celery workers whose task is `fleet.ticks.run_tick`, which calls `watchdog.run_check.run_check` for
that (check, tick), as the embedded scheduler and `checks run` do. A duplicate delivery does nothing: the
(check, tick) claim in the shared database (RUNBOOK_DATABASE_URL) decides; see fleet/ticks.py for why a killed
run is run again, once.

Processes and the browser: the prefork pool, one task at a time per child process, each child starting
Playwright and Chromium lazily inside its first task (the engine's browser pool of that process), reusing the
browser across tasks with a fresh context per run, and closing it when the child ends. Nothing starts
Playwright in the parent, so no driver thread or pipe is ever forked (the hazard the issue's "spawn" guards
against); prefork rather than `--pool solo` because its parent survives a child killed mid-run and hands the
message back at once (task_reject_on_worker_lost), instead of after the broker's visibility timeout.
`worker_max_tasks_per_child` recycles a child, and with it its Chromium, after a number of runs.

The broker is trusted with nothing: a worker judges every task (fleet.ticks.take_task), remote control is
off (no pidbox queue: nobody on the broker can shut workers down, revoke or re-rate tasks) and no events are
sent. Redis wants a password (an ACL user in the URL, `redis://runbook:PASSWORD@host:6379/0`, read from the
environment and never logged: Celery prints it as `**`) and may be reached over TLS with `rediss://`, the
server's certificate checked against RUNBOOK_BROKER_CA (else the system's CAs), with an optional client
certificate (RUNBOOK_BROKER_CERT, RUNBOOK_BROKER_KEY); RedBeat's lock uses the same connection settings.
"""

from __future__ import annotations

import logging
import os
import ssl
from typing import Any

from celery import Celery
from celery.signals import worker_process_shutdown

from automation.checks.config.load import ChecksConfig
from automation.checks.fleet.ticks import lock_timeout_s, poll_s, time_limit_s
from automation.paths import broker_url

log = logging.getLogger(__name__)

QUEUE = "runbook-checks"
RUN_TASK = "runbook.checks.run"
DEFAULT_BROKER = "redis://127.0.0.1:6379/0"
MAX_TASKS_PER_CHILD = 200
# For a rediss:// broker: the CA that signed Redis's certificate, and a client certificate if Redis asks one.
BROKER_CA_VAR = "RUNBOOK_BROKER_CA"
BROKER_CERT_VAR = "RUNBOOK_BROKER_CERT"
BROKER_KEY_VAR = "RUNBOOK_BROKER_KEY"


def broker_tls(broker: str) -> dict[str, Any] | None:
    """Celery's (and RedBeat's) TLS options for a rediss:// broker: the certificate always checked."""
    if not broker.startswith("rediss://"):
        return None
    options: dict[str, Any] = {"ssl_cert_reqs": ssl.CERT_REQUIRED}
    for var, key in (
        (BROKER_CA_VAR, "ssl_ca_certs"),
        (BROKER_CERT_VAR, "ssl_certfile"),
        (BROKER_KEY_VAR, "ssl_keyfile"),
    ):
        if os.environ.get(var):
            options[key] = os.environ[var]
    return options


def settings(broker: str, config: ChecksConfig | None = None) -> dict[str, Any]:
    """Celery's configuration for the fleet; time limits and the lock timeout follow the checks file."""
    limit = time_limit_s(config) if config else 3600.0
    tls = broker_tls(broker)
    return {
        "broker_url": broker,
        "broker_use_ssl": tls,
        "redbeat_redis_use_ssl": tls,
        "broker_connection_retry_on_startup": True,
        "broker_connection_max_retries": None,  # a broker restart: reconnect for as long as it takes
        # Longer than the longest run: a message unacknowledged for this long is handed to another worker.
        "broker_transport_options": {"visibility_timeout": int(2 * limit)},
        "task_default_queue": QUEUE,
        "task_serializer": "json",
        "accept_content": ["json"],
        "task_ignore_result": True,  # the history is the result
        # Acknowledged when the run ends, handed back if its worker dies: a run is never lost to a crash.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        # Above the run's own deadline, which ends it first (recorded timed-out, with evidence).
        "task_time_limit": int(limit),
        "worker_prefetch_multiplier": 1,  # a child holds only the run it is doing; the rest stay on the broker
        "worker_max_tasks_per_child": MAX_TASKS_PER_CHILD,
        "worker_hijack_root_logger": False,
        # Nothing but the task queue on the broker: no remote control (shutdown, revoke, rate limits, pool
        # resizing from anyone who can publish), no events.
        "worker_enable_remote_control": False,
        "worker_send_task_events": False,
        "task_send_sent_event": False,
        "beat_scheduler": "automation.checks.fleet.beat:FleetBeatScheduler",
        "beat_max_loop_interval": poll_s(config) if config else 1.0,
        "redbeat_redis_url": broker,
        "redbeat_key_prefix": "runbook:redbeat",
        "redbeat_lock_timeout": int(lock_timeout_s(config)) if config else 60,
    }


app = Celery("runbook")
app.conf.update(settings(broker_url() or DEFAULT_BROKER))


def configure(config: ChecksConfig, broker: str | None = None) -> Celery:
    """Fit the app to a checks file (time limits, lock timeout) before a worker or beat starts."""
    app.conf.update(settings(broker or broker_url() or DEFAULT_BROKER, config))
    return app


@app.task(name=RUN_TASK)
def run(check: str, tick: str) -> str:
    """Run one (check, tick) if it may run (fleet.ticks.judge) and is no duplicate; returns the recorded
    status, 'duplicate', 'refused' or 'dropped'."""
    from automation.checks.fleet.ticks import take_task

    context = _context()
    return take_task(str(check), str(tick), context.host, context.config)


class _Context:
    """This process's checks file and host (history, evidence root), made in the child, after the fork."""

    def __init__(self) -> None:
        from automation.checks.places import Places, load
        from automation.paths import fleet_evidence_root as evidence_root

        places = Places(evidence_root=evidence_root())
        self.pid = os.getpid()
        self.config = load(places)
        self.host = places.host()


_CONTEXT: _Context | None = None


def _context() -> _Context:
    global _CONTEXT
    if _CONTEXT is None or _CONTEXT.pid != os.getpid():  # never a database engine inherited over a fork
        _CONTEXT = _Context()
    return _CONTEXT


@worker_process_shutdown.connect
def _close_browser(**_: Any) -> None:
    # A child leaves through os._exit (no atexit): close its Chromium here, so none outlives the child.
    try:
        from automation.engine.browser import close_pool

        close_pool()
    except Exception:  # noqa: BLE001 - closing at exit: nothing left to report to
        log.debug("closing a worker's browser failed", exc_info=True)
