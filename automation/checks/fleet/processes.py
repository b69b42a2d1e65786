"""Starts the fleet's Celery processes: `runbook checks worker` (a prefork worker pool running checks) and
`runbook checks beat` (the scheduler sending due ticks). Each checks the set-up (a redis:// broker), then hands
the process to Celery until SIGTERM. Both read the same checks file the embedded scheduler reads.

The places (checks file, data folder, evidence root) travel to the worker's child processes and to beat's
scheduler through the environment (RUNBOOK_CHECKS, RUNBOOK_DATA, RUNBOOK_EVIDENCE_ROOT), which forked
children inherit; nothing else, no database engine and no browser, is made before the fork.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from automation.checks.config.load import ChecksConfig
from automation.checks.places import Places
from automation.errors import ConfigError
from automation.paths import BROKER_URL_VAR, CHECKS_VAR, DATA_VAR, EVIDENCE_ROOT_VAR, broker_url


def require_broker(given: str | None) -> str:
    """The broker URL (--broker, else RUNBOOK_BROKER_URL). Raises ConfigError (exit 2) when there is none."""
    url = given or broker_url()
    if not url:
        raise ConfigError(
            f"no broker: set {BROKER_URL_VAR}=redis://HOST:6379/0 (or pass --broker) to run checks on Celery"
        )
    if not url.startswith(("redis://", "rediss://")):
        raise ConfigError(f"--broker / {BROKER_URL_VAR} '{url[:80]}': give a redis:// or rediss:// URL")
    return url


def _export(config: ChecksConfig, places: Places, broker: str) -> None:
    os.environ[BROKER_URL_VAR] = broker
    if config.path is not None:
        os.environ[CHECKS_VAR] = str(Path(config.path).absolute())
    if places.data_dir is not None:
        os.environ[DATA_VAR] = str(places.data_dir.absolute())
    if places.evidence_root is not None:
        os.environ[EVIDENCE_ROOT_VAR] = str(places.evidence_root.absolute())


def start_worker(
    config: ChecksConfig, places: Places, *, broker: str | None, concurrency: int, loglevel: str = "INFO"
) -> None:
    """Run a Celery worker of `concurrency` processes (each its own browser) until SIGTERM. Raises ConfigError."""
    url = require_broker(broker)
    _export(config, places, url)
    from automation.checks.fleet.celery_app import QUEUE, configure

    app = configure(config, url)
    hostname = f"runbook-checks-{os.getpid()}@{socket.gethostname()}"
    app.worker_main(["worker", "--loglevel", loglevel, "--pool", "prefork", "--concurrency", str(concurrency),
                     "--queues", QUEUE, "--hostname", hostname, "--without-gossip", "--without-mingle",
                     "--without-heartbeat"])  # fmt: skip


def start_beat(config: ChecksConfig, places: Places, *, broker: str | None, loglevel: str = "INFO") -> None:
    """Run Celery beat with RedBeat (one of several beats schedules at a time) until SIGTERM."""
    url = require_broker(broker)
    _export(config, places, url)
    from automation.checks.fleet.celery_app import configure

    app = configure(config, url)
    # beat_max_loop_interval (the poll) and the scheduler class come from app.conf, set by configure()
    app.start(["beat", "--loglevel", loglevel])
